package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestRestartKeepsUsersAndKeys: a token issued before a restart still
// works after it, so users and signing keys are on disk.
func TestRestartKeepsUsersAndKeys(t *testing.T) {
	h := newHarness(t)
	h.seed()
	tok := signIn(t, h, h.client(), "alice@example.com", 60)
	h = h.restart()
	status, _, body := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", "")
	if status != http.StatusFound {
		t.Fatalf("pre-restart token refused after restart: %d %s", status, body)
	}
	signIn(t, h, h.client(), "alice@example.com", 5) // the user is still there
}

// TestRestartKeepsSpentTokens: a portal token spent before a restart stays
// spent after it.
func TestRestartKeepsSpentTokens(t *testing.T) {
	h := newHarness(t)
	h.seed()
	tok := signIn(t, h, h.client(), "alice@example.com", 60)
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", ""); status != http.StatusFound {
		t.Fatal("first use refused")
	}
	h = h.restart()
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", ""); status != http.StatusUnauthorized {
		t.Fatalf("spent token accepted after restart: %d", status)
	}
}

// TestRestartKeepsMail: a message queued while the SMTP server was down is
// delivered after the server comes back, across a restart of spaceauth.
func TestRestartKeepsMail(t *testing.T) {
	h := newHarness(t)
	h.seed()
	h.smtp.Stop()
	status, _, body := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/resetPassword?email=alice@example.com", "", "")
	if status != 200 {
		t.Fatalf("reset request with SMTP down: %d %s", status, body)
	}
	// Let the worker fail at least once.
	waitOutbox(t, h, "no failed attempt recorded", func(ctx context.Context) (bool, error) {
		m, err := h.store.MailByID(ctx, 1)
		return m.Attempts > 0, err
	})
	h = h.restart()
	h.smtp.Start()
	msgs := h.smtp.WaitFor(1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered after SMTP came back, want 1", len(msgs))
	}
	if link, _ := resetLink(t, h, 1); link == "" {
		t.Fatal("delivered message has no link")
	}
	outboxDrained(t, h)
	if n := len(h.smtp.Messages()); n != 1 {
		t.Fatalf("message delivered %d times", n)
	}
}
