package httpapi_test

import (
	"context"
	"testing"

	"github.com/spaceauth/spaceauth/internal/passkey/passkeytest"
	"github.com/spaceauth/spaceauth/internal/store"
)

// TestPasskeyCounterNotRewound: a sign-in writes only the counter column,
// not the stored credential record, so the record's own counter goes
// stale; the counter checked must still be the column's. Three sign-ins
// (counters 1, 2, 3), then an assertion repeating counter 3 (a cloned
// key) and one going back to 2: both refused and audited as clone
// warnings; the next counter still signs in.
func TestPasskeyCounterNotRewound(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	c := h.client()
	cred := registerPasskey(t, h, c, signIn(t, h, c, "alice@example.com", 30), "demo")
	for i := range 3 {
		if e := passkeyToken(t, h, c, "demo", cred); e.Status != 200 {
			t.Fatalf("sign-in %d: %+v", i+1, e)
		}
	}
	for _, counter := range []uint32{3, 2} {
		cer := beginJSON(t, c, h.tenant("demo")+"/api/passkeys/signin/begin")
		ch, err := passkeytest.Challenge(cer.Options)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cred.AssertWithCounter(h.tenant("demo"), "demo.localhost", ch, counter)
		if err != nil {
			t.Fatal(err)
		}
		_, _, body := do(t, c, "POST", h.tenant("demo")+"/api/passkeys/signin/finish", ctJSON, finishBody(cer.Handle, resp, ""))
		if e := parseEnv(t, body); e.Status != 401 || e.WasSuccessful {
			t.Errorf("counter %d after 3 accepted: %+v", counter, e)
		}
	}
	events, err := h.store.ListAudit(context.Background(), store.AuditFilter{UserID: f.alice.ID, Type: "passkey.clone_warning"})
	if err != nil || len(events) != 2 {
		t.Errorf("clone warnings: %v %d, want 2", err, len(events))
	}
	if e := passkeyToken(t, h, c, "demo", cred); e.Status != 200 {
		t.Errorf("counter 4: %+v", e)
	}
}
