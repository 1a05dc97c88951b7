package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/spaceauth/spaceauth/internal/passkey/passkeytest"
)

// passkeyAssertion registers a passkey for the bearer's user at demo and
// returns a signed answer to a fresh sign-in ceremony there, as the JSON
// body of §9's finish: {"handle": ..., "credential": ...}.
func (l *lab) passkeyAssertion(t *testing.T, c *http.Client, bearer string) (string, error) {
	t.Helper()
	demo := l.h.tenant("demo")
	auth := []string{"Authorization", "Bearer " + bearer}
	begin := func(path string, hdr ...string) (ceremony, error) {
		status, _, body := do(t, c, "POST", demo+path, "", "", hdr...)
		var cer ceremony
		if status != 200 || json.Unmarshal([]byte(body), &cer) != nil || cer.Handle == "" {
			return cer, fmt.Errorf("begin %s: %d %s", path, status, body)
		}
		return cer, nil
	}
	cer, err := begin("/api/sys/users/me/passkeys/register/begin", auth...)
	if err != nil {
		return "", err
	}
	var a passkeytest.Authenticator
	resp, cred, err := a.Register(demo, cer.Options)
	if err != nil {
		return "", err
	}
	if status, _, body := do(t, c, "POST", demo+"/api/sys/users/me/passkeys/register/finish", ctJSON, finishBody(cer.Handle, resp, ""), auth...); status != 201 {
		return "", fmt.Errorf("register: %d %s", status, body)
	}
	if cer, err = begin("/api/passkeys/signin/begin"); err != nil {
		return "", err
	}
	ch, err := passkeytest.Challenge(cer.Options)
	if err != nil {
		return "", err
	}
	assertion, err := cred.Assert(demo, "demo.localhost", ch)
	if err != nil {
		return "", err
	}
	return finishBody(cer.Handle, assertion, ""), nil
}

// splitAssertion takes a passkey credential apart for the portal form:
// the handle goes in the ceremony cookie, the credential in the form.
// Anything else is sent whole as the credential, with no ceremony.
func splitAssertion(s string) (handle, credential string) {
	var v struct {
		Handle     string          `json:"handle"`
		Credential json.RawMessage `json:"credential"`
	}
	if json.Unmarshal([]byte(s), &v) != nil || len(v.Credential) == 0 {
		return "", s
	}
	return v.Handle, string(v.Credential)
}
