package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Opener returns a fresh, empty, migrated store for one subtest; the store
// is closed by the suite.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Businesses", testBusinesses},
		{"BusinessSettings", testBusinessSettings},
		{"Users", testUsers},
		{"UserStateChanges", testUserStateChanges},
		{"SigningKeys", testSigningKeys},
		{"RevokedTokens", testRevokedTokens},
		{"SpendTokenOnceUnderRace", testSpendTokenRace},
		{"Sessions", testSessions},
		{"ResetTokens", testResetTokens},
		{"ResetTokenSpentOnceUnderRace", testResetTokenRace},
		{"OutboxClaimAndLease", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"TransactionRollback", testTxRollback},
		{"Audit", testAudit},
		{"Throttle", testThrottle},
		{"ThrottleConcurrentHits", testThrottleRace},
		{"ThrottleTake", testThrottleTake},
		{"EachPasswordHash", testEachPasswordHash},
		{"OTPCodes", testOTP},
		{"RefreshTokens", testRefresh},
		{"TwoFactor", testTwoFactor},
		{"RefreshRotationRace", testRefreshRace},
		{"RefreshExchange", testRefreshExchange},
		{"CredentialVersions", testCredentialVersions},
		{"PendingSignIns", testPendingSignIns},
		{"PendingSignInSpentOnceUnderRace", testPendingSignInRace},
		{"Health", testHealth},
		{"Providers", testProviders},
		{"OIDCFlowSpentOnce", testOIDCFlowSpentOnce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkBusiness(t *testing.T, s store.Store, slug string) store.Business {
	t.Helper()
	b := store.Business{Slug: slug, Name: "Space " + slug, Language: "en", CreatedAt: t0}
	must(t, s.CreateBusiness(context.Background(), &b))
	return b
}

func mkUser(t *testing.T, s store.Store, email string, businesses ...int64) store.User {
	t.Helper()
	u := store.User{Email: email, FullName: "N " + email, PasswordHash: "$argon2id$x", Active: true, BusinessIDs: businesses, CreatedAt: t0}
	must(t, s.CreateUser(context.Background(), &u))
	return u
}

// testBusinessSettings: the operator console edits a business's settings;
// the slug stays, a domain is unique, an unknown id is ErrNotFound.
func testBusinessSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mkBusiness(t, s, "alpha")
	b := mkBusiness(t, s, "beta")
	want := store.Business{ID: a.ID, Slug: "alpha", Name: "Alpha Renamed", Language: "de", Domain: "alpha.example", HideUnknownEmails: true, CreatedAt: t0}
	must(t, s.UpdateBusiness(ctx, store.Business{ID: a.ID, Slug: "ignored", Name: "Alpha Renamed", Language: "de", Domain: "ALPHA.example", HideUnknownEmails: true}))
	got, err := s.BusinessByID(ctx, a.ID)
	must(t, err)
	if got != want {
		t.Errorf("after update: got %+v, want %+v", got, want)
	}
	if got, err := s.BusinessByDomain(ctx, "alpha.example"); err != nil || got.ID != a.ID {
		t.Errorf("by the new domain: %+v %v", got, err)
	}
	if err := s.UpdateBusiness(ctx, store.Business{ID: b.ID, Name: "Beta", Language: "en", Domain: "alpha.example"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a taken domain: got %v, want ErrConflict", err)
	}
	// Clearing the domain frees it.
	must(t, s.UpdateBusiness(ctx, store.Business{ID: a.ID, Name: "Alpha", Language: "en"}))
	if _, err := s.BusinessByDomain(ctx, "alpha.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cleared domain still found: %v", err)
	}
	if err := s.UpdateBusiness(ctx, store.Business{ID: 999999, Name: "Nobody", Language: "en"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown business: got %v, want ErrNotFound", err)
	}
}

func testBusinesses(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := store.Business{Slug: "Alpha", Name: "Alpha Space", Language: "fr", Domain: "Members.Alpha.Example", HideUnknownEmails: true, CreatedAt: t0}
	must(t, s.CreateBusiness(ctx, &b))
	if b.ID <= 0 {
		t.Fatalf("id not set: %d", b.ID)
	}
	for name, get := range map[string]func() (store.Business, error){
		"id":     func() (store.Business, error) { return s.BusinessByID(ctx, b.ID) },
		"slug":   func() (store.Business, error) { return s.BusinessBySlug(ctx, "ALPHA") },
		"domain": func() (store.Business, error) { return s.BusinessByDomain(ctx, "members.alpha.example") },
	} {
		got, err := get()
		must(t, err)
		want := store.Business{ID: b.ID, Slug: "alpha", Name: "Alpha Space", Language: "fr", Domain: "members.alpha.example", HideUnknownEmails: true, CreatedAt: t0}
		if got != want {
			t.Errorf("by %s: got %+v, want %+v", name, got, want)
		}
	}
	dup := store.Business{Slug: "alpha", Name: "x"}
	if err := s.CreateBusiness(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate slug: got %v, want ErrConflict", err)
	}
	// Two businesses without a custom domain do not conflict.
	mkBusiness(t, s, "beta")
	mkBusiness(t, s, "gamma")
	if _, err := s.BusinessBySlug(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown slug: got %v, want ErrNotFound", err)
	}
	if _, err := s.BusinessByDomain(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty domain: got %v, want ErrNotFound", err)
	}
	all, err := s.ListBusinesses(ctx)
	must(t, err)
	if len(all) != 3 || all[0].Slug != "alpha" || all[2].Slug != "gamma" {
		t.Errorf("list: %+v", all)
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := mkBusiness(t, s, "a"), mkBusiness(t, s, "b")
	u := store.User{Email: " Ada@Example.COM ", FullName: "Ada", PasswordHash: "h1", Active: true, IsAdmin: false,
		Language: "es", Roles: []string{"User-Edit"}, BusinessIDs: []int64{b.ID, a.ID}, CreatedAt: t0}
	must(t, s.CreateUser(ctx, &u))
	got, err := s.UserByEmail(ctx, "ada@example.com")
	must(t, err)
	if got.ID != u.ID || got.Email != "Ada@Example.COM" || got.FullName != "Ada" || got.PasswordHash != "h1" ||
		!got.Active || got.IsAdmin || got.Language != "es" || got.DefaultBusinessID != b.ID || !got.CreatedAt.Equal(t0) {
		t.Errorf("by email: %+v", got)
	}
	if !got.HasRole("User-Edit") || got.HasRole("user-edit") || !got.InBusiness(a.ID) || !got.InBusiness(b.ID) || len(got.BusinessIDs) != 2 {
		t.Errorf("roles/profiles: %+v", got)
	}
	byID, err := s.UserByID(ctx, u.ID)
	must(t, err)
	if byID.Email != got.Email {
		t.Errorf("by id: %+v", byID)
	}
	dup := store.User{Email: "ADA@example.com", FullName: "x", PasswordHash: "h"}
	if err := s.CreateUser(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate email: got %v, want ErrConflict", err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	if _, err := s.UserByID(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	lone := mkUser(t, s, "lone@example.com")
	if lone.DefaultBusinessID != 0 {
		t.Errorf("default business of a user without profile: %d", lone.DefaultBusinessID)
	}
	must(t, s.AddProfile(ctx, lone.ID, a.ID))
	must(t, s.AddProfile(ctx, lone.ID, a.ID)) // idempotent
	lone, err = s.UserByID(ctx, lone.ID)
	must(t, err)
	if lone.DefaultBusinessID != a.ID || len(lone.BusinessIDs) != 1 {
		t.Errorf("after AddProfile: %+v", lone)
	}
	inA, err := s.ListUsers(ctx, a.ID)
	must(t, err)
	inB, err := s.ListUsers(ctx, b.ID)
	must(t, err)
	all, err := s.ListUsers(ctx, 0)
	must(t, err)
	if len(inA) != 2 || len(inB) != 1 || len(all) != 2 {
		t.Errorf("list: a=%d b=%d all=%d", len(inA), len(inB), len(all))
	}
}

func testUserStateChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "u@example.com")
	t1 := t0.Add(time.Hour)
	must(t, s.SetUserActive(ctx, u.ID, false, t1))
	must(t, s.SetPasswordHash(ctx, u.ID, "h2", t1))
	must(t, s.RevokeUserTokens(ctx, u.ID, t1))
	must(t, s.RevokeUserTokens(ctx, u.ID, t1.Add(time.Second)))
	got, err := s.UserByID(ctx, u.ID)
	must(t, err)
	if got.Active || got.PasswordHash != "h2" || got.TokenVersion != u.TokenVersion+2 || !got.TokensRevokedAt.Equal(t1.Add(time.Second)) {
		t.Errorf("after changes: %+v", got)
	}
	must(t, s.SetMustReset(ctx, u.ID, true))
	if got, _ := s.UserByID(ctx, u.ID); !got.MustReset {
		t.Error("must-reset flag not stored")
	}
	for name, err := range map[string]error{
		"must reset": s.SetMustReset(ctx, 4242, true),
		"active":     s.SetUserActive(ctx, 4242, true, t1),
		"password":   s.SetPasswordHash(ctx, 4242, "x", t1),
		"revoke":     s.RevokeUserTokens(ctx, 4242, t1),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on unknown user: %v", name, err)
		}
	}
}

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

func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := store.Mail{Kind: "reset", FromName: "Space", To: "a@example.com", Subject: "S", Text: "T secret-link", HTML: "<p>H secret-link</p>", CreatedAt: t0}
	must(t, s.EnqueueMail(ctx, &m))
	later := store.Mail{Kind: "reset", To: "b@example.com", Text: "code 123456", CreatedAt: t0, NextAttemptAt: t0.Add(time.Hour)}
	must(t, s.EnqueueMail(ctx, &later))
	n, err := s.PendingMail(ctx)
	must(t, err)
	if n != 2 {
		t.Errorf("pending = %d, want 2", n)
	}
	claimed, err := s.ClaimMail(ctx, "w1", t0, t0.Add(time.Minute), 10)
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != m.ID || claimed[0].Attempts != 1 || claimed[0].HTML != "<p>H secret-link</p>" || claimed[0].FromName != "Space" {
		t.Fatalf("claim: %+v", claimed)
	}
	// Leased: not claimable again until the lease ends.
	again, err := s.ClaimMail(ctx, "w2", t0.Add(30*time.Second), t0.Add(2*time.Minute), 10)
	must(t, err)
	if len(again) != 0 {
		t.Errorf("leased message claimed again: %+v", again)
	}
	// The holder renews; the lease then covers the renewed span.
	must(t, s.RenewMailLease(ctx, m.ID, "w1", t0.Add(90*time.Second)))
	if got, err := s.ClaimMail(ctx, "w2", t0.Add(61*time.Second), t0.Add(2*time.Minute), 10); err != nil || len(got) != 0 {
		t.Errorf("renewed lease taken over: %+v %v", got, err)
	}
	expired, err := s.ClaimMail(ctx, "w2", t0.Add(91*time.Second), t0.Add(3*time.Minute), 10)
	must(t, err)
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
	retry, err := s.ClaimMail(ctx, "w3", t0.Add(5*time.Minute), t0.Add(6*time.Minute), 10)
	must(t, err)
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
	none, err := s.ClaimMail(ctx, "w4", t0.Add(10*time.Minute), t0.Add(11*time.Minute), 10)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("sent message claimed: %+v", none)
	}
	gave, err := s.ClaimMail(ctx, "w5", t0.Add(time.Hour), t0.Add(time.Hour+time.Minute), 10)
	must(t, err)
	if len(gave) != 1 || gave[0].ID != later.ID {
		t.Fatalf("claim later: %+v", gave)
	}
	must(t, s.MarkMailFailed(ctx, later.ID, "w5", t0, "550 no such user", true))
	if got, err := s.MailByID(ctx, later.ID); err != nil || !got.Dead || strings.Contains(got.Text, "123456") {
		t.Errorf("a dead message must lose its body: %+v %v", got, err)
	}
	dead, err := s.ClaimMail(ctx, "w6", t0.Add(2*time.Hour), t0.Add(3*time.Hour), 10)
	must(t, err)
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

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	const msgs = 60
	for i := range msgs {
		m := store.Mail{Kind: "k", To: fmt.Sprintf("u%d@example.com", i), CreatedAt: t0}
		must(t, s.EnqueueMail(ctx, &m))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	wg.Wait()
	if len(seen) != msgs {
		t.Errorf("claimed %d distinct messages, want %d", len(seen), msgs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %d claimed %d times", id, n)
		}
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
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

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
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

func testThrottle(t *testing.T, s store.Store) {
	ctx := context.Background()
	st, err := s.ThrottleGet(ctx, "acct:x")
	must(t, err)
	if st.Count != 0 {
		t.Errorf("fresh key: %+v", st)
	}
	for i := 1; i <= 3; i++ {
		st, err = s.ThrottleHit(ctx, "acct:x", t0.Add(time.Duration(i)*time.Minute), 15*time.Minute)
		must(t, err)
		if st.Count != i || !st.WindowStart.Equal(t0.Add(time.Minute)) || !st.LastAt.Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("hit %d: %+v", i, st)
		}
	}
	// Quiet for longer than the window: counting starts over.
	st, err = s.ThrottleHit(ctx, "acct:x", t0.Add(time.Hour), 15*time.Minute)
	must(t, err)
	if st.Count != 1 || !st.WindowStart.Equal(t0.Add(time.Hour)) {
		t.Errorf("after a quiet window: %+v", st)
	}
	got, err := s.ThrottleGet(ctx, "acct:x")
	must(t, err)
	if got != st {
		t.Errorf("get %+v, want %+v", got, st)
	}
	must(t, s.ThrottleClear(ctx, "acct:x"))
	got, err = s.ThrottleGet(ctx, "acct:x")
	must(t, err)
	if got.Count != 0 {
		t.Errorf("after clear: %+v", got)
	}
}

func testThrottleRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ThrottleHit(ctx, "ip:1.2.3.4", t0, time.Hour); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := s.ThrottleGet(ctx, "ip:1.2.3.4")
	must(t, err)
	if st.Count != n {
		t.Errorf("count %d after %d concurrent hits", st.Count, n)
	}
}

// testEachPasswordHash: the scan skips hashes with the given prefix and
// returns every other one; fn's error stops it.
func testEachPasswordHash(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, h := range []string{"$argon2id$v=19$m=1,t=1,p=1$aaa", "$argon2id$v=19$m=1,t=1,p=1$bbb", "$2a$10$legacy", "$argon2id$v=19$m=9,t=1,p=1$ccc"} {
		u := store.User{Email: fmt.Sprintf("hash%d@example.com", i), FullName: "H", PasswordHash: h, Active: true, CreatedAt: t0}
		must(t, s.CreateUser(ctx, &u))
	}
	got := map[string]bool{}
	must(t, s.EachPasswordHash(ctx, "$argon2id$v=19$m=1,t=1,p=1$", func(h string) error {
		got[h] = true
		return nil
	}))
	if !got["$2a$10$legacy"] || !got["$argon2id$v=19$m=9,t=1,p=1$ccc"] || got["$argon2id$v=19$m=1,t=1,p=1$aaa"] || got["$argon2id$v=19$m=1,t=1,p=1$bbb"] {
		t.Errorf("hashes %v", got)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.EachPasswordHash(ctx, "$argon2id$v=19$m=1,t=1,p=1$", func(string) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stopped scan: %v after %d", err, n)
	}
}

// testThrottleTake: below the free count concurrent takes all count, up to
// it and no further; past it a take counts only from the state it was given
// (of concurrent takes from one state exactly one wins); a refund gives one
// event back and never goes below zero.
func testThrottleTake(t *testing.T, s store.Store) {
	ctx := context.Background()
	const key, window = "acct:take", 15 * time.Minute
	fresh, err := s.ThrottleGet(ctx, key)
	must(t, err)
	const n = 20
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ThrottleTake(ctx, key, fresh, 0, t0, window)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d concurrent takes of a fresh key won", wins.Load(), n)
	}
	st, err := s.ThrottleGet(ctx, key)
	must(t, err)
	if st.Count != 1 || !st.LastAt.Equal(t0) || !st.WindowStart.Equal(t0) {
		t.Fatalf("after the first take: %+v", st)
	}
	wins.Store(0)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ThrottleTake(ctx, key, st, 0, t0.Add(time.Minute), window)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d concurrent takes from one state won", wins.Load(), n)
	}
	// A stale state loses.
	if ok, err := s.ThrottleTake(ctx, key, st, 0, t0.Add(2*time.Minute), window); err != nil || ok {
		t.Fatalf("take from a stale state: %v %v", ok, err)
	}
	st, err = s.ThrottleGet(ctx, key)
	must(t, err)
	if st.Count != 2 || !st.LastAt.Equal(t0.Add(time.Minute)) || !st.WindowStart.Equal(t0) {
		t.Fatalf("after the second take: %+v", st)
	}
	// Quiet for longer than the window: counting starts over.
	ok, err := s.ThrottleTake(ctx, key, st, 0, t0.Add(time.Hour), window)
	must(t, err)
	got, err := s.ThrottleGet(ctx, key)
	must(t, err)
	if !ok || got.Count != 1 || !got.WindowStart.Equal(t0.Add(time.Hour)) {
		t.Fatalf("take after a quiet window: %v %+v", ok, got)
	}
	must(t, s.ThrottleRefund(ctx, key))
	must(t, s.ThrottleRefund(ctx, key))
	got, err = s.ThrottleGet(ctx, key)
	must(t, err)
	if got.Count != 0 {
		t.Fatalf("after two refunds of one event: %+v", got)
	}
	// A refunded key is taken again from its state, not as a fresh key.
	ok, err = s.ThrottleTake(ctx, key, got, 0, t0.Add(time.Hour+time.Second), window)
	must(t, err)
	if got, _ = s.ThrottleGet(ctx, key); !ok || got.Count != 1 {
		t.Fatalf("take after refunds: %v %+v", ok, got)
	}
	must(t, s.ThrottleRefund(ctx, "acct:never"))

	// Free takes: of 20 concurrent takes with 5 free, exactly 5 count.
	wins.Store(0)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ThrottleTake(ctx, "addr:free", store.ThrottleState{}, 5, t0, window)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	got, err = s.ThrottleGet(ctx, "addr:free")
	must(t, err)
	if wins.Load() != 5 || got.Count != 5 {
		t.Fatalf("%d of %d concurrent takes won with 5 free, count %d", wins.Load(), n, got.Count)
	}
}

func testOTP(t *testing.T, s store.Store) {
	ctx := context.Background()
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
	for i := 1; i <= 3; i++ {
		n, err := s.OTPTry(ctx, second.ID)
		must(t, err)
		if n != i {
			t.Errorf("try %d counted as %d", i, n)
		}
	}
	ok, err := s.SpendOTP(ctx, second.ID, t0)
	must(t, err)
	again, err := s.SpendOTP(ctx, second.ID, t0)
	must(t, err)
	if !ok || again {
		t.Errorf("spend: first %v, second %v", ok, again)
	}
	got, _ = s.LatestOTP(ctx, u.ID)
	if got.Tries != 3 || !got.SpentAt.Equal(t0) {
		t.Errorf("after spend %+v", got)
	}
}

func testRefresh(t *testing.T, s store.Store) {
	ctx := context.Background()
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
	ok, err := s.RotateRefreshToken(ctx, []byte("a1"), t0)
	must(t, err)
	again, err := s.RotateRefreshToken(ctx, []byte("a1"), t0)
	must(t, err)
	if !ok || again {
		t.Errorf("rotate: %v then %v", ok, again)
	}
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

func testRefreshRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "race-rt@example.com")
	must(t, s.CreateRefreshToken(ctx, store.RefreshToken{Hash: []byte("r"), Family: "f", UserID: u.ID, ClientID: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.RotateRefreshToken(ctx, []byte("r"), t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("rotated %d times", wins.Load())
	}
}

func testTwoFactor(t *testing.T, s store.Store) {
	ctx := context.Background()
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

func testHealth(t *testing.T, s store.Store) {
	ctx := context.Background()
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

func testRefreshExchange(t *testing.T, s store.Store) {
	ctx := context.Background()
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
// version they were issued at, and a refresh token its actor, through a
// rotation too (SPEC §6: revocation of sign-ins in flight, act carried over).
func testCredentialVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := mkBusiness(t, s, "cv")
	u := mkUser(t, s, "cv@example.com", b.ID)
	sess := store.Session{Hash: []byte("cv-s"), UserID: u.ID, BusinessID: b.ID, CreatedAt: t0, LastSeenAt: t0,
		ExpiresAt: t0.Add(time.Hour), TokenVersion: 7}
	must(t, s.CreateSession(ctx, &sess))
	got, err := s.SessionByHash(ctx, []byte("cv-s"))
	must(t, err)
	if got.TokenVersion != 7 {
		t.Errorf("session version %d, want 7", got.TokenVersion)
	}
	list, err := s.UserSessions(ctx, u.ID, t0)
	must(t, err)
	if len(list) != 1 || list[0].TokenVersion != 7 {
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

func testPendingSignIns(t *testing.T, s store.Store) {
	ctx := context.Background()
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
	for i := 1; i <= 3; i++ {
		n, err := s.PendingSignInTry(ctx, []byte("step"))
		must(t, err)
		if n != i {
			t.Errorf("try %d counted as %d", i, n)
		}
	}
	ok, err := s.SpendPendingSignIn(ctx, []byte("step"), t0)
	must(t, err)
	again, err := s.SpendPendingSignIn(ctx, []byte("step"), t0)
	must(t, err)
	if !ok || again {
		t.Errorf("spend: first %v, second %v", ok, again)
	}
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

func testPendingSignInRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "ps-race@example.com")
	must(t, s.CreatePendingSignIn(ctx, store.PendingSignIn{Hash: []byte("race"), BrowserHash: []byte("b"), UserID: u.ID,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.SpendPendingSignIn(ctx, []byte("race"), t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("spent %d times", wins.Load())
	}
}
