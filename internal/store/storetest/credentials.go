package storetest

// Credentials: signing keys, revoked tokens, sessions, reset tokens,
// sign-in codes, refresh tokens, second factors, pending sign-ins and health.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func testSigningKeys(ctx context.Context, t *testing.T, s store.Store) {
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

func testRevokedTokens(ctx context.Context, t *testing.T, s store.Store) {
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

func testSpendTokenRace(ctx context.Context, t *testing.T, s store.Store) {
	if wins := concurrentWins(t, 16, func() (bool, error) { return s.SpendToken(ctx, "jti-race", t0) }); wins != 1 {
		t.Fatalf("token spent %d times, want exactly once", wins)
	}
	ok, err := s.SpendToken(ctx, "jti-race", t0)
	must(t, err)
	if ok {
		t.Error("spent token spent again")
	}
}

func testSessions(ctx context.Context, t *testing.T, s store.Store) {
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

func testResetTokens(ctx context.Context, t *testing.T, s store.Store) {
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

func testResetTokenRace(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "race@example.com")
	must(t, s.CreateResetToken(ctx, store.ResetToken{Hash: []byte("race"), UserID: u.ID, Language: "en", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	wins := concurrentWins(t, 8, func() (won bool, err error) {
		err = s.InTx(ctx, func(q store.Queries) error {
			won, err = q.SpendResetToken(ctx, []byte("race"), t0)
			return err
		})
		return won, err
	})
	if wins != 1 {
		t.Fatalf("reset token spent %d times, want 1", wins)
	}
}

func testOTP(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "otp@example.com")
	if _, err := s.LatestOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no code yet: %v", err)
	}
	first := store.OTP{UserID: u.ID, BusinessID: 3, CodeHash: []byte("h1"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	must(t, s.CreateOTP(ctx, &first))
	second := store.OTP{UserID: u.ID, BusinessID: 3, CodeHash: []byte("h2"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	must(t, s.CreateOTP(ctx, &second))
	got, err := s.LatestOTP(ctx, u.ID)
	must(t, err)
	if got.ID != second.ID || string(got.CodeHash) != "h2" || got.BusinessID != 3 || !got.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("latest %+v", got)
	}
	countsTries(t, 3, func() (int, error) { return s.OTPTry(ctx, second.ID) })
	spendsOnce(t, "spend", func() (bool, error) { return s.SpendOTP(ctx, second.ID, t0) })
	got, _ = s.LatestOTP(ctx, u.ID)
	if got.Tries != 3 || !got.SpentAt.Equal(t0) {
		t.Errorf("after spend %+v", got)
	}
}

func testRefresh(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "rt@example.com")
	mk := func(hash, family, client string) {
		must(t, s.CreateRefreshToken(ctx, store.RefreshToken{Hash: []byte(hash), Family: family, UserID: u.ID, ClientID: client,
			CreatedAt: t0, ExpiresAt: t0.Add(15 * 24 * time.Hour)}))
	}
	mk("a1", "fa", "app")
	mk("b1", "fb", "web")
	got, err := s.RefreshTokenByHash(ctx, []byte("a1"))
	must(t, err)
	if got.Family != "fa" || got.ClientID != "app" || got.UserID != u.ID || !got.ExpiresAt.Equal(t0.Add(15*24*time.Hour)) {
		t.Errorf("by hash %+v", got)
	}
	spendsOnce(t, "rotate", func() (bool, error) { return s.RotateRefreshToken(ctx, []byte("a1"), t0) })
	mk("a2", "fa", "app")
	must(t, s.RevokeRefreshFamily(ctx, "fa", t0.Add(time.Minute)))
	for _, h := range []string{"a1", "a2"} {
		got, _ := s.RefreshTokenByHash(ctx, []byte(h))
		if got.RevokedAt.IsZero() {
			t.Errorf("%s survived its family's revocation", h)
		}
	}
	if got, _ := s.RefreshTokenByHash(ctx, []byte("b1")); !got.RevokedAt.IsZero() {
		t.Error("another family revoked")
	}
	mk("c1", "fc", "web")
	must(t, s.RevokeRefreshTokens(ctx, u.ID, "app", t0))
	if got, _ := s.RefreshTokenByHash(ctx, []byte("c1")); !got.RevokedAt.IsZero() {
		t.Error("client-scoped revocation hit another client")
	}
	must(t, s.RevokeRefreshTokens(ctx, u.ID, "", t0))
	if got, _ := s.RefreshTokenByHash(ctx, []byte("c1")); got.RevokedAt.IsZero() {
		t.Error("revoke-all missed a token")
	}
	if ok, _ := s.RotateRefreshToken(ctx, []byte("c1"), t0); ok {
		t.Error("revoked token rotated")
	}
	if _, err := s.RefreshTokenByHash(ctx, []byte("zz")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func testRefreshRace(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "race-rt@example.com")
	must(t, s.CreateRefreshToken(ctx, store.RefreshToken{Hash: []byte("r"), Family: "f", UserID: u.ID, ClientID: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	if wins := concurrentWins(t, 8, func() (bool, error) { return s.RotateRefreshToken(ctx, []byte("r"), t0) }); wins != 1 {
		t.Fatalf("rotated %d times", wins)
	}
}

func testTwoFactor(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "2fa@example.com")
	must(t, s.SetTOTPPending(ctx, u.ID, "PENDING"))
	got, err := s.UserByID(ctx, u.ID)
	must(t, err)
	if got.TOTPPending != "PENDING" || got.TOTPSecret != "" {
		t.Errorf("pending: %+v", got)
	}
	must(t, s.EnableTOTP(ctx, u.ID, "SECRET", 100, [][]byte{[]byte("r1"), []byte("r2")}))
	got, _ = s.UserByID(ctx, u.ID)
	if got.TOTPSecret != "SECRET" || got.TOTPPending != "" || got.TOTPLastStep != 100 {
		t.Errorf("enabled: %+v", got)
	}
	for _, c := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}} {
		ok, err := s.UseTOTPStep(ctx, u.ID, c.step)
		must(t, err)
		if ok != c.want {
			t.Errorf("step %d: %v, want %v", c.step, ok, c.want)
		}
	}
	ok, err := s.UseRecoveryCode(ctx, u.ID, []byte("r1"), t0)
	must(t, err)
	again, _ := s.UseRecoveryCode(ctx, u.ID, []byte("r1"), t0)
	unknown, _ := s.UseRecoveryCode(ctx, u.ID, []byte("zz"), t0)
	if !ok || again || unknown {
		t.Errorf("recovery: %v %v %v", ok, again, unknown)
	}
	must(t, s.DisableTOTP(ctx, u.ID))
	got, _ = s.UserByID(ctx, u.ID)
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, []byte("r2"), t0); got.TOTPSecret != "" || ok {
		t.Errorf("after disable: %+v, recovery %v", got, ok)
	}
}

func testHealth(ctx context.Context, t *testing.T, s store.Store) {
	must(t, s.Ping(ctx))
	ok, err := s.Migrated(ctx)
	must(t, err)
	if !ok {
		t.Error("fresh store reports pending migrations")
	}
	// Twice: the probe rewrites one row and leaves nothing behind.
	must(t, s.ProbeWrite(ctx))
	must(t, s.ProbeWrite(ctx))
}

func testRefreshExchange(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "rx@example.com")
	must(t, s.CreateRefreshToken(ctx, store.RefreshToken{Hash: []byte("x1"), Family: "fx", UserID: u.ID, ClientID: "app",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	next := func(h string) store.RefreshToken {
		// Family, user and client come from the rotated token, not from here.
		return store.RefreshToken{Hash: []byte(h), Family: "wrong", UserID: u.ID + 1000, ClientID: "wrong",
			CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(2 * time.Hour)}
	}
	ev := store.AuditEvent{At: t0.Add(time.Minute), Type: "token.refreshed", Detail: `{"n":1}`, ClientIP: "192.0.2.1"}
	ok, err := s.ExchangeRefreshToken(ctx, []byte("x1"), t0.Add(time.Minute), next("x2"), ev)
	must(t, err)
	if !ok {
		t.Fatal("exchange of a live token refused")
	}
	old, err := s.RefreshTokenByHash(ctx, []byte("x1"))
	must(t, err)
	if !old.RotatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("old token rotated at %v", old.RotatedAt)
	}
	nt, err := s.RefreshTokenByHash(ctx, []byte("x2"))
	must(t, err)
	if nt.Family != "fx" || nt.UserID != u.ID || nt.ClientID != "app" || !nt.ExpiresAt.Equal(t0.Add(2*time.Hour)) || !nt.RotatedAt.IsZero() {
		t.Errorf("new token %+v", nt)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID})
	must(t, err)
	if len(evs) != 1 || evs[0].Type != "token.refreshed" || evs[0].Detail != `{"n":1}` || evs[0].ClientIP != "192.0.2.1" {
		t.Errorf("audit after exchange: %+v", evs)
	}
	for _, h := range []string{"x1", "nope"} {
		ok, err := s.ExchangeRefreshToken(ctx, []byte(h), t0.Add(2*time.Minute), next("x3-"+h), ev)
		must(t, err)
		if ok {
			t.Errorf("exchange of %s (not live) accepted", h)
		}
		if _, err := s.RefreshTokenByHash(ctx, []byte("x3-"+h)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused exchange of %s stored its successor (%v)", h, err)
		}
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID}); len(evs) != 1 {
		t.Errorf("refused exchanges were audited: %d events", len(evs))
	}
}

// testCredentialVersions: sessions and refresh tokens keep the token
// version they were issued at, and a session and a refresh token their actor, through a
// rotation too (SPEC §6: revocation of sign-ins in flight, act carried over).
func testCredentialVersions(ctx context.Context, t *testing.T, s store.Store) {
	b := mkBusiness(t, s, "cv")
	u := mkUser(t, s, "cv@example.com", b.ID)
	sess := store.Session{Hash: []byte("cv-s"), UserID: u.ID, BusinessID: b.ID, CreatedAt: t0, LastSeenAt: t0,
		ExpiresAt: t0.Add(time.Hour), TokenVersion: 7, ActorID: 42}
	must(t, s.CreateSession(ctx, &sess))
	got, err := s.SessionByHash(ctx, []byte("cv-s"))
	must(t, err)
	if got.TokenVersion != 7 || got.ActorID != 42 {
		t.Errorf("session version %d actor %d, want 7 and 42", got.TokenVersion, got.ActorID)
	}
	list, err := s.UserSessions(ctx, u.ID, t0)
	must(t, err)
	if len(list) != 1 || list[0].TokenVersion != 7 || list[0].ActorID != 42 {
		t.Errorf("listed sessions %+v", list)
	}
	must(t, s.CreateRefreshToken(ctx, store.RefreshToken{Hash: []byte("cv-r1"), Family: "cvf", UserID: u.ID, ClientID: "app",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), TokenVersion: 3, ActorID: 42}))
	rt, err := s.RefreshTokenByHash(ctx, []byte("cv-r1"))
	must(t, err)
	if rt.TokenVersion != 3 || rt.ActorID != 42 {
		t.Errorf("refresh token version %d actor %d, want 3 and 42", rt.TokenVersion, rt.ActorID)
	}
	// The successor inherits both from the rotated token, whatever next says.
	ok, err := s.ExchangeRefreshToken(ctx, []byte("cv-r1"), t0.Add(time.Minute),
		store.RefreshToken{Hash: []byte("cv-r2"), CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour), TokenVersion: 99, ActorID: 99},
		store.AuditEvent{Type: "token.refreshed", ActorID: 42, At: t0.Add(time.Minute)})
	must(t, err)
	if !ok {
		t.Fatal("exchange refused")
	}
	nt, err := s.RefreshTokenByHash(ctx, []byte("cv-r2"))
	must(t, err)
	if nt.TokenVersion != 3 || nt.ActorID != 42 {
		t.Errorf("successor version %d actor %d, want 3 and 42", nt.TokenVersion, nt.ActorID)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Type: "token.refreshed"})
	must(t, err)
	if len(evs) != 1 || evs[0].ActorID != 42 {
		t.Errorf("refresh audit %+v, want actor 42", evs)
	}
}

func testPendingSignIns(ctx context.Context, t *testing.T, s store.Store) {
	b := mkBusiness(t, s, "ps")
	u := mkUser(t, s, "ps@example.com", b.ID)
	p := store.PendingSignIn{Hash: []byte("step"), BrowserHash: []byte("browser"), UserID: u.ID, BusinessID: b.ID,
		TokenVersion: 4, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	must(t, s.CreatePendingSignIn(ctx, p))
	got, err := s.PendingSignInByHash(ctx, []byte("step"))
	must(t, err)
	if string(got.BrowserHash) != "browser" || got.UserID != u.ID || got.BusinessID != b.ID || got.TokenVersion != 4 ||
		!got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(5*time.Minute)) || got.Tries != 0 || !got.SpentAt.IsZero() {
		t.Errorf("by hash %+v", got)
	}
	countsTries(t, 3, func() (int, error) { return s.PendingSignInTry(ctx, []byte("step")) })
	spendsOnce(t, "spend", func() (bool, error) { return s.SpendPendingSignIn(ctx, []byte("step"), t0) })
	got, _ = s.PendingSignInByHash(ctx, []byte("step"))
	if got.Tries != 3 || !got.SpentAt.Equal(t0) {
		t.Errorf("after spend %+v", got)
	}
	if _, err := s.PendingSignInByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown step: %v", err)
	}
	// The step is not a sign-in code: nothing of it shows in the OTP table.
	if _, err := s.LatestOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pending step visible as a sign-in code: %v", err)
	}
}

func testPendingSignInRace(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "ps-race@example.com")
	must(t, s.CreatePendingSignIn(ctx, store.PendingSignIn{Hash: []byte("race"), BrowserHash: []byte("b"), UserID: u.ID,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	if wins := concurrentWins(t, 8, func() (bool, error) { return s.SpendPendingSignIn(ctx, []byte("race"), t0) }); wins != 1 {
		t.Fatalf("spent %d times", wins)
	}
}
