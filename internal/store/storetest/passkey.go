package storetest

import (
	"bytes"
	"context"
	"errors"
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

	// Counter moves only from the value the caller read.
	ok, err := s.UsePasskey(ctx, p.ID, 0, 5, []byte(`{"k":2}`), t0.Add(time.Minute))
	must(t, err)
	again, err := s.UsePasskey(ctx, p.ID, 0, 6, []byte(`{"k":3}`), t0.Add(time.Minute))
	must(t, err)
	if !ok || again {
		t.Errorf("use: %v then %v", ok, again)
	}
	got, _ = s.PasskeyByCredentialID(ctx, "a.example", []byte{1, 2, 3})
	if got.SignCount != 5 || string(got.Data) != `{"k":2}` || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after use: %+v", got)
	}
	// nil data moves the counter and keeps the record.
	ok, err = s.UsePasskey(ctx, p.ID, 5, 7, nil, t0.Add(2*time.Minute))
	must(t, err)
	got, _ = s.PasskeyByCredentialID(ctx, "a.example", []byte{1, 2, 3})
	if !ok || got.SignCount != 7 || string(got.Data) != `{"k":2}` || !got.LastUsedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after use without a record: %v %+v", ok, got)
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
	must(t, s.DeleteExpiredWebAuthnChallenges(ctx, t0))
	if _, err := s.TakeWebAuthnChallenge(ctx, []byte("h0")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired challenge still there: %v", err)
	}
}
