package auth_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/passkey/passkeytest"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// TestPasskeySignInAcrossProcesses: two processes (A and B) on one
// database serve passkey sign-ins. Each keeps the credential in its state
// cache, whose counter is only a hint once the other process has used the
// passkey; the stored counter decides, in the sign-in's transaction. So a
// sign-in alternating between processes goes through, a counter the other
// process has overtaken is a clone warning even when this process's cache
// has not seen it, one challenge finished 20 times at once on both
// processes signs in once, and a passkey removed on one process is refused
// by the other at once.
func TestPasskeySignInAcrossProcesses(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "db.sqlite") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
	} {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := be.dsn(t)
			a, ast := serviceOn(t, dsn, cheap)
			b, _ := serviceOn(t, dsn, cheap)
			biz, err := a.CreateBusiness(ctx, auth.NewBusiness{Slug: "hub", Name: "Hub", Language: "en"}, func(string) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			u, err := a.CreateUser(ctx, auth.NewUser{Email: "keys@example.test", Name: "Keys", Password: "correct horse battery", BusinessSlugs: []string{"hub"}})
			if err != nil {
				t.Fatal(err)
			}
			origin := a.TenantURL(biz)
			o, err := url.Parse(origin)
			if err != nil {
				t.Fatal(err)
			}
			rpID := o.Hostname()

			reg, err := a.BeginPasskeyRegistration(ctx, u, biz)
			if err != nil {
				t.Fatal(err)
			}
			var authr passkeytest.Authenticator
			resp, cred, err := authr.Register(origin, reg.Options)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := a.FinishPasskeyRegistration(ctx, u, biz, reg.Handle, "", resp, auth.Client{})
			if err != nil {
				t.Fatal(err)
			}

			// answer begins a sign-in on begin and signs its challenge with counter.
			answer := func(t *testing.T, begin *auth.Service, counter uint32) (handle string, assertion []byte) {
				t.Helper()
				cer, err := begin.BeginPasskeySignIn(ctx, biz)
				if err != nil {
					t.Fatal(err)
				}
				ch, err := passkeytest.Challenge(cer.Options)
				if err != nil {
					t.Fatal(err)
				}
				assertion, err = cred.AssertWithCounter(origin, rpID, ch, counter)
				if err != nil {
					t.Fatal(err)
				}
				return cer.Handle, assertion
			}
			clones := func() int {
				events, err := ast.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Type: "passkey.clone_warning"})
				if err != nil {
					t.Fatal(err)
				}
				return len(events)
			}
			procs := map[string]*auth.Service{"A": a, "B": b}
			for _, step := range []struct {
				name      string
				proc      string
				counter   uint32
				ok        bool
				newClones int
			}{
				{"A signs in", "A", 1, true, 0},
				{"B signs in", "B", 2, true, 0},
				{"A again, its cache a counter behind", "A", 3, true, 0},
				{"A, counter repeated", "A", 3, false, 1},
				{"B jumps ahead", "B", 10, true, 0},
				{"A, a counter B overtook (A's cache says 3)", "A", 5, false, 1},
				{"A, the next counter", "A", 11, true, 0},
			} {
				t.Run(step.name, func(t *testing.T) {
					before := clones()
					p := procs[step.proc]
					handle, assertion := answer(t, p, step.counter)
					_, err := p.PasskeySignInToken(ctx, biz, handle, assertion, auth.Client{})
					if step.ok != (err == nil) || (err != nil && !errors.Is(err, auth.ErrPasskeyInvalid)) {
						t.Fatalf("sign-in: %v, want ok=%v", err, step.ok)
					}
					if got := clones() - before; got != step.newClones {
						t.Errorf("%d new clone warnings, want %d", got, step.newClones)
					}
				})
			}

			t.Run("one challenge finished 20 times on both", func(t *testing.T) {
				handle, assertion := answer(t, a, 12)
				var (
					wg   sync.WaitGroup
					mu   sync.Mutex
					wins int
				)
				for i := range 20 {
					p := a
					if i%2 == 1 {
						p = b
					}
					wg.Go(func() {
						_, err := p.PasskeySignInToken(ctx, biz, handle, assertion, auth.Client{})
						if err != nil && !errors.Is(err, auth.ErrPasskeyInvalid) {
							t.Errorf("finish: %v", err)
						}
						mu.Lock()
						defer mu.Unlock()
						if err == nil {
							wins++
						}
					})
				}
				wg.Wait()
				if wins != 1 {
					t.Fatalf("%d of 20 finishes of one challenge signed in, want 1", wins)
				}
			})

			t.Run("removed on B, refused on A at once", func(t *testing.T) {
				handle, assertion := answer(t, a, 13)
				if err := b.RemovePasskey(ctx, u, biz, pk.ID, auth.Client{}); err != nil {
					t.Fatal(err)
				}
				if _, err := a.PasskeySignInToken(ctx, biz, handle, assertion, auth.Client{}); !errors.Is(err, auth.ErrPasskeyInvalid) {
					t.Fatalf("A after removal on B: %v, want ErrPasskeyInvalid", err)
				}
			})
		})
	}
}
