package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/federation/fedtest"
	"github.com/spaceauth/spaceauth/internal/store"
)

// The federated credentials of SPEC §8 in the credential matrix: a
// completed sign-in at business demo's OpenID provider (the callback's
// state and code, in the browser that started it), and a directory
// password checked by an LDAP bind on the portal form.
const (
	kindOIDC = "OIDC callback (state+code, same browser)"
	kindLDAP = "directory password (LDAP bind)"
	// fedOPAccounts is how many people the lab's provider knows; each
	// OIDC credential uses one of them as a fresh owner.
	fedOPAccounts = 400
	fedPassword   = "a provider passphrase"
)

// labFederation is what newLab connects to business demo: the test OP as
// its own process and a slapd, both real.
type labFederation struct {
	op     *fedtest.OP
	dir    *fedtest.Directory
	oidcID int64
}

func (l *lab) federate(t *testing.T) {
	t.Helper()
	users := make([]fedtest.OPUser, fedOPAccounts)
	for i := range users {
		users[i] = fedtest.OPUser{ID: fmt.Sprintf("op-%d", i), Username: fmt.Sprintf("fed%d", i), Password: fedPassword,
			Email: fmt.Sprintf("fed%d@example.com", i), EmailVerified: true, Name: fmt.Sprintf("Fed %d", i)}
	}
	op := fedtest.StartOP(t, users, l.h.tenant("demo")+"/sso/callback")
	dir := fedtest.StartSlapd(t, "../federation/testdata/directory.ldif")
	ctx := context.Background()
	p, err := l.h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "demo", Kind: store.ProviderOIDC, Name: "Lab OP",
		Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "demo", Kind: store.ProviderLDAP, Name: "Lab directory",
		LDAPURL: dir.LDAPURL, SearchBase: "ou=people,dc=example,dc=org", SearchFilter: "(mail={user})",
		BindDN: dir.ServiceDN, BindPassword: dir.ServicePassword}); err != nil {
		t.Fatal(err)
	}
	l.fed = &labFederation{op: op, dir: dir, oidcID: p.ID}
}

// mintFederated issues kindOIDC or kindLDAP for c (replacing its owner by
// one the provider knows, for kindOIDC).
func (l *lab) mintFederated(t *testing.T, c *cred) error {
	t.Helper()
	switch c.kind {
	case kindOIDC:
		i := int(l.fedN.Add(1)) - 1
		if i >= fedOPAccounts {
			return fmt.Errorf("the lab's provider has no account left (raise fedOPAccounts)")
		}
		u, err := l.h.svc.CreateUser(context.Background(), auth.NewUser{Email: fmt.Sprintf("fed%d@example.com", i),
			Name: fmt.Sprintf("Fed %d", i), Password: pw, BusinessSlugs: []string{"demo"}})
		if err != nil {
			return err
		}
		c.owner = u // a member: providers never link an administrator by email
		b := l.client(t)
		a := send(t, b, "GET", l.demo("sso/"+itoa(l.fed.oidcID)), "", "")
		if a.status != http.StatusFound {
			return fmt.Errorf("provider button: %s", a)
		}
		opc := &http.Client{Jar: b.Jar, Timeout: 20 * time.Second}
		back, err := fedtest.SignIn(opc, a.location, fmt.Sprintf("fed%d", i), fedPassword, l.h.tenant("demo")+"/sso/callback")
		if err != nil {
			return err
		}
		c.secret, c.browser = back.RawQuery, b
	case kindLDAP:
		// A member, not an administrator: a business's directory never
		// links an administrator by email (docs/security.md).
		c.owner = l.user(t, false)
		conn, err := ldap.DialURL(l.fed.dir.LDAPURL)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := conn.Bind("cn=admin,dc=example,dc=org", "admin-secret"); err != nil {
			return err
		}
		uid := fmt.Sprintf("lab%d", l.fedN.Add(1))
		secret := "directory " + uid + " passphrase"
		add := ldap.NewAddRequest("uid="+uid+",ou=people,dc=example,dc=org", nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{uid})
		add.Attribute("cn", []string{c.owner.FullName})
		add.Attribute("sn", []string{"Lab"})
		add.Attribute("mail", []string{c.owner.Email})
		add.Attribute("userPassword", []string{secret})
		if err := conn.Add(add); err != nil {
			return fmt.Errorf("add directory entry: %w", err)
		}
		c.secret = secret
	}
	return nil
}

// oidcCallbackSlot presents a value at the provider's return: a kindOIDC
// credential as the query it came back with, in the browser that started
// the flow; anything else as state and code.
func oidcCallbackSlot() slot {
	return slot{name: "§8 OIDC callback", route: "GET /sso/callback", ok: signedIn,
		send: func(t *testing.T, l *lab, c *cred, s string) answer {
			b := l.client(t)
			if c.kind == kindOIDC && c.browser != nil {
				b = c.browser
			}
			q := s
			if !strings.Contains(s, "state=") {
				q = "state=" + url.QueryEscape(s) + "&code=" + url.QueryEscape(s)
			}
			return send(t, b, "GET", l.h.tenant("demo")+"/sso/callback?"+q, "", "")
		}}
}
