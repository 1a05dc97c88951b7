package storetest

// Retention: every Prune method deletes what is past its cutoff and keeps
// everything else, in batches, and concurrent pruners all succeed.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// cut is the cutoff every case prunes at: rows "old" lie before it, rows
// "live" after it.
var cut = t0.Add(time.Hour)

var (
	old  = t0
	live = t0.Add(2 * time.Hour)
)

func testPrune(ctx context.Context, t *testing.T, s store.Store) {
	b := mkBusiness(t, s, "prune")
	u := mkUser(t, s, "prune@example.com", b.ID)
	u2 := mkUser(t, s, "prune2@example.com", b.ID)
	p := store.Provider{BusinessID: b.ID, Kind: store.ProviderOIDC, Name: "IdP", Issuer: "https://idp", ClientID: "c", CreatedAt: t0}
	must(t, s.CreateProvider(ctx, &p))

	cases := []struct {
		name string // the table, as Prune takes it
		// setup stores the rows and returns how many are past the cutoff.
		setup func(t *testing.T) int64
		// check asserts what the callers see afterwards.
		check func(t *testing.T)
	}{
		{"revoked_tokens", func(t *testing.T) int64 {
			must(t, s.RevokeToken(ctx, "rv-old", old))
			must(t, s.RevokeToken(ctx, "rv-live", live))
			return 1
		}, func(t *testing.T) {
			// A revocation outlives its token: the live one's still holds.
			if ok, err := s.TokenRevoked(ctx, "rv-live"); err != nil || !ok {
				t.Errorf("revocation of an unexpired token: revoked=%v err=%v", ok, err)
			}
			if ok, err := s.TokenRevoked(ctx, "rv-old"); err != nil || ok {
				t.Errorf("revocation of an expired token kept: revoked=%v err=%v", ok, err)
			}
		}},
		{"spent_tokens", func(t *testing.T) int64 {
			for _, j := range []struct {
				jti string
				exp time.Time
			}{{"sp-old", old}, {"sp-live", live}} {
				if ok, err := s.SpendToken(ctx, j.jti, j.exp); err != nil || !ok {
					t.Fatalf("spend %s: %v %v", j.jti, ok, err)
				}
			}
			return 1
		}, func(t *testing.T) {
			// Replay protection holds until the token's expiry.
			if ok, err := s.SpendToken(ctx, "sp-live", live); err != nil || ok {
				t.Errorf("unexpired spent token spent again after pruning: ok=%v err=%v", ok, err)
			}
		}},
		{"sessions", func(t *testing.T) int64 {
			mk := func(h string, exp time.Time) store.Session {
				ss := store.Session{Hash: []byte(h), UserID: u.ID, BusinessID: b.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: exp}
				must(t, s.CreateSession(ctx, &ss))
				return ss
			}
			mk("s-expired", old)
			revOld := mk("s-revoked-old", live)
			must(t, s.RevokeSession(ctx, revOld.ID, old))
			revLive := mk("s-revoked-late", live)
			must(t, s.RevokeSession(ctx, revLive.ID, live))
			sso := mk("s-sso-expired", old)
			must(t, s.MarkSessionProvider(ctx, sso.ID, p.ID))
			mk("s-live", live)
			return 3
		}, func(t *testing.T) {
			if got, err := s.SessionByHash(ctx, []byte("s-live")); err != nil || !got.ExpiresAt.Equal(live) {
				t.Errorf("live session: %+v %v", got, err)
			}
			if _, err := s.SessionByHash(ctx, []byte("s-expired")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expired session: %v", err)
			}
			list, err := s.UserSessions(ctx, u.ID, t0)
			must(t, err)
			if len(list) != 1 || string(list[0].Hash) != "s-live" {
				t.Errorf("user sessions: %+v", list)
			}
		}},
		{"reset_tokens", func(t *testing.T) int64 {
			for _, r := range []struct {
				h     string
				exp   time.Time
				spent bool
			}{{"r-old", old, false}, {"r-old-spent", old, true}, {"r-live", live, false}, {"r-live-spent", live, true}} {
				must(t, s.CreateResetToken(ctx, store.ResetToken{Hash: []byte(r.h), UserID: u.ID, BusinessID: b.ID, Language: "en", CreatedAt: t0, ExpiresAt: r.exp}))
				if r.spent {
					spendsOnce(t, r.h, func() (bool, error) { return s.SpendResetToken(ctx, []byte(r.h), t0) })
				}
			}
			return 2
		}, func(t *testing.T) {
			if got, err := s.ResetTokenByHash(ctx, []byte("r-live")); err != nil || !got.SpentAt.IsZero() {
				t.Errorf("unspent live reset token: %+v %v", got, err)
			}
			// A spent one stays spent until it expires.
			if ok, err := s.SpendResetToken(ctx, []byte("r-live-spent"), t0); err != nil || ok {
				t.Errorf("spent reset token spent again: %v %v", ok, err)
			}
		}},
		{"otp_codes", func(t *testing.T) int64 {
			mk := func(uid int64, exp time.Time) store.OTP {
				o := store.OTP{UserID: uid, BusinessID: b.ID, CodeHash: []byte("c"), CreatedAt: t0, ExpiresAt: exp}
				must(t, s.CreateOTP(ctx, &o))
				return o
			}
			mk(u.ID, old)
			mk(u.ID, old.Add(time.Minute))
			mk(u.ID, live)
			// u2's older code outlives its newer one (a shorter life since):
			// the newer stays while the older could still be valid, or the
			// replaced code would be u2's latest again.
			mk(u2.ID, live)
			mk(u2.ID, old)
			return 2
		}, func(t *testing.T) {
			for _, uid := range []int64{u.ID, u2.ID} {
				got, err := s.LatestOTP(ctx, uid)
				must(t, err)
				want := live
				if uid == u2.ID {
					want = old
				}
				if !got.ExpiresAt.Equal(want) {
					t.Errorf("user %d: latest code expires %v, want %v", uid, got.ExpiresAt, want)
				}
			}
		}},
		{"twofactor_pending", func(t *testing.T) int64 {
			for h, exp := range map[string]time.Time{"p-old": old, "p-live": live} {
				must(t, s.CreatePendingSignIn(ctx, store.PendingSignIn{Hash: []byte(h), BrowserHash: []byte("b"), UserID: u.ID, BusinessID: b.ID, CreatedAt: t0, ExpiresAt: exp}))
			}
			return 1
		}, func(t *testing.T) {
			if _, err := s.PendingSignInByHash(ctx, []byte("p-live")); err != nil {
				t.Errorf("live pending sign-in: %v", err)
			}
		}},
		{"oidc_flows", func(t *testing.T) int64 {
			// Created at old, so creating the second does not sweep the first.
			for h, exp := range map[string]time.Time{"f-old": old.Add(time.Minute), "f-live": live} {
				must(t, s.CreateOIDCFlow(ctx, store.OIDCFlow{StateHash: []byte(h), ProviderID: p.ID, BindingHash: []byte("b"), Nonce: "n", Verifier: "v", CreatedAt: old, ExpiresAt: exp}))
			}
			return 1
		}, func(t *testing.T) {
			if _, ok, err := s.SpendOIDCFlow(ctx, []byte("f-live"), t0); err != nil || !ok {
				t.Errorf("live flow: %v %v", ok, err)
			}
		}},
		{"webauthn_challenges", func(t *testing.T) int64 {
			for h, exp := range map[string]time.Time{"w-old": old, "w-live": live} {
				must(t, s.CreateWebAuthnChallenge(ctx, store.WebAuthnChallenge{Hash: []byte(h), Kind: "login", BusinessID: b.ID, RPID: "x", Data: []byte("{}"), CreatedAt: t0, ExpiresAt: exp}))
			}
			return 1
		}, func(t *testing.T) {
			if _, err := s.WebAuthnChallengeByHash(ctx, []byte("w-live")); err != nil {
				t.Errorf("live challenge: %v", err)
			}
		}},
		{"throttle", func(t *testing.T) int64 {
			_, err := s.ThrottleHit(ctx, "k-old", old, time.Minute)
			must(t, err)
			_, err = s.ThrottleHit(ctx, "k-live", old, time.Minute)
			must(t, err)
			_, err = s.ThrottleHit(ctx, "k-live", live, time.Hour)
			must(t, err)
			return 1
		}, func(t *testing.T) {
			if st, err := s.ThrottleGet(ctx, "k-live"); err != nil || st.Count != 1 || !st.LastAt.Equal(live) {
				t.Errorf("live counter: %+v %v", st, err)
			}
			if st, err := s.ThrottleGet(ctx, "k-old"); err != nil || st.Count != 0 {
				t.Errorf("old counter: %+v %v", st, err)
			}
		}},
		{"outbox", func(t *testing.T) int64 {
			var ids []int64
			for _, at := range []time.Time{old, old, old, live} {
				m := store.Mail{Kind: "reset", To: "x@example.com", Subject: "s", Text: "t", CreatedAt: at, NextAttemptAt: at}
				must(t, s.EnqueueMail(ctx, &m))
				ids = append(ids, m.ID)
			}
			claimed, err := s.ClaimMail(ctx, "w", live, live.Add(time.Minute), 10)
			must(t, err)
			if len(claimed) != 4 {
				t.Fatalf("claimed %d", len(claimed))
			}
			must(t, s.MarkMailSent(ctx, ids[0], "w", live))
			must(t, s.MarkMailFailed(ctx, ids[1], "w", live, "gave up", true))
			must(t, s.MarkMailFailed(ctx, ids[2], "w", live, "retry", false)) // pending: stays however old
			must(t, s.MarkMailSent(ctx, ids[3], "w", live))
			return 2
		}, func(t *testing.T) {
			if n, err := s.PendingMail(ctx); err != nil || n != 1 {
				t.Errorf("pending mail after pruning: %d %v", n, err)
			}
		}},
		{"audit_events", func(t *testing.T) int64 {
			must(t, s.AppendAudit(ctx, store.AuditEvent{At: old, Type: "old"}))
			must(t, s.AppendAudit(ctx, store.AuditEvent{At: live, Type: "live"}))
			return 1
		}, func(t *testing.T) {
			got, err := s.ListAudit(ctx, store.AuditFilter{})
			must(t, err)
			if len(got) != 1 || got[0].Type != "live" {
				t.Errorf("audit after pruning: %+v", got)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.setup(t)
			// Nothing is past a cutoff before the oldest row.
			if n, err := s.Prune(ctx, tc.name, old.Add(-time.Hour), 1000); err != nil || n != 0 {
				t.Fatalf("prune before everything: %d %v", n, err)
			}
			n, err := s.Prune(ctx, tc.name, cut, 1000)
			if err != nil || n != want {
				t.Fatalf("pruned %d (err %v), want %d", n, err, want)
			}
			if n, err := s.Prune(ctx, tc.name, cut, 1000); err != nil || n != 0 {
				t.Errorf("second prune: %d %v", n, err)
			}
			tc.check(t)
		})
	}
}

// testPruneBatches: a call deletes at most its limit, and pruners running
// at once on one store all succeed and together delete each row once.
func testPruneBatches(ctx context.Context, t *testing.T, s store.Store) {
	const rows = 300
	err := s.InTx(ctx, func(q store.Queries) error {
		for i := range rows {
			if err := q.RevokeToken(ctx, fmt.Sprintf("b-%d", i), old); err != nil {
				return err
			}
		}
		return q.RevokeToken(ctx, "b-live", live)
	})
	must(t, err)
	if n, err := s.Prune(ctx, "revoked_tokens", cut, 7); err != nil || n != 7 {
		t.Fatalf("one batch of 7: %d %v", n, err)
	}
	if _, err := s.Prune(ctx, "revoked_tokens", cut, 0); err == nil {
		t.Error("a limit of 0 was accepted")
	}
	if _, err := s.Prune(ctx, "users", cut, 10); err == nil {
		t.Error("a table without a retention rule was pruned")
	}
	var total atomic.Int64
	concurrently(4, func() {
		for {
			n, err := s.Prune(ctx, "revoked_tokens", cut, 10)
			if err != nil {
				t.Errorf("concurrent prune: %v", err)
				return
			}
			total.Add(n)
			if n < 10 {
				return
			}
		}
	})
	// A pruner that saw a short batch may stop while another still works;
	// one more pass finds what remains.
	for {
		n, err := s.Prune(ctx, "revoked_tokens", cut, 10)
		must(t, err)
		total.Add(n)
		if n == 0 {
			break
		}
	}
	if got := total.Load(); got != rows-7 {
		t.Errorf("concurrent pruners deleted %d rows, want %d", got, rows-7)
	}
	if ok, err := s.TokenRevoked(ctx, "b-live"); err != nil || !ok {
		t.Errorf("live revocation: %v %v", ok, err)
	}
}
