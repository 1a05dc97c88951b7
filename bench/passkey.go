package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// passkeySignIn is one complete passkey sign-in from an app: options,
// an assertion signed by the worker's key, and the one-time token back.
func passkeySignIn(rc *rawConn, cred *passkeytest.Credential, origin string, fails *atomic.Int64) bool {
	st, body, err := rc.do(request("POST", "demo.localhost", "/api/passkeys/signin/begin", nil, ""))
	if err != nil || st != http.StatusOK {
		return false
	}
	var cer passkeyCeremony
	if json.Unmarshal(body, &cer) != nil {
		return false
	}
	ch, err := passkeytest.Challenge(cer.Options)
	if err != nil {
		return false
	}
	assertion, err := cred.Assert(origin, "demo.localhost", ch)
	if err != nil {
		return false
	}
	fin, _ := json.Marshal(map[string]any{"handle": cer.Handle, "credential": json.RawMessage(assertion)})
	st, body, err = rc.do(request("POST", "demo.localhost", "/api/passkeys/signin/finish",
		map[string]string{"Content-Type": "application/json"}, string(fin)))
	if err != nil || st != http.StatusOK || !bytes.Contains(body, []byte(`"Status":200`)) {
		if fails.Add(1) == 1 {
			fmt.Printf("passkey sign-in refused: %d %.200s\n", st, body)
		}
		return false
	}
	return true
}
