package storetest

// Credentials: signing keys, revoked tokens, sessions, reset tokens,
// sign-in codes, refresh tokens, second factors, pending sign-ins and health.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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

// family returns a live family of u and client keyed by name, at
// generation 0, its current token's hash name+"/0".
func family(u store.User, name, client string, expires time.Time) store.RefreshFamily {
	return store.RefreshFamily{ID: []byte(name), Hash: []byte(name + "/0"), UserID: u.ID, ClientID: client,
		CreatedAt: t0, IssuedAt: t0, ExpiresAt: expires}
}

// rotation is family f's next token, named by its generation.
func rotation(f store.RefreshFamily, at time.Time) store.RefreshRotation {
	return store.RefreshRotation{ID: f.ID, Hash: fmt.Appendf(nil, "%s/%d", f.ID, f.Generation+1), IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
}

func testRefresh(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "rt@example.com")
	other := mkUser(t, s, "rt-other@example.com")
	end := t0.Add(15 * 24 * time.Hour)
	for _, f := range []store.RefreshFamily{family(u, "fa", "app", end), family(u, "fb", "web", end), family(u, "fc", "app", end),
		family(other, "fo", "app", end)} {
		must(t, s.CreateRefreshFamily(ctx, f))
	}
	got, err := s.RefreshFamilyByID(ctx, []byte("fa"))
	must(t, err)
	if string(got.Hash) != "fa/0" || got.Generation != 0 || got.ClientID != "app" || got.UserID != u.ID ||
		!got.ExpiresAt.Equal(end) || !got.IssuedAt.Equal(t0) || !got.RevokedAt.IsZero() || got.Legacy != "" {
		t.Errorf("by id %+v", got)
	}
	if err := s.CreateRefreshFamily(ctx, family(u, "fa", "app", end)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second family under one id: %v", err)
	}
	revokedAt := t0.Add(time.Minute)
	must(t, s.RevokeRefreshFamily(ctx, []byte("fa"), revokedAt))
	// Revoked, its expiry is its revocation: prunable at once.
	if got, _ := s.RefreshFamilyByID(ctx, []byte("fa")); !got.RevokedAt.Equal(revokedAt) || !got.ExpiresAt.Equal(revokedAt) {
		t.Errorf("revoked family %+v", got)
	}
	must(t, s.RevokeRefreshFamily(ctx, []byte("fa"), revokedAt.Add(time.Hour)))
	if got, _ := s.RefreshFamilyByID(ctx, []byte("fa")); !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("a second revocation moved the first: %v", got.RevokedAt)
	}
	if got, _ := s.RefreshFamilyByID(ctx, []byte("fb")); !got.RevokedAt.IsZero() {
		t.Error("another family revoked")
	}
	must(t, s.RevokeRefreshTokens(ctx, u.ID, "app", t0.Add(2*time.Minute)))
	for _, c := range []struct {
		id      string
		revoked time.Time
	}{{"fa", revokedAt}, {"fb", time.Time{}}, {"fc", t0.Add(2 * time.Minute)}, {"fo", time.Time{}}} {
		if got, _ := s.RefreshFamilyByID(ctx, []byte(c.id)); !got.RevokedAt.Equal(c.revoked) {
			t.Errorf("after revoking u's app families, %s revoked at %v, want %v", c.id, got.RevokedAt, c.revoked)
		}
	}
	must(t, s.RevokeRefreshTokens(ctx, u.ID, "", t0.Add(3*time.Minute)))
	if got, _ := s.RefreshFamilyByID(ctx, []byte("fb")); !got.RevokedAt.Equal(t0.Add(3 * time.Minute)) {
		t.Error("revoke-all missed a family")
	}
	if got, _ := s.RefreshFamilyByID(ctx, []byte("fo")); !got.RevokedAt.IsZero() {
		t.Error("revoke-all reached another user")
	}
	fb, _ := s.RefreshFamilyByID(ctx, []byte("fb"))
	if ok, _ := s.ExchangeRefreshToken(ctx, fb, rotation(fb, t0), store.AuditEvent{Type: "token.refreshed"}); ok {
		t.Error("revoked family rotated")
	}
	if _, err := s.RefreshFamilyByID(ctx, []byte("zz")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := s.LegacyRefreshFamily(ctx, []byte("fo/0")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a family's token found as a legacy one: %v", err)
	}
}

// testRefreshRace: of 20 exchanges of one token at once, one wins.
func testRefreshRace(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "race-rt@example.com")
	f := family(u, "f", "c", t0.Add(time.Hour))
	must(t, s.CreateRefreshFamily(ctx, f))
	var n atomic.Int32
	wins := concurrentWins(t, 20, func() (bool, error) {
		next := rotation(f, t0)
		next.Hash = fmt.Appendf(nil, "racer-%d", n.Add(1))
		return s.ExchangeRefreshToken(ctx, f, next, store.AuditEvent{Type: "token.refreshed", At: t0})
	})
	if wins != 1 {
		t.Fatalf("rotated %d times", wins)
	}
	got, err := s.RefreshFamilyByID(ctx, f.ID)
	must(t, err)
	if got.Generation != 1 {
		t.Errorf("generation %d after one rotation", got.Generation)
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID}); len(evs) != 1 {
		t.Errorf("%d audit events for one rotation", len(evs))
	}
}

func testRefreshExchange(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "rx@example.com")
	f := family(u, "fx", "app", t0.Add(time.Hour))
	f.TokenVersion, f.ActorID = 3, 42
	must(t, s.CreateRefreshFamily(ctx, f))
	ev := store.AuditEvent{At: t0.Add(time.Minute), Type: "token.refreshed", Detail: `{"n":1}`, ClientIP: "192.0.2.1", ActorID: 42}
	ok, err := s.ExchangeRefreshToken(ctx, f, rotation(f, t0.Add(time.Minute)), ev)
	must(t, err)
	if !ok {
		t.Fatal("exchange of the current token refused")
	}
	got, err := s.RefreshFamilyByID(ctx, f.ID)
	must(t, err)
	// The family keeps its user, client, start, version and actor.
	if got.Generation != 1 || string(got.Hash) != "fx/1" || !got.IssuedAt.Equal(t0.Add(time.Minute)) ||
		!got.ExpiresAt.Equal(t0.Add(time.Minute+time.Hour)) || !got.CreatedAt.Equal(t0) || got.UserID != u.ID ||
		got.ClientID != "app" || got.TokenVersion != 3 || got.ActorID != 42 {
		t.Errorf("after one rotation %+v", got)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID})
	must(t, err)
	if len(evs) != 1 || evs[0].Type != "token.refreshed" || evs[0].Detail != `{"n":1}` || evs[0].ClientIP != "192.0.2.1" || evs[0].ActorID != 42 {
		t.Errorf("audit after exchange: %+v", evs)
	}
	// A stale generation, a wrong hash, an unknown family: refused, and
	// nothing written.
	stale := f
	wrongHash := got
	wrongHash.Hash = []byte("fx/0")
	unknown := got
	unknown.ID = []byte("nope")
	for name, cur := range map[string]store.RefreshFamily{"stale generation": stale, "wrong hash": wrongHash, "unknown family": unknown} {
		ok, err := s.ExchangeRefreshToken(ctx, cur, rotation(got, t0.Add(2*time.Minute)), ev)
		must(t, err)
		if ok {
			t.Errorf("exchange with a %s accepted", name)
		}
	}
	if again, _ := s.RefreshFamilyByID(ctx, f.ID); again.Generation != 1 || string(again.Hash) != "fx/1" {
		t.Errorf("refused exchanges changed the family: %+v", again)
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID}); len(evs) != 1 {
		t.Errorf("refused exchanges were audited: %d events", len(evs))
	}
	// Many rotations in place.
	for i := range 200 {
		ok, err := s.ExchangeRefreshToken(ctx, got, rotation(got, t0.Add(time.Duration(i+2)*time.Minute)), store.AuditEvent{Type: "token.refreshed"})
		must(t, err)
		if !ok {
			t.Fatalf("rotation %d refused", i+2)
		}
		got, err = s.RefreshFamilyByID(ctx, f.ID)
		must(t, err)
	}
	if got.Generation != 201 || string(got.Hash) != "fx/201" {
		t.Errorf("after 201 rotations: generation %d hash %q", got.Generation, got.Hash)
	}
	// A new id (a migrated family's first rotation): found under it only.
	next := rotation(got, t0.Add(time.Hour))
	next.ID = []byte("fx-new")
	ok, err = s.ExchangeRefreshToken(ctx, got, next, store.AuditEvent{Type: "token.refreshed"})
	must(t, err)
	if !ok {
		t.Fatal("rotation to a new id refused")
	}
	if _, err := s.RefreshFamilyByID(ctx, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old id still finds the family: %v", err)
	}
	if moved, err := s.RefreshFamilyByID(ctx, []byte("fx-new")); err != nil || moved.Generation != 202 || moved.UserID != u.ID {
		t.Errorf("under the new id: %+v %v", moved, err)
	}
}

// testRefreshPrune: the pruner takes families that expired or were revoked
// before its cutoff, at most limit rows a call, and never one that ends at
// the cutoff or later.
func testRefreshPrune(ctx context.Context, t *testing.T, s store.Store) {
	u := mkUser(t, s, "prune-rt@example.com")
	now := t0.Add(24 * time.Hour)
	var dead []string
	for i := range 5 {
		id := fmt.Sprintf("expired-%d", i)
		must(t, s.CreateRefreshFamily(ctx, family(u, id, "app", now.Add(-time.Duration(i+1)*time.Minute))))
		dead = append(dead, id)
	}
	must(t, s.CreateRefreshFamily(ctx, family(u, "revoked", "app", now.Add(time.Hour))))
	must(t, s.RevokeRefreshFamily(ctx, []byte("revoked"), now.Add(-time.Second)))
	dead = append(dead, "revoked")
	live := []string{"live-app", "live-web"}
	must(t, s.CreateRefreshFamily(ctx, family(u, "live-app", "app", now)))
	must(t, s.CreateRefreshFamily(ctx, family(u, "live-web", "web", now.Add(time.Hour))))

	var total int64
	for _, want := range []int64{4, 2, 0} {
		n, err := s.Prune(ctx, "refresh_families", now, 4)
		must(t, err)
		if n != want {
			t.Errorf("pruned %d, want %d", n, want)
		}
		total += n
	}
	for _, id := range dead {
		if _, err := s.RefreshFamilyByID(ctx, []byte(id)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s survived the pruner: %v", id, err)
		}
	}
	for _, id := range live {
		if _, err := s.RefreshFamilyByID(ctx, []byte(id)); err != nil {
			t.Errorf("%s pruned while live: %v", id, err)
		}
	}
	if n, err := s.Prune(ctx, "refresh_families", now, 0); n != 0 || err == nil {
		t.Errorf("limit 0: pruned %d, error %v; want 0 and an error", n, err)
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

// testCredentialVersions: sessions keep the token version they were issued
// at and their actor (SPEC §6: revocation of sign-ins in flight, act
// carried over); refresh families, through rotations: testRefreshExchange.
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
	// Refresh families keep theirs through rotations: testRefreshExchange.
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
