package storetest

import (
	"context"
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
