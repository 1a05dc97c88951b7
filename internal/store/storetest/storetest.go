package storetest

import (
	"context"
	"errors"
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
		fn   func(ctx context.Context, t *testing.T, s store.Store)
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
		{"ThrottleMany", testThrottleMany},
		{"ThrottleManyNoDeadlock", testThrottleManyNoDeadlock},
		{"EachPasswordHash", testEachPasswordHash},
		{"OTPCodes", testOTP},
		{"RefreshTokens", testRefresh},
		{"TwoFactor", testTwoFactor},
		{"RefreshRotationRace", testRefreshRace},
		{"RefreshExchange", testRefreshExchange},
		{"RefreshPrune", testRefreshPrune},
		{"CredentialVersions", testCredentialVersions},
		{"PendingSignIns", testPendingSignIns},
		{"PendingSignInSpentOnceUnderRace", testPendingSignInRace},
		{"Health", testHealth},
		{"Providers", testProviders},
		{"SignInUserByEmail", testSignInUserByEmail},
		{"OIDCFlowSpentOnce", testOIDCFlowSpentOnce},
		{"Passkeys", testPasskeys},
		{"WebAuthnChallengeTakenOnce", testWebAuthnChallenges},
		{"Prune", testPrune},
		{"PruneBatchesAndConcurrentPruners", testPruneBatches},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			// The subtest's own context: cancelled when it ends, so a
			// suite cannot leave work running into the next one.
			tc.fn(t.Context(), t, s)
		})
	}
}

// concurrently runs fn on n goroutines released at once and waits for
// them all.
func concurrently(n int, fn func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			fn()
		})
	}
	close(start)
	wg.Wait()
}

// concurrentWins runs fn concurrently on n goroutines and counts the calls
// that report a win; errors fail the test.
func concurrentWins(t *testing.T, n int, fn func() (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	concurrently(n, func() {
		ok, err := fn()
		if err != nil {
			t.Error(err)
		}
		if ok {
			wins.Add(1)
		}
	})
	return int(wins.Load())
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// spendsOnce checks a one-time operation: the first call wins, the second,
// with the same arguments, does not.
func spendsOnce(t *testing.T, what string, spend func() (bool, error)) {
	t.Helper()
	ok, err := spend()
	must(t, err)
	again, err := spend()
	must(t, err)
	if !ok || again {
		t.Errorf("%s: first %v, second %v", what, ok, again)
	}
}

// countsTries checks that n calls of try count 1, 2, ... n.
func countsTries(t *testing.T, n int, try func() (int, error)) {
	t.Helper()
	for i := 1; i <= n; i++ {
		got, err := try()
		must(t, err)
		if got != i {
			t.Errorf("try %d counted as %d", i, got)
		}
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
func testBusinessSettings(ctx context.Context, t *testing.T, s store.Store) {
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

func testBusinesses(ctx context.Context, t *testing.T, s store.Store) {
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

func testUsers(ctx context.Context, t *testing.T, s store.Store) {
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

func testUserStateChanges(ctx context.Context, t *testing.T, s store.Store) {
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
