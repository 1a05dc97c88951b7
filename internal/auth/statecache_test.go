package auth_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// cheap keeps the test about caching, not hashing.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// signedInMember creates a member of business "hub" and signs them in with
// their password.
func signedInMember(ctx context.Context, t *testing.T, a *auth.Service, email, name string) (store.User, auth.Token) {
	t.Helper()
	const pw = "correct horse battery"
	u, err := a.CreateUser(ctx, auth.NewUser{Email: email, Name: name, Password: pw, BusinessSlugs: []string{"hub"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.SignInWithPassword(ctx, auth.PasswordSignIn{Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// TestStateCacheFollowsOtherWriters: process A answers bearer checks from
// its cache; process B (another replica, or the CLI) changes the user or
// revokes the token. A must see every change: at once on SQLite (the epoch
// moves in B's transaction), and as soon as the commit's notification
// arrives on PostgreSQL (waited for here up to 5 s).
func TestStateCacheFollowsOtherWriters(t *testing.T) {
	backends := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "db.sqlite") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
	}
	changes := []struct {
		name   string
		change func(ctx context.Context, b *auth.Service, st *sqlstore.Store, u store.User, tok auth.Token) error
	}{
		{"user disabled", func(ctx context.Context, b *auth.Service, _ *sqlstore.Store, u store.User, _ auth.Token) error {
			_, err := b.SetActive(ctx, u.Email, false)
			return err
		}},
		{"all the user's tokens revoked", func(ctx context.Context, _ *auth.Service, st *sqlstore.Store, u store.User, _ auth.Token) error {
			return st.RevokeUserTokens(ctx, u.ID, time.Now())
		}},
		{"this token revoked", func(ctx context.Context, _ *auth.Service, st *sqlstore.Store, _ store.User, tok auth.Token) error {
			return st.RevokeToken(ctx, tok.Claims.ID, tok.Claims.ExpiresAt)
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := be.dsn(t)
			a, _ := serviceOn(t, dsn, cheap)
			b, bst := serviceOn(t, dsn, cheap)
			if _, err := a.CreateBusiness(ctx, auth.NewBusiness{Slug: "hub", Name: "Hub", Language: "en"}, func(string) bool { return true }); err != nil {
				t.Fatal(err)
			}
			if _, err := a.CreateBusiness(ctx, auth.NewBusiness{Slug: "annex", Name: "Annex", Language: "en"}, func(string) bool { return true }); err != nil {
				t.Fatal(err)
			}
			for i, c := range changes {
				t.Run(c.name, func(t *testing.T) {
					email := fmt.Sprintf("cache%d@example.test", i)
					u, tok := signedInMember(ctx, t, a, email, "Cached")
					waitFor(t, "the token to verify (and be cached) on A", func() bool {
						_, _, err := a.VerifyBearer(ctx, tok.Value)
						return err == nil
					})
					for range 3 { // served from the cache now
						if _, _, err := a.VerifyBearer(ctx, tok.Value); err != nil {
							t.Fatalf("warm check: %v", err)
						}
					}
					if err := c.change(ctx, b, bst, u, tok); err != nil {
						t.Fatal(err)
					}
					check := func() bool {
						_, _, err := a.VerifyBearer(ctx, tok.Value)
						if err != nil && !errors.Is(err, auth.ErrBadCredentials) {
							t.Fatalf("want ErrBadCredentials, got %v", err)
						}
						return err != nil
					}
					if be.name == "sqlite" {
						if !check() {
							t.Fatal("A still accepts the token after B's change")
						}
						return
					}
					waitFor(t, "A to refuse the token", check)
				})
			}
			// The other direction: what A shows follows B's writes too.
			t.Run("business added to the user", func(t *testing.T) {
				u, err := a.CreateUser(ctx, auth.NewUser{Email: "grow@example.test", Name: "Grows", Password: "correct horse battery", BusinessSlugs: []string{"hub"}})
				if err != nil {
					t.Fatal(err)
				}
				tok, err := a.SignInWithPassword(ctx, auth.PasswordSignIn{Email: u.Email, Password: "correct horse battery"})
				if err != nil {
					t.Fatal(err)
				}
				count := func() int {
					p, err := a.Me(ctx, auth.Credentials{Bearer: tok.Value}, auth.Client{})
					if err != nil {
						t.Fatal(err)
					}
					return len(p.Businesses)
				}
				waitFor(t, "one business", func() bool { return count() == 1 })
				annex, err := bst.BusinessBySlug(ctx, "annex")
				if err != nil {
					t.Fatal(err)
				}
				if err := bst.AddProfile(ctx, u.ID, annex.ID); err != nil {
					t.Fatal(err)
				}
				if be.name == "sqlite" {
					if n := count(); n != 2 {
						t.Fatalf("A shows %d businesses after B added one, want 2", n)
					}
					return
				}
				waitFor(t, "two businesses", func() bool { return count() == 2 })
			})
		})
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
