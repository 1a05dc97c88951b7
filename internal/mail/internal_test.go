package mail

import (
	"bytes"
	"net/mail"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func TestBackoff(t *testing.T) {
	w := NewWorker(nil, nil, WorkerOptions{RetryBase: time.Second, RetryMax: 10 * time.Second})
	cases := []struct {
		attempts int
		lo, hi   time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{2, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{3, 3200 * time.Millisecond, 4800 * time.Millisecond},
		{4, 6400 * time.Millisecond, 9600 * time.Millisecond},
		{5, 8 * time.Second, 10 * time.Second},
		{60, 8 * time.Second, 10 * time.Second},
	}
	for _, c := range cases {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := w.backoff(c.attempts)
			if d < c.lo || d > c.hi {
				t.Fatalf("attempt %d: %v outside [%v, %v]", c.attempts, d, c.lo, c.hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: little jitter (%d distinct values)", c.attempts, len(seen))
		}
	}
}

func TestBuildKeepsMessageID(t *testing.T) {
	s, err := newSenderAddress("Ignored Name <no-reply@spaces.example>")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 25, 8, 0, 0, 123, time.UTC)
	header := func(m store.Mail) mail.Header {
		t.Helper()
		msg, err := s.build(m)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := msg.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		parsed, err := mail.ReadMessage(&b)
		if err != nil {
			t.Fatal(err)
		}
		return parsed.Header
	}
	m := store.Mail{ID: 7, FromName: "Späce & Co", To: "a@example.com", Subject: "s", Text: "t", CreatedAt: created}
	first := header(m)
	m.Attempts, m.LastError = 3, "earlier failure"
	again := header(m)
	if id := first.Get("Message-Id"); id != "<outbox-7-"+"1795593600000000123@spaces.example>" || again.Get("Message-Id") != id {
		t.Errorf("Message-ID %q then %q", id, again.Get("Message-Id"))
	}
	if d, err := first.Date(); err != nil || !d.Equal(created.Truncate(time.Second)) {
		t.Errorf("Date %v %v", d, err)
	}
	from, err := mail.ParseAddress(first.Get("From"))
	if err != nil || from.Name != "Späce & Co" || from.Address != "no-reply@spaces.example" {
		t.Errorf("From %q: %v", first.Get("From"), err)
	}
	m.ID = 8
	if header(m).Get("Message-Id") == first.Get("Message-Id") {
		t.Error("two rows share a Message-ID")
	}
}

func TestBadRecipientIsPermanent(t *testing.T) {
	for _, to := range []string{"", "not an address", "a@b.example, c@d.example"} {
		if _, err := envelopeRecipient(to); err == nil {
			t.Errorf("%q accepted", to)
		} else if _, ok := err.(*PermanentError); !ok {
			t.Errorf("%q: %T is not permanent", to, err)
		}
	}
}
