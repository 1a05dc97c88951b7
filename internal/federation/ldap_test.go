package federation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/spaceauth/spaceauth/internal/federation"
	"github.com/spaceauth/spaceauth/internal/federation/fedtest"
)

// TestLDAPAgainstSlapd checks passwords against a real OpenLDAP slapd in
// both modes (DN template, search then bind) and both TLS forms (StartTLS,
// ldaps), and that what is not a wrong password never reads as one.
func TestLDAPAgainstSlapd(t *testing.T) {
	dir := fedtest.StartSlapd(t, "testdata/directory.ldif")
	template := federation.LDAPConfig{URL: dir.LDAPURL, StartTLS: true, TLS: dir.TLSConfig(),
		BindDNTemplate: "uid={user},ou=people,dc=example,dc=org"}
	search := federation.LDAPConfig{URL: dir.LDAPSURL, TLS: dir.TLSConfig(), SearchBase: "ou=people,dc=example,dc=org",
		SearchFilter: "(|(mail={user})(uid={user}))", BindDN: dir.ServiceDN, BindPassword: dir.ServicePassword}
	badService := search
	badService.BindPassword = "wrong"
	untrusted := template
	untrusted.TLS = nil // the system roots do not know the test CA
	plain := template
	plain.StartTLS = false

	tests := []struct {
		name      string
		cfg       federation.LDAPConfig
		user, pw  string
		wantEmail string
		wantErr   error // nil: success; ErrInvalidCredentials; errOther: any other error
	}{
		{"template starttls", template, "ana", "ana-ldap-password", "ana@example.org", nil},
		{"template plain ldap", plain, "bruno", "bruno-ldap-password", "bruno@example.org", nil},
		{"search ldaps by mail", search, "ana@example.org", "ana-ldap-password", "ana@example.org", nil},
		{"search ldaps by uid", search, "bruno", "bruno-ldap-password", "bruno@example.org", nil},
		{"template wrong password", template, "ana", "nope", "", federation.ErrInvalidCredentials},
		{"search wrong password", search, "ana@example.org", "bruno-ldap-password", "", federation.ErrInvalidCredentials},
		{"template unknown user", template, "zoe", "ana-ldap-password", "", federation.ErrInvalidCredentials},
		{"search unknown user", search, "zoe@example.org", "x", "", federation.ErrInvalidCredentials},
		// An empty password is an unauthenticated bind, which slapd accepts.
		{"template empty password", template, "ana", "", "", federation.ErrInvalidCredentials},
		{"search empty password", search, "ana@example.org", "", "", federation.ErrInvalidCredentials},
		// Filter injection: "*" must match nothing, not every entry.
		{"search wildcard user", search, "*", "ana-ldap-password", "", federation.ErrInvalidCredentials},
		{"search injected filter", search, "x)(uid=ana", "ana-ldap-password", "", federation.ErrInvalidCredentials},
		// DN injection: the value cannot add an RDN.
		{"template injected dn", template, "ana,ou=people", "ana-ldap-password", "", federation.ErrInvalidCredentials},
		{"service bind refused", badService, "ana", "ana-ldap-password", "", errOther},
		{"untrusted certificate", untrusted, "ana", "ana-ldap-password", "", errOther},
		{"directory down", federation.LDAPConfig{URL: "ldap://127.0.0.1:1", BindDNTemplate: "uid={user},dc=x"}, "ana", "pw", "", errOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatalf("config: %v", err)
			}
			id, err := tc.cfg.Authenticate(context.Background(), tc.user, tc.pw)
			switch tc.wantErr {
			case nil:
				if err != nil {
					t.Fatalf("authenticate: %v", err)
				}
				if id.Email != tc.wantEmail || !id.EmailVerified || id.Subject == "" || id.Name == "" {
					t.Errorf("identity: %+v", id)
				}
			case errOther:
				if err == nil || errors.Is(err, federation.ErrInvalidCredentials) {
					t.Errorf("err = %v, want an error that is not a wrong password", err)
				}
			default:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			}
		})
	}

	// The subject is stable: the same person by uid and by mail.
	a, err := search.Authenticate(context.Background(), "ana", "ana-ldap-password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := template.Authenticate(context.Background(), "ana", "ana-ldap-password")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != b.Subject {
		t.Errorf("subjects differ between modes: %q vs %q", a.Subject, b.Subject)
	}
}

var errOther = errors.New("any error but a wrong password")

func TestLDAPConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  federation.LDAPConfig
		ok   bool
	}{
		{"template", federation.LDAPConfig{URL: "ldap://h:389", BindDNTemplate: "uid={user},dc=x"}, true},
		{"search", federation.LDAPConfig{URL: "ldaps://h:636", SearchBase: "dc=x", SearchFilter: "(uid={user})", BindDN: "cn=s"}, true},
		{"both modes", federation.LDAPConfig{URL: "ldap://h", BindDNTemplate: "uid={user}", SearchBase: "dc=x", SearchFilter: "(uid={user})", BindDN: "cn=s"}, false},
		{"no mode", federation.LDAPConfig{URL: "ldap://h"}, false},
		{"template without user", federation.LDAPConfig{URL: "ldap://h", BindDNTemplate: "uid=ana"}, false},
		{"filter without user", federation.LDAPConfig{URL: "ldap://h", SearchBase: "dc=x", SearchFilter: "(uid=*)", BindDN: "cn=s"}, false},
		{"search without service", federation.LDAPConfig{URL: "ldap://h", SearchBase: "dc=x", SearchFilter: "(uid={user})"}, false},
		{"http url", federation.LDAPConfig{URL: "http://h", BindDNTemplate: "uid={user}"}, false},
		{"starttls on ldaps", federation.LDAPConfig{URL: "ldaps://h", StartTLS: true, BindDNTemplate: "uid={user}"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
