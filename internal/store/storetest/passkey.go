package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func testPasskeys(ctx context.Context, t *testing.T, s store.Store) {
	ana := mkUser(t, s, "ana@example.com")
	bob := mkUser(t, s, "bob@example.com")
	p := store.Passkey{UserID: ana.ID, RPID: "a.example", CredentialID: []byte{1, 2, 3}, Name: "Laptop", Data: []byte(`{"k":1}`), CreatedAt: t0}
	must(t, s.CreatePasskey(ctx, &p))
	if p.ID == 0 {
		t.Fatal("no id")
	}
	// The same credential id is unique per relying party, not globally.
	dup := p
	if err := s.CreatePasskey(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate: %v, want ErrConflict", err)
	}
	other := store.Passkey{UserID: ana.ID, RPID: "b.example", CredentialID: []byte{1, 2, 3}, Name: "Phone", Data: []byte(`{}`), CreatedAt: t0}
	must(t, s.CreatePasskey(ctx, &other))

	got, err := s.PasskeyByCredentialID(ctx, "a.example", []byte{1, 2, 3})
	must(t, err)
	if got.ID != p.ID || got.UserID != ana.ID || got.Name != "Laptop" || !bytes.Equal(got.Data, p.Data) || !got.CreatedAt.Equal(t0) || !got.LastUsedAt.IsZero() {
		t.Errorf("by credential id: %+v", got)
	}
	if _, err := s.PasskeyByCredentialID(ctx, "c.example", []byte{1, 2, 3}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other rp: %v", err)
	}
	for _, c := range []struct {
		rp   string
		want int
	}{{"", 2}, {"a.example", 1}, {"c.example", 0}} {
		list, err := s.UserPasskeys(ctx, ana.ID, c.rp)
		must(t, err)
		if len(list) != c.want {
			t.Errorf("UserPasskeys(%q) = %d, want %d", c.rp, len(list), c.want)
		}
	}

	// The stored counter is the judge: it moves only forward, whatever
	// counter the caller verified against; nil data keeps the record.
	for i, c := range []struct {
		to        int64
		data      string
		moved     bool
		wantCount int64
		wantData  string
	}{
		{5, `{"k":2}`, true, 5, `{"k":2}`},
		{5, `{"k":3}`, false, 5, `{"k":2}`}, // the same counter again: a clone or a replay
		{4, "", false, 5, `{"k":2}`},        // backwards
		{0, "", false, 5, `{"k":2}`},        // no counter where there was one
		{7, "", true, 7, `{"k":2}`},         // forward, record kept
	} {
		var data []byte
		if c.data != "" {
			data = []byte(c.data)
		}
		at := t0.Add(time.Duration(i+1) * time.Minute)
		moved, err := s.UsePasskey(ctx, p.ID, c.to, data, at)
		must(t, err)
		got, _ = s.PasskeyByCredentialID(ctx, "a.example", []byte{1, 2, 3})
		n, err := s.PasskeySignCount(ctx, p.ID)
		must(t, err)
		if moved != c.moved || got.SignCount != c.wantCount || n != c.wantCount || string(got.Data) != c.wantData ||
			(moved && !got.LastUsedAt.Equal(at)) {
			t.Errorf("use %d (to %d): moved %v, %+v, count %d; want moved %v, count %d, data %s", i, c.to, moved, got, n, c.moved, c.wantCount, c.wantData)
		}
	}
	// An authenticator without a counter (0 stays 0) may sign in again.
	for range 2 {
		if moved, err := s.UsePasskey(ctx, other.ID, 0, nil, t0); err != nil || !moved {
			t.Errorf("counterless use: %v %v", moved, err)
		}
	}
	if _, err := s.PasskeySignCount(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("sign count of no passkey: %v", err)
	}

	// Another user can neither rename nor delete it.
	if err := s.RenamePasskey(ctx, bob.ID, p.ID, "mine"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rename by other: %v", err)
	}
	if err := s.DeletePasskey(ctx, bob.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete by other: %v", err)
	}
	must(t, s.RenamePasskey(ctx, ana.ID, p.ID, "Work laptop"))
	got, _ = s.PasskeyByCredentialID(ctx, "a.example", []byte{1, 2, 3})
	if got.Name != "Work laptop" {
		t.Errorf("renamed: %q", got.Name)
	}
	must(t, s.DeletePasskey(ctx, ana.ID, p.ID))
	if _, err := s.PasskeyByCredentialID(ctx, "a.example", []byte{1, 2, 3}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.DeletePasskey(ctx, ana.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func testWebAuthnChallenges(ctx context.Context, t *testing.T, s store.Store) {
	c := store.WebAuthnChallenge{Hash: []byte("h1"), Kind: "login", BusinessID: 7, RPID: "a.example", Data: []byte(`{"challenge":"x"}`),
		CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	must(t, s.CreateWebAuthnChallenge(ctx, c))
	old := store.WebAuthnChallenge{Hash: []byte("h0"), Kind: "register", UserID: 3, BusinessID: 7, RPID: "a.example", Data: []byte(`{}`),
		CreatedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(-time.Minute)}
	must(t, s.CreateWebAuthnChallenge(ctx, old))

	peek, err := s.WebAuthnChallengeByHash(ctx, []byte("h1"))
	if err != nil || peek.Kind != "login" || string(peek.Data) != `{"challenge":"x"}` {
		t.Fatalf("read before take: %+v %v", peek, err)
	}
	wins := concurrentWins(t, 8, func() (bool, error) {
		got, err := s.TakeWebAuthnChallenge(ctx, []byte("h1"))
		if errors.Is(err, store.ErrNotFound) {
			return false, nil // another taker won
		}
		if err == nil && (got.Kind != "login" || got.BusinessID != 7 || got.RPID != "a.example" || string(got.Data) != `{"challenge":"x"}` || !got.ExpiresAt.Equal(c.ExpiresAt)) {
			t.Errorf("taken: %+v", got)
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Errorf("%d takers got the challenge, want 1", wins)
	}
	if _, err := s.WebAuthnChallengeByHash(ctx, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read after take: %v", err)
	}
	// Spending (the sign-in's commit, which holds the row already): one
	// of concurrent spenders and takers succeeds.
	spent := store.WebAuthnChallenge{Hash: []byte("h2"), Kind: "login", BusinessID: 7, RPID: "a.example", Data: []byte(`{}`),
		CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	must(t, s.CreateWebAuthnChallenge(ctx, spent))
	var turn atomic.Int32
	wins = concurrentWins(t, 8, func() (bool, error) {
		var err error
		if turn.Add(1)%2 == 0 {
			err = s.SpendWebAuthnChallenge(ctx, []byte("h2"))
		} else {
			_, err = s.TakeWebAuthnChallenge(ctx, []byte("h2"))
		}
		if errors.Is(err, store.ErrNotFound) {
			return false, nil // another spender or taker won
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Errorf("%d spenders and takers got the challenge, want 1", wins)
	}
	if err := s.SpendWebAuthnChallenge(ctx, []byte("h2")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("spent twice: %v", err)
	}
	must(t, s.DeleteExpiredWebAuthnChallenges(ctx, t0))
	if _, err := s.TakeWebAuthnChallenge(ctx, []byte("h0")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired challenge still there: %v", err)
	}
}
