package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

const refreshPW = "correct horse battery"

// refreshBackends are the databases the refresh tests run on.
var refreshBackends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "db.sqlite") }},
	{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
}

// refreshSetup returns a service on dsn with users ana and bo.
func refreshSetup(t *testing.T, dsn string) (*auth.Service, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	svc, st := serviceOn(t, dsn, cheap)
	if _, err := svc.CreateBusiness(ctx, auth.NewBusiness{Slug: "hub", Name: "Hub", Language: "en"}, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ana@example.test", "bo@example.test"} {
		if _, err := svc.CreateUser(ctx, auth.NewUser{Email: email, Name: "X", Password: refreshPW, BusinessSlugs: []string{"hub"}}); err != nil {
			t.Fatal(err)
		}
	}
	return svc, st
}

func grant(t *testing.T, svc *auth.Service, email, client string) string {
	t.Helper()
	g, err := svc.PasswordGrant(context.Background(), email, refreshPW, "", client, auth.Client{IP: "192.0.2.7"})
	if err != nil {
		t.Fatalf("password grant for %s/%s: %v", email, client, err)
	}
	return g.Refresh
}

// rotate refreshes raw and fails the test unless it works.
func rotate(t *testing.T, svc *auth.Service, raw, client string) string {
	t.Helper()
	g, err := svc.RefreshGrant(context.Background(), raw, client, auth.Client{IP: "192.0.2.7"})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return g.Refresh
}

func refused(t *testing.T, svc *auth.Service, what, raw, client string) {
	t.Helper()
	if _, err := svc.RefreshGrant(context.Background(), raw, client, auth.Client{}); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Errorf("%s: %v, want invalid grant", what, err)
	}
}

func count(t *testing.T, st *sqlstore.Store, query string, args ...any) int {
	t.Helper()
	pools := st.Pools()
	db := pools["writer"] // SQLite's reader pool is read-only
	if db == nil {
		db = pools["db"]
	}
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func reuses(t *testing.T, st *sqlstore.Store) int {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), store.AuditFilter{Type: "refresh.reuse"})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// reforge rewrites the generation (and, with newSecret, the random part)
// of a token in the format of auth/refresh.go, as an attacker who holds a
// token of the family could.
func reforge(t *testing.T, raw string, gen uint64, newSecret bool) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 57 {
		t.Fatalf("token %q is not in the family format", raw)
	}
	binary.BigEndian.PutUint64(b[17:25], gen)
	if newSecret {
		b[30] ^= 0xff
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestRefreshFamilies: rotation in place (one row per family however
// often it rotates), reuse of a token rotated away 50 generations ago
// killing the family, forged tokens refused without harm, per-client and
// per-user scope, token-version and require-reset revocation, and the
// password grant touching live families only.
func TestRefreshFamilies(t *testing.T) {
	for _, be := range refreshBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			svc, st := refreshSetup(t, be.dsn(t))
			famRows := func(email string) int {
				return count(t, st, `SELECT count(*) FROM refresh_families f JOIN users u ON u.id = f.user_id WHERE u.email = '`+email+`'`)
			}

			// Bounded: 200 rotations, one row.
			first := grant(t, svc, "ana@example.test", "app")
			tokens := []string{first}
			for range 200 {
				tokens = append(tokens, rotate(t, svc, tokens[len(tokens)-1], "app"))
			}
			if n := famRows("ana@example.test"); n != 1 {
				t.Errorf("after 200 rotations the family holds %d rows, want 1", n)
			}
			current := tokens[200]

			// Forged: a generation never issued, or the current generation
			// with a wrong secret, or an unknown family: refused, and the
			// family lives on.
			refused(t, svc, "a generation ahead", reforge(t, current, 201, false), "app")
			refused(t, svc, "the current generation with a wrong secret", reforge(t, current, 200, true), "app")
			refused(t, svc, "a made-up token", "bm90IGEgdG9rZW4", "app")
			refused(t, svc, "another client", current, "web")
			if n := reuses(t, st); n != 0 {
				t.Errorf("forged tokens counted as %d reuses", n)
			}
			current = rotate(t, svc, current, "app")

			// Reuse of a token rotated away 50 generations ago: the family
			// dies, its newest token too, and it is audited once.
			refused(t, svc, "a token rotated 50 generations ago", tokens[151], "app")
			if n := reuses(t, st); n != 1 {
				t.Errorf("%d refresh.reuse events, want 1", n)
			}
			refused(t, svc, "the newest token after a reuse", current, "app")
			refused(t, svc, "the first token after a reuse", first, "app")
			if n := reuses(t, st); n != 1 {
				t.Errorf("tokens of a revoked family counted as reuses: %d events", n)
			}

			// Scope: a new grant for ana/app kills ana's earlier app family
			// only, not ana/web nor bo/app.
			anaApp := grant(t, svc, "ana@example.test", "app")
			anaWeb := grant(t, svc, "ana@example.test", "web")
			boApp := grant(t, svc, "bo@example.test", "app")
			anaApp2 := grant(t, svc, "ana@example.test", "app")
			refused(t, svc, "ana's earlier app token after a new app grant", anaApp, "app")
			anaWeb = rotate(t, svc, anaWeb, "web")
			boApp = rotate(t, svc, boApp, "app")
			anaApp2 = rotate(t, svc, anaApp2, "")

			// Revocation of every token of the user (token version), and
			// require-reset, kill the families.
			u, err := st.UserByEmail(ctx, "ana@example.test")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.RevokeUserTokens(ctx, u.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			refused(t, svc, "ana's web token after revoking her tokens", anaWeb, "web")
			refused(t, svc, "ana's app token after revoking her tokens", anaApp2, "app")
			if _, err := svc.RequireReset(ctx, "bo@example.test"); err != nil {
				t.Fatal(err)
			}
			refused(t, svc, "bo's token after require-reset", boApp, "app")

			// Password grants over and over: ana keeps one live family per
			// client, and every earlier one is prunable at once.
			for range 30 {
				grant(t, svc, "ana@example.test", "app")
			}
			if n := count(t, st, `SELECT count(*) FROM refresh_families WHERE user_id = `+strconv.FormatInt(u.ID, 10)+` AND client_id = 'app' AND revoked_at = 0`); n != 1 {
				t.Errorf("%d live app families after 30 grants, want 1", n)
			}
			pruned, err := st.Prune(ctx, "refresh_families", time.Now(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			// (Families dead by the token version alone stay until they expire.)
			if left := count(t, st, `SELECT count(*) FROM refresh_families WHERE revoked_at <> 0`); left != 0 || pruned < 30 {
				t.Errorf("pruned %d, %d revoked families left; want them all gone", pruned, left)
			}
			if n := count(t, st, `SELECT count(*) FROM refresh_families WHERE user_id = `+strconv.FormatInt(u.ID, 10)+` AND client_id = 'app'`); n != 1 {
				t.Errorf("%d app families of ana after pruning, want her live one", n)
			}
		})
	}
}

// TestRefreshRotationRace: 20 presentations of one token at once: exactly
// one gets a new pair; the losers are a reuse (SPEC §5.1) and the family
// dies.
func TestRefreshRotationRace(t *testing.T) {
	for _, be := range refreshBackends {
		t.Run(be.name, func(t *testing.T) {
			svc, st := refreshSetup(t, be.dsn(t))
			raw := rotate(t, svc, grant(t, svc, "ana@example.test", "app"), "app")
			var wins atomic.Int32
			var next string
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 20 {
				wg.Go(func() {
					<-start
					g, err := svc.RefreshGrant(context.Background(), raw, "app", auth.Client{})
					switch {
					case err == nil:
						wins.Add(1)
						mu.Lock()
						next = g.Refresh
						mu.Unlock()
					case !errors.Is(err, auth.ErrInvalidGrant):
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d of 20 racing refreshes won, want 1", wins.Load())
			}
			refused(t, svc, "the winner's token after the losers' reuse", next, "app")
			if reuses(t, st) == 0 {
				t.Error("the losing refreshes were not audited as a reuse")
			}
		})
	}
}
