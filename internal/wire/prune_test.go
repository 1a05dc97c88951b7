package wire_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/prune"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
	"github.com/spaceauth/spaceauth/internal/testkit"
	"github.com/spaceauth/spaceauth/internal/token"
	"github.com/spaceauth/spaceauth/internal/wire"
)

func openApp(t *testing.T, dsn string, clk *testkit.Clock) *wire.App {
	t.Helper()
	cfg := config.Default()
	cfg.DB = dsn
	a, err := wire.Open(context.Background(), wire.Config{Config: cfg, Clock: clk.Now,
		HashParams: &password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestPrunerOnTheWiredService runs the server's pruner against what the
// service itself wrote, on both databases: what is past retention goes,
// what still matters stays, replay protection holds right up to the
// token's expiry, two processes' pruners run at once, and a storage error
// is returned, not swallowed.
func TestPrunerOnTheWiredService(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "db.sqlite") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clk := testkit.NewClock(start)
			dsn := tc.dsn(t)
			a := openApp(t, dsn, clk)
			other := openApp(t, dsn, clk) // a second process on the same database
			b, err := a.Auth.CreateBusiness(ctx, auth.NewBusiness{Slug: "north", Name: "North", Language: "en"}, func(string) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			const pw = "correct horse battery"
			if _, err := a.Auth.CreateUser(ctx, auth.NewUser{Email: "ana@example.com", Name: "Ana", Password: pw, BusinessSlugs: []string{"north"}}); err != nil {
				t.Fatal(err)
			}
			c := auth.Client{IP: "192.0.2.7"}
			// A wrong password leaves throttle rows; a token opens a portal
			// session and is spent by it; a reset request leaves a live token.
			if _, err := a.Auth.SignInWithPassword(ctx, auth.PasswordSignIn{Email: "ana@example.com", Password: "wrong password!", Client: c}); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
			tok, err := a.Auth.SignInWithPassword(ctx, auth.PasswordSignIn{Email: "ana@example.com", Password: pw, Validity: time.Hour, Client: c})
			if err != nil {
				t.Fatal(err)
			}
			cookie, _, err := a.Auth.PortalSignIn(ctx, b, tok.Value, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Auth.RequestPasswordReset(ctx, auth.ResetRequest{Business: &b, Lang: "en", Email: "ana@example.com", Client: c}); err != nil {
				t.Fatal(err)
			}
			replayRefused := func(when string) {
				t.Helper()
				if _, _, err := a.Auth.PortalSignIn(ctx, b, tok.Value, c); !errors.Is(err, auth.ErrLinkInvalid) {
					t.Fatalf("%s: the spent token signed in again: %v", when, err)
				}
			}
			sessionLive := func(when string) {
				t.Helper()
				if _, err := a.Auth.Session(ctx, b, cookie); err != nil {
					t.Fatalf("%s: live session gone: %v", when, err)
				}
			}
			run := func(p *prune.Pruner) prune.Counts {
				t.Helper()
				res, err := p.Run(ctx)
				if err != nil || !res.Done {
					t.Fatalf("prune: done=%v err=%v", res.Done, err)
				}
				return res.Counts
			}

			// The last moment the token still verifies (exp + leeway): its
			// spent mark, and the throttle rows inside their window, stay.
			clk.Set(tok.Claims.ExpiresAt.Add(token.Leeway))
			if n := run(a.Pruner()); n["spent_tokens"] != 0 || n["throttle"] != 0 || n["reset_tokens"] != 0 || n["sessions"] != 0 {
				t.Fatalf("pruned too early: %v", n)
			}
			replayRefused("at expiry")
			sessionLive("at expiry")

			// Past expiry and grace, and past the longest throttle window:
			// both processes prune at once; both succeed, and between them
			// the spent mark, the reset token and the throttle rows go.
			clk.Set(start.Add(auth.DefaultThrottlePolicy().Retention() + prune.DefaultGrace + 2*time.Hour))
			var wg sync.WaitGroup
			counts := make([]prune.Counts, 2)
			for i, app := range []*wire.App{a, other} {
				wg.Go(func() {
					res, err := app.Pruner().Run(ctx)
					if err != nil || !res.Done {
						t.Errorf("concurrent pruner %d: done=%v err=%v", i, res.Done, err)
					}
					counts[i] = res.Counts
				})
			}
			wg.Wait()
			sum := func(table string) int64 { return counts[0][table] + counts[1][table] }
			// Throttle: the account's and the address's slots, the address's failures.
			if sum("spent_tokens") != 1 || sum("reset_tokens") != 1 || sum("throttle") < 2 || sum("sessions") != 0 || sum("audit_events") != 0 {
				t.Errorf("concurrent pruners deleted %v and %v", counts[0], counts[1])
			}
			replayRefused("after pruning") // now by the token's own expiry
			sessionLive("after pruning")
			if st, err := a.Store.ThrottleGet(ctx, "signin:fail:"+c.IP); err != nil || st.Count != 0 {
				t.Errorf("throttle row past its window: %+v %v", st, err)
			}
			// The reset mail was never sent (no worker): a pending message
			// stays however old.
			if n, err := a.Store.PendingMail(ctx); err != nil || n != 1 {
				t.Errorf("pending mail: %d %v", n, err)
			}

			// Past the session's life and grace: the session goes too; the
			// audit trail stays for its retention.
			clk.Set(start.Add(config.Default().SessionTTL + prune.DefaultGrace + time.Minute))
			if n := run(a.Pruner()); n["sessions"] != 1 || n["audit_events"] != 0 {
				t.Errorf("after the session's life: %v", n)
			}
			if _, err := a.Auth.Session(ctx, b, cookie); !errors.Is(err, auth.ErrNoSession) {
				t.Errorf("pruned session: %v", err)
			}
			events, err := a.Store.ListAudit(ctx, store.AuditFilter{})
			if err != nil || len(events) == 0 {
				t.Fatalf("audit: %d events, %v", len(events), err)
			}
			clk.Set(start.Add(prune.DefaultAudit + time.Hour))
			if n := run(a.Pruner()); n["audit_events"] != int64(len(events)) {
				t.Errorf("audit past retention: pruned %d of %d", n["audit_events"], len(events))
			}

			// A storage failure is the run's error, not a quiet zero.
			other.Close()
			if _, err := other.Pruner().Run(ctx); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("prune on a closed store: %v, want store.ErrUnavailable", err)
			}
		})
	}
}
