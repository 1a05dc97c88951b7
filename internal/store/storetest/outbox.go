package storetest

// The outbox, transactions and the audit log.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func testOutbox(ctx context.Context, t *testing.T, s store.Store) {
	m := store.Mail{Kind: "reset", FromName: "Space", To: "a@example.com", Subject: "S", Text: "T secret-link", HTML: "<p>H secret-link</p>", CreatedAt: t0}
	must(t, s.EnqueueMail(ctx, &m))
	later := store.Mail{Kind: "reset", To: "b@example.com", Text: "code 123456", CreatedAt: t0, NextAttemptAt: t0.Add(time.Hour)}
	must(t, s.EnqueueMail(ctx, &later))
	n, err := s.PendingMail(ctx)
	must(t, err)
	if n != 2 {
		t.Errorf("pending = %d, want 2", n)
	}
	claimed := claim(ctx, t, s, "w1", t0, t0.Add(time.Minute))
	if len(claimed) != 1 || claimed[0].ID != m.ID || claimed[0].Attempts != 1 || claimed[0].HTML != "<p>H secret-link</p>" || claimed[0].FromName != "Space" {
		t.Fatalf("claim: %+v", claimed)
	}
	// Leased: not claimable again until the lease ends.
	again := claim(ctx, t, s, "w2", t0.Add(30*time.Second), t0.Add(2*time.Minute))
	if len(again) != 0 {
		t.Errorf("leased message claimed again: %+v", again)
	}
	// The holder renews; the lease then covers the renewed span.
	must(t, s.RenewMailLease(ctx, m.ID, "w1", t0.Add(90*time.Second)))
	if got, err := s.ClaimMail(ctx, "w2", t0.Add(61*time.Second), t0.Add(2*time.Minute), 10); err != nil || len(got) != 0 {
		t.Errorf("renewed lease taken over: %+v %v", got, err)
	}
	expired := claim(ctx, t, s, "w2", t0.Add(91*time.Second), t0.Add(3*time.Minute))
	if len(expired) != 1 || expired[0].Attempts != 2 {
		t.Errorf("after lease expiry: %+v", expired)
	}
	// The fence: the first holder lost the lease and can settle nothing.
	for name, err := range map[string]error{
		"renew":  s.RenewMailLease(ctx, m.ID, "w1", t0.Add(time.Hour)),
		"sent":   s.MarkMailSent(ctx, m.ID, "w1", t0.Add(92*time.Second)),
		"failed": s.MarkMailFailed(ctx, m.ID, "w1", t0, "late", false),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s by a lost lease holder: %v, want ErrNotFound", name, err)
		}
	}
	must(t, s.MarkMailFailed(ctx, m.ID, "w2", t0.Add(5*time.Minute), "421 try later", false))
	got, err := s.MailByID(ctx, m.ID)
	must(t, err)
	if got.LastError != "421 try later" || !got.NextAttemptAt.Equal(t0.Add(5*time.Minute)) || got.Dead || !got.LeaseUntil.IsZero() ||
		!strings.Contains(got.Text, "secret-link") {
		t.Errorf("after failure (the body stays for the retry): %+v", got)
	}
	retry := claim(ctx, t, s, "w3", t0.Add(5*time.Minute), t0.Add(6*time.Minute))
	if len(retry) != 1 {
		t.Fatalf("retry claim: %+v", retry)
	}
	must(t, s.MarkMailSent(ctx, m.ID, "w3", t0.Add(5*time.Minute)))
	if err := s.MarkMailSent(ctx, m.ID, "w3", t0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second mark sent: %v", err)
	}
	got, err = s.MailByID(ctx, m.ID)
	must(t, err)
	if got.SentAt.IsZero() || strings.Contains(got.Text+got.HTML, "secret-link") {
		t.Errorf("after delivery the body must be erased: %+v", got)
	}
	none := claim(ctx, t, s, "w4", t0.Add(10*time.Minute), t0.Add(11*time.Minute))
	if len(none) != 0 {
		t.Errorf("sent message claimed: %+v", none)
	}
	gave := claim(ctx, t, s, "w5", t0.Add(time.Hour), t0.Add(time.Hour+time.Minute))
	if len(gave) != 1 || gave[0].ID != later.ID {
		t.Fatalf("claim later: %+v", gave)
	}
	must(t, s.MarkMailFailed(ctx, later.ID, "w5", t0, "550 no such user", true))
	if got, err := s.MailByID(ctx, later.ID); err != nil || !got.Dead || strings.Contains(got.Text, "123456") {
		t.Errorf("a dead message must lose its body: %+v %v", got, err)
	}
	dead := claim(ctx, t, s, "w6", t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if len(dead) != 0 {
		t.Errorf("dead message claimed: %+v", dead)
	}
	n, err = s.PendingMail(ctx)
	must(t, err)
	if n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
	if err := s.MarkMailSent(ctx, 4242, "w1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mark unknown sent: %v", err)
	}
}

// claim claims up to 10 messages for worker at now, leased until until.
func claim(ctx context.Context, t *testing.T, s store.Store, worker string, now, until time.Time) []store.Mail {
	t.Helper()
	got, err := s.ClaimMail(ctx, worker, now, until, 10)
	must(t, err)
	return got
}

func testOutboxConcurrentClaims(ctx context.Context, t *testing.T, s store.Store) {
	const msgs = 60
	for i := range msgs {
		m := store.Mail{Kind: "k", To: fmt.Sprintf("u%d@example.com", i), CreatedAt: t0}
		must(t, s.EnqueueMail(ctx, &m))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	concurrently(4, func() {
		for {
			got, err := s.ClaimMail(ctx, "w", t0, t0.Add(time.Hour), 7)
			if err != nil {
				t.Error(err)
				return
			}
			if len(got) == 0 {
				return
			}
			mu.Lock()
			for _, m := range got {
				seen[m.ID]++
			}
			mu.Unlock()
		}
	})
	if len(seen) != msgs {
		t.Errorf("claimed %d distinct messages, want %d", len(seen), msgs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %d claimed %d times", id, n)
		}
	}
}

func testTxRollback(ctx context.Context, t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.InTx(ctx, func(q store.Queries) error {
		u := store.User{Email: "tx@example.com", FullName: "T", PasswordHash: "h", Active: true}
		if err := q.CreateUser(ctx, &u); err != nil {
			return err
		}
		m := store.Mail{Kind: "k", To: "tx@example.com"}
		if err := q.EnqueueMail(ctx, &m); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v, want boom", err)
	}
	if _, err := s.UserByEmail(ctx, "tx@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled-back user exists: %v", err)
	}
	n, err := s.PendingMail(ctx)
	must(t, err)
	if n != 0 {
		t.Errorf("rolled-back mail exists: %d", n)
	}
	must(t, s.InTx(ctx, func(q store.Queries) error {
		u := store.User{Email: "tx@example.com", FullName: "T", PasswordHash: "h", Active: true}
		if err := q.CreateUser(ctx, &u); err != nil {
			return err
		}
		_, err := q.UserByID(ctx, u.ID) // reads inside the transaction see its writes
		return err
	}))
	if _, err := s.UserByEmail(ctx, "tx@example.com"); err != nil {
		t.Errorf("committed user missing: %v", err)
	}
}

func testAudit(ctx context.Context, t *testing.T, s store.Store) {
	events := []store.AuditEvent{
		{At: t0, Type: "signin.success", UserID: 1, BusinessID: 10, ClientIP: "10.0.0.1", UserAgent: "curl"},
		{At: t0.Add(time.Minute), Type: "signin.failure", UserID: 1, BusinessID: 10},
		{At: t0.Add(2 * time.Minute), Type: "token.impersonated", UserID: 2, ActorID: 1, BusinessID: 20, Detail: `{"jti":"x"}`},
	}
	for _, e := range events {
		must(t, s.AppendAudit(ctx, e))
	}
	cases := []struct {
		name string
		f    store.AuditFilter
		want int
	}{
		{"all", store.AuditFilter{}, 3},
		{"user", store.AuditFilter{UserID: 1}, 2},
		{"business", store.AuditFilter{BusinessID: 20}, 1},
		{"type", store.AuditFilter{Type: "signin.failure"}, 1},
		{"since", store.AuditFilter{Since: t0.Add(time.Minute)}, 2},
		{"until", store.AuditFilter{Until: t0.Add(time.Minute)}, 1},
		{"limit", store.AuditFilter{Limit: 2}, 2},
	}
	for _, c := range cases {
		got, err := s.ListAudit(ctx, c.f)
		must(t, err)
		if len(got) != c.want {
			t.Errorf("%s: %d events, want %d", c.name, len(got), c.want)
		}
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{Type: "token.impersonated"})
	must(t, err)
	if len(got) != 1 || got[0].ActorID != 1 || got[0].Detail != `{"jti":"x"}` || !got[0].At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("event: %+v", got)
	}
}
