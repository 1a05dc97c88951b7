package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/federation/fedtest"
	"github.com/spaceauth/spaceauth/internal/store"
)

// TestPortalLDAPSignIn: the portal form's password checked by a bind at a
// real slapd (search then bind over ldaps for demo, DN template over
// StartTLS for other), the directory's person linked or created by the §8
// rules, and a directory that is down answered 503, never "wrong password".
func TestPortalLDAPSignIn(t *testing.T) {
	dir := fedtest.StartSlapd(t, "../federation/testdata/directory.ldif")
	h := startHarness(t, harnessOptions{ldapTLS: dir.TLSConfig(), kek: "harness-kek"})
	f := h.seed()
	ctx := context.Background()
	// ana@example.org is in the directory and, as alice's second address
	// would be, unknown to spaceauth: created at demo (create-users).
	search, err := h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "demo", Kind: store.ProviderLDAP, Name: "Directory",
		LDAPURL: dir.LDAPSURL, SearchBase: "ou=people,dc=example,dc=org", SearchFilter: "(|(uid={user})(mail={user}))",
		BindDN: dir.ServiceDN, BindPassword: dir.ServicePassword, CreateUsers: true, NoMemberPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	if !search.Sealed {
		t.Error("bind password not sealed")
	}
	if _, err := h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "other", Kind: store.ProviderLDAP, Name: "Directory",
		LDAPURL: dir.LDAPURL, StartTLS: true, BindDNTemplate: "uid={user},ou=people,dc=example,dc=org"}); err != nil {
		t.Fatal(err)
	}
	// bruno@example.org is a member of other already: linked by email.
	if _, err := h.svc.CreateUser(ctx, auth.NewUser{Email: "bruno@example.org", Name: "Bruno", Password: pw, BusinessSlugs: []string{"other"}}); err != nil {
		t.Fatal(err)
	}

	formSignIn := func(t *testing.T, slug, email, password string) (int, *http.Client) {
		t.Helper()
		c := h.client()
		_, _, page := do(t, c, "GET", h.tenant(slug)+"/en/user/login", "", "")
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
		status, _, _ := do(t, c, "POST", h.tenant(slug)+"/en/user/login", ctForm, form("csrf", csrf, "email", email, "password", password))
		return status, c
	}
	tests := []struct {
		name, slug, email, password string
		want                        int
		wantUser                    string // the account page shows this email
	}{
		{"search mode by uid creates the user", "demo", "ana", "ana-ldap-password", 302, "ana@example.org"},
		{"search mode by mail finds the same user", "demo", "ana@example.org", "ana-ldap-password", 302, "ana@example.org"},
		{"wrong directory password", "demo", "ana", "not-her-password", 401, ""},
		{"member's spaceauth password refused (no-member-passwords)", "demo", "alice@example.com", pw, 401, ""},
		{"template mode with StartTLS links by email", "other", "bruno", "bruno-ldap-password", 302, "bruno@example.org"},
		{"spaceauth password still works where allowed", "other", "bob@example.com", pw, 302, "bob@example.com"},
		{"unauthenticated bind (empty password) refused", "other", "bruno", "", 400, ""},
		{"filter injection refused", "demo", "*", "ana-ldap-password", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, c := formSignIn(t, tc.slug, tc.email, tc.password)
			if status != tc.want {
				t.Fatalf("form: %d, want %d", status, tc.want)
			}
			if tc.wantUser != "" {
				if s, page := accountOf(t, h, c, tc.slug); s != 200 || !strings.Contains(page, tc.wantUser) {
					t.Fatalf("account: %d, want %s signed in", s, tc.wantUser)
				}
			}
		})
	}
	ana, err := h.store.UserByEmail(ctx, "ana@example.org")
	if err != nil || !ana.InBusiness(f.demo.ID) {
		t.Fatalf("ana: %+v %v", ana, err)
	}
	if ids, _ := h.store.UserIdentities(ctx, ana.ID); len(ids) != 1 {
		t.Errorf("ana has %d links, want 1", len(ids))
	}

	// Directory guesses are sign-in failures like password guesses (SPEC
	// §6): past the allowance the right directory password is refused too.
	for i := range 5 {
		if status, _ := formSignIn(t, "demo", "ana@example.org", "guess-"+itoa(int64(i))); status != 401 {
			t.Fatalf("guess %d: %d, want 401", i, status)
		}
	}
	if status, _ := formSignIn(t, "demo", "ana@example.org", "ana-ldap-password"); status != http.StatusTooManyRequests {
		t.Fatalf("right directory password after 5 wrong ones: %d, want 429", status)
	}

	// The directory goes away: 503 with Retry-After, not a refusal.
	if _, err := h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "other", Kind: store.ProviderLDAP, Name: "Down",
		LDAPURL: "ldap://127.0.0.1:1", BindDNTemplate: "uid={user},dc=x"}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	_, _, page := do(t, c, "GET", h.tenant("other")+"/en/user/login", "", "")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	status, hdr, _ := do(t, c, "POST", h.tenant("other")+"/en/user/login", ctForm, form("csrf", csrf, "email", "zoe", "password", "whatever"))
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("directory down: %d Retry-After %q", status, hdr.Get("Retry-After"))
	}
}
