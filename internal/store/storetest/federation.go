package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func testProviders(ctx context.Context, t *testing.T, s store.Store) {
	a := mkBusiness(t, s, "fa")
	b := mkBusiness(t, s, "fb")
	oidc := store.Provider{BusinessID: a.ID, Kind: store.ProviderOIDC, Name: "Google", Issuer: "https://accounts.google.com",
		ClientID: "cid", LogoutURL: "https://idp.example/logout", Secret: []byte("sealed-bytes"), Sealed: true,
		CreateUsers: true, NoMemberPasswords: true, CreatedAt: t0}
	must(t, s.CreateProvider(ctx, &oidc))
	ldap := store.Provider{BusinessID: b.ID, Kind: store.ProviderLDAP, Name: "Directory", LDAPURL: "ldap://127.0.0.1:389",
		StartTLS: true, SearchBase: "ou=people,dc=example,dc=org", SearchFilter: "(mail={user})",
		BindDN: "cn=svc,dc=example,dc=org", Secret: []byte("pw"), NoAdminPasswords: true, CreatedAt: t0}
	must(t, s.CreateProvider(ctx, &ldap))
	if oidc.ID == 0 || ldap.ID == 0 || oidc.ID == ldap.ID {
		t.Fatalf("ids: %d %d", oidc.ID, ldap.ID)
	}
	got, err := s.ProviderByID(ctx, oidc.ID)
	must(t, err)
	if got.Name != "Google" || got.Issuer != oidc.Issuer || got.ClientID != "cid" || got.LogoutURL != oidc.LogoutURL ||
		!bytes.Equal(got.Secret, oidc.Secret) || !got.Sealed || !got.CreateUsers || !got.NoMemberPasswords ||
		got.NoAdminPasswords || got.BusinessID != a.ID || got.Kind != store.ProviderOIDC || !got.CreatedAt.Equal(t0) {
		t.Errorf("oidc provider round trip: %+v", got)
	}
	got, err = s.ProviderByID(ctx, ldap.ID)
	must(t, err)
	if !got.StartTLS || got.SearchFilter != "(mail={user})" || got.BindDN != ldap.BindDN || !got.NoAdminPasswords || got.Sealed {
		t.Errorf("ldap provider round trip: %+v", got)
	}
	for _, tc := range []struct {
		business int64
		want     []int64
	}{{0, []int64{oidc.ID, ldap.ID}}, {a.ID, []int64{oidc.ID}}, {b.ID, []int64{ldap.ID}}} {
		list, err := s.ListProviders(ctx, tc.business)
		must(t, err)
		var ids []int64
		for _, p := range list {
			ids = append(ids, p.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) {
			t.Errorf("list business %d: %v, want %v", tc.business, ids, tc.want)
		}
	}

	u := mkUser(t, s, "linked@example.com", a.ID)
	link := store.FederatedIdentity{ProviderID: oidc.ID, Subject: "sub-1", UserID: u.ID, Email: u.Email, CreatedAt: t0}
	must(t, s.LinkIdentity(ctx, link))
	if err := s.LinkIdentity(ctx, link); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second link of one subject: %v, want ErrConflict", err)
	}
	// The same subject at another provider is another identity.
	must(t, s.LinkIdentity(ctx, store.FederatedIdentity{ProviderID: ldap.ID, Subject: "sub-1", UserID: u.ID, CreatedAt: t0}))
	l, err := s.IdentityBySubject(ctx, oidc.ID, "sub-1")
	must(t, err)
	if l.UserID != u.ID || l.Email != u.Email || !l.CreatedAt.Equal(t0) || !l.LastUsedAt.IsZero() {
		t.Errorf("identity: %+v", l)
	}
	if _, err := s.IdentityBySubject(ctx, oidc.ID, "SUB-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("subjects compare exactly: %v", err)
	}
	must(t, s.TouchIdentity(ctx, oidc.ID, "sub-1", t0.Add(time.Minute)))
	ids, err := s.UserIdentities(ctx, u.ID)
	must(t, err)
	if len(ids) != 2 || !ids[0].LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("user identities: %+v", ids)
	}

	sess := store.Session{Hash: []byte("fed-session"), UserID: u.ID, BusinessID: a.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, &sess))
	if _, err := s.SessionProvider(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unfederated session: %v", err)
	}
	must(t, s.MarkSessionProvider(ctx, sess.ID, oidc.ID))
	sp, err := s.SessionProvider(ctx, sess.ID)
	must(t, err)
	if sp.ID != oidc.ID || sp.LogoutURL != oidc.LogoutURL {
		t.Errorf("session provider: %+v", sp)
	}

	must(t, s.DeleteProvider(ctx, oidc.ID))
	if _, err := s.ProviderByID(ctx, oidc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted provider: %v", err)
	}
	if _, err := s.IdentityBySubject(ctx, oidc.ID, "sub-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("links outlived their provider: %v", err)
	}
	if err := s.DeleteProvider(ctx, oidc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func testOIDCFlowSpentOnce(ctx context.Context, t *testing.T, s store.Store) {
	b := mkBusiness(t, s, "flow")
	p := store.Provider{BusinessID: b.ID, Kind: store.ProviderOIDC, Name: "IdP", Issuer: "https://idp", ClientID: "c", CreatedAt: t0}
	must(t, s.CreateProvider(ctx, &p))
	f := store.OIDCFlow{StateHash: []byte("state-hash"), ProviderID: p.ID, BindingHash: []byte("binding"), Nonce: "n",
		Verifier: "v", RedirectURL: "/en/user/account", Language: "fr", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	must(t, s.CreateOIDCFlow(ctx, f))
	if _, ok, err := s.SpendOIDCFlow(ctx, []byte("other"), t0); err != nil || ok {
		t.Errorf("unknown state: ok=%v err=%v", ok, err)
	}
	wins := concurrentWins(t, 8, func() (bool, error) {
		got, ok, err := s.SpendOIDCFlow(ctx, f.StateHash, t0.Add(time.Second))
		if ok && (got.Nonce != "n" || got.Verifier != "v" || got.Language != "fr" || got.ProviderID != p.ID ||
			!bytes.Equal(got.BindingHash, []byte("binding")) || !got.ExpiresAt.Equal(f.ExpiresAt) || got.RedirectURL != f.RedirectURL) {
			t.Errorf("spent flow: %+v", got)
		}
		return ok, err
	})
	if wins != 1 {
		t.Errorf("flow spent %d times, want once", wins)
	}
	// A new flow drops those expired before it; live ones stay.
	live := f
	live.StateHash, live.ExpiresAt = []byte("live"), t0.Add(time.Hour)
	must(t, s.CreateOIDCFlow(ctx, live))
	stale := f
	stale.StateHash = []byte("stale")
	must(t, s.CreateOIDCFlow(ctx, stale))
	later := f
	later.StateHash, later.CreatedAt, later.ExpiresAt = []byte("later"), t0.Add(11*time.Minute), t0.Add(21*time.Minute)
	must(t, s.CreateOIDCFlow(ctx, later))
	if _, ok, err := s.SpendOIDCFlow(ctx, []byte("stale"), t0.Add(12*time.Minute)); err != nil || ok {
		t.Errorf("an expired flow survived a newer one: ok=%v err=%v", ok, err)
	}
	if _, ok, err := s.SpendOIDCFlow(ctx, []byte("live"), t0.Add(12*time.Minute)); err != nil || !ok {
		t.Errorf("a live flow was dropped: ok=%v err=%v", ok, err)
	}
}

// testSignInUserByEmail: the user as UserByEmail reads it, with the
// password rules of the providers of its businesses only (none, one
// kind, both), following a provider's removal; an unknown email is
// ErrNotFound.
func testSignInUserByEmail(ctx context.Context, t *testing.T, s store.Store) {
	a := mkBusiness(t, s, "ra")
	b := mkBusiness(t, s, "rb")
	other := mkBusiness(t, s, "rc")
	u := store.User{Email: "Rules@Example.com", FullName: "R", PasswordHash: "h", Active: true, CreatedAt: t0}
	must(t, s.CreateUser(ctx, &u))
	rules := func(want store.PasswordRules) {
		t.Helper()
		got, r, err := s.SignInUserByEmail(ctx, "rules@example.COM")
		must(t, err)
		plain, err := s.UserByEmail(ctx, "rules@example.com")
		must(t, err)
		if got.ID != plain.ID || got.Email != plain.Email || got.PasswordHash != plain.PasswordHash || len(got.BusinessIDs) != len(plain.BusinessIDs) {
			t.Fatalf("user %+v, UserByEmail reads %+v", got, plain)
		}
		if r != want {
			t.Fatalf("rules %+v, want %+v", r, want)
		}
	}
	rules(store.PasswordRules{})
	// A provider of a business the user is not at does not count.
	must(t, s.CreateProvider(ctx, &store.Provider{BusinessID: other.ID, Kind: store.ProviderOIDC, Name: "X", Issuer: "https://x.example",
		ClientID: "x", NoMemberPasswords: true, NoAdminPasswords: true, CreatedAt: t0}))
	must(t, s.AddProfile(ctx, u.ID, a.ID))
	must(t, s.AddProfile(ctx, u.ID, b.ID))
	rules(store.PasswordRules{})
	pa := store.Provider{BusinessID: a.ID, Kind: store.ProviderOIDC, Name: "A", Issuer: "https://a.example", ClientID: "a", NoMemberPasswords: true, CreatedAt: t0}
	must(t, s.CreateProvider(ctx, &pa))
	rules(store.PasswordRules{NoMemberPasswords: true})
	must(t, s.CreateProvider(ctx, &store.Provider{BusinessID: b.ID, Kind: store.ProviderOIDC, Name: "B", Issuer: "https://b.example",
		ClientID: "b", NoAdminPasswords: true, CreatedAt: t0}))
	rules(store.PasswordRules{NoMemberPasswords: true, NoAdminPasswords: true})
	must(t, s.DeleteProvider(ctx, pa.ID))
	rules(store.PasswordRules{NoAdminPasswords: true})
	if _, _, err := s.SignInUserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
}
