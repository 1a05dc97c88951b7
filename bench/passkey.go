package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/spaceauth/spaceauth/internal/passkey/passkeytest"
)

// passkeyCeremony is the answer to a ceremony's first half.
type passkeyCeremony struct {
	Handle  string          `json:"handle"`
	Options json.RawMessage `json:"options"`
}

// preparePasskeys registers one passkey (a P-256 key the load generator
// holds) for each of n users through the JSON API, so that every worker
// signs in with its own credential: a passkey's signature counter moves
// one sign-in at a time.
func (b *bencher) preparePasskeys(n int, origin string) ([]*passkeytest.Credential, error) {
	out := make([]*passkeytest.Credential, n)
	for i := range n {
		bearer, ok := b.token(fmt.Sprintf("u%d@bench.test", i))
		if !ok {
			return nil, fmt.Errorf("sign-in of u%d failed", i)
		}
		var cer passkeyCeremony
		if err := b.postJSON("/api/sys/users/me/passkeys/register/begin", bearer, nil, http.StatusOK, &cer); err != nil {
			return nil, err
		}
		var a passkeytest.Authenticator
		resp, cred, err := a.Register(origin, cer.Options)
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(map[string]any{"handle": cer.Handle, "credential": json.RawMessage(resp), "name": "bench"})
		if err := b.postJSON("/api/sys/users/me/passkeys/register/finish", bearer, body, http.StatusCreated, nil); err != nil {
			return nil, err
		}
		out[i] = cred
	}
	return out, nil
}

func (b *bencher) postJSON(path, bearer string, body []byte, want int, into any) error {
	req, _ := http.NewRequest("POST", "http://demo.localhost"+path, bytes.NewReader(body))
	req.Host = "demo.localhost"
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s: HTTP %d %s", path, resp.StatusCode, raw)
	}
	if into != nil {
		return json.Unmarshal(raw, into)
	}
	return nil
}

// passkeyClient is one worker's side of the passkey scenario. The load
// generator shares the two cores with the server, so it makes the requests
// from prepared bytes and reused buffers, and parses the begin answer by
// its two fields: about 60% of its CPU per sign-in is then the ES256
// signature and the socket calls.
type passkeyClient struct {
	signer    *passkeytest.Signer
	begin     []byte // the whole begin request
	finishPre []byte // the finish request up to its Content-Length value
	body, req []byte
}

func newPasskeyClient(cred *passkeytest.Credential, origin, host string) *passkeyClient {
	return &passkeyClient{
		signer: passkeytest.NewSigner(cred, origin, host),
		begin:  request("POST", host, "/api/passkeys/signin/begin", nil, ""),
		finishPre: []byte("POST /api/passkeys/signin/finish HTTP/1.1\r\nHost: " + host +
			"\r\nContent-Type: application/json\r\nContent-Length: "),
	}
}

// field returns the string value of "name" in a JSON answer whose values
// of interest are base64url (no escapes), or nil.
func field(body []byte, name string) []byte {
	key := `"` + name + `":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return nil
	}
	v := body[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j <= 0 {
		return nil
	}
	return v[:j]
}

// signIn is one complete passkey sign-in from an app: options,
// an assertion signed by the worker's key, and the one-time token back.
func (pc *passkeyClient) signIn(rc *rawConn, fails *atomic.Int64) bool {
	st, body, err := rc.do(pc.begin)
	if err != nil || st != http.StatusOK {
		return false
	}
	handle, ch := field(body, "handle"), field(body, "challenge")
	if handle == nil || ch == nil {
		return false
	}
	pc.body = append(append(pc.body[:0], `{"handle":"`...), handle...)
	pc.body = append(pc.body, `","credential":`...)
	// handle and ch point into rc's buffer, which the next request reuses:
	// both are copied into pc's buffers before it.
	if pc.body, err = pc.signer.AppendAssertion(pc.body, ch); err != nil {
		return false
	}
	pc.body = append(pc.body, '}')
	pc.req = append(append(pc.req[:0], pc.finishPre...), strconv.Itoa(len(pc.body))...)
	pc.req = append(append(pc.req, "\r\n\r\n"...), pc.body...)
	st, body, err = rc.do(pc.req)
	if err != nil || st != http.StatusOK || !bytes.Contains(body, []byte(`"Status":200`)) {
		if fails.Add(1) == 1 {
			fmt.Printf("passkey sign-in refused: %d %.200s\n", st, body)
		}
		return false
	}
	return true
}
