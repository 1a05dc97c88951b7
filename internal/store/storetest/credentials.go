package storetest

// Signing keys, revoked tokens, sessions and reset tokens.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	k1 := store.SigningKey{ID: "k1", Algorithm: "EdDSA", PublicKey: []byte{1}, PrivateKey: []byte{2}, CreatedAt: t0}
	k2 := store.SigningKey{ID: "k2", Algorithm: "EdDSA", PublicKey: []byte{3}, PrivateKey: []byte{4}, Sealed: true, CreatedAt: t0.Add(time.Hour)}
	must(t, s.CreateSigningKey(ctx, k1))
	if err := s.CreateSigningKey(ctx, k1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate kid: %v", err)
	}
	must(t, s.CreateSigningKey(ctx, k2))
	retire := t0.Add(2 * time.Hour)
	must(t, s.RetireSigningKeys(ctx, "k2", retire))
	keys, err := s.SigningKeys(ctx, retire.Add(-time.Minute))
	must(t, err)
	if len(keys) != 2 || keys[0].ID != "k2" || !keys[0].RetiredAt.IsZero() || !keys[0].Sealed || keys[1].ID != "k1" || !keys[1].RetiredAt.Equal(retire) {
		t.Fatalf("keys: %+v", keys)
	}
	keys, err = s.SigningKeys(ctx, retire)
	must(t, err)
	if len(keys) != 1 || keys[0].ID != "k2" || string(keys[0].PrivateKey) != "\x04" {
		t.Errorf("keys after the retired one stopped verifying: %+v", keys)
	}
}

func testRevokedTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	ok, err := s.TokenRevoked(ctx, "j1")
	must(t, err)
	if ok {
		t.Error("fresh jti reported revoked")
	}
	must(t, s.RevokeToken(ctx, "j1", t0))
	must(t, s.RevokeToken(ctx, "j1", t0)) // idempotent
	ok, err = s.TokenRevoked(ctx, "j1")
	must(t, err)
	if !ok {
		t.Error("revoked jti not reported")
	}
}

func testSpendTokenRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 16
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := s.SpendToken(ctx, "jti-race", t0)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != 1 {
		t.Fatalf("token spent %d times, want exactly once", wins.Load())
	}
	ok, err := s.SpendToken(ctx, "jti-race", t0)
	must(t, err)
	if ok {
		t.Error("spent token spent again")
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := mkBusiness(t, s, "s")
	u := mkUser(t, s, "s@example.com", b.ID)
	sess := store.Session{Hash: []byte("h-one"), UserID: u.ID, BusinessID: b.ID, CreatedAt: t0, LastSeenAt: t0,
		ExpiresAt: t0.Add(time.Hour), UserAgent: "Firefox", ClientIP: "127.0.0.1"}
	must(t, s.CreateSession(ctx, &sess))
	two := store.Session{Hash: []byte("h-two"), UserID: u.ID, BusinessID: b.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, s.CreateSession(ctx, &two))
	got, err := s.SessionByHash(ctx, []byte("h-one"))
	must(t, err)
	if got.ID != sess.ID || got.UserAgent != "Firefox" || !got.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("by hash: %+v", got)
	}
	must(t, s.TouchSession(ctx, sess.ID, t0.Add(time.Second)))
	list, err := s.UserSessions(ctx, u.ID, t0.Add(2*time.Minute))
	must(t, err)
	if len(list) != 1 || list[0].ID != sess.ID || !list[0].LastSeenAt.Equal(t0.Add(time.Second)) {
		t.Errorf("live sessions: %+v", list)
	}
	must(t, s.RevokeSession(ctx, sess.ID, t0))
	if _, err := s.SessionByHash(ctx, []byte("h-one")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked session still found: %v", err)
	}
	must(t, s.RevokeUserSessions(ctx, u.ID, t0))
	if _, err := s.SessionByHash(ctx, []byte("h-two")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session survived revoke-all: %v", err)
	}
}

func testResetTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "r@example.com")
	for _, h := range []string{"r1", "r2"} {
		must(t, s.CreateResetToken(ctx, store.ResetToken{Hash: []byte(h), UserID: u.ID, Language: "de", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), TokenVersion: 5}))
	}
	got, err := s.ResetTokenByHash(ctx, []byte("r1"))
	must(t, err)
	if got.UserID != u.ID || got.Language != "de" || !got.SpentAt.IsZero() || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || got.TokenVersion != 5 {
		t.Errorf("reset token: %+v", got)
	}
	must(t, s.SpendResetTokens(ctx, u.ID, t0.Add(time.Minute)))
	for _, h := range []string{"r1", "r2"} {
		got, err := s.ResetTokenByHash(ctx, []byte(h))
		must(t, err)
		if !got.SpentAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("%s not spent: %+v", h, got)
		}
	}
	if _, err := s.ResetTokenByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown reset token: %v", err)
	}
}

func testResetTokenRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "race@example.com")
	must(t, s.CreateResetToken(ctx, store.ResetToken{Hash: []byte("race"), UserID: u.ID, Language: "en", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(q store.Queries) error {
				ok, err := q.SpendResetToken(ctx, []byte("race"), t0)
				if ok {
					wins.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("reset token spent %d times, want 1", wins.Load())
	}
}
