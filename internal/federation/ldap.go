package federation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig is one directory as the operator registered it. Exactly one
// mode is set: BindDNTemplate ("uid={user},ou=people,dc=example,dc=org"),
// or SearchBase + SearchFilter ("(mail={user})") with the service account
// BindDN / BindPassword that runs the search.
type LDAPConfig struct {
	URL            string // ldap://host:port or ldaps://host:port
	StartTLS       bool
	BindDNTemplate string
	SearchBase     string
	SearchFilter   string
	BindDN         string
	BindPassword   string
	// TLS is the client TLS configuration (nil: system roots, the URL's
	// host as server name).
	TLS     *tls.Config
	Timeout time.Duration // per connection and operation; default 10 s
}

// Validate reports a configuration that cannot work.
func (c LDAPConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return fmt.Errorf("ldap url %q: want ldap://host:port or ldaps://host:port", c.URL)
	}
	if u.Scheme == "ldaps" && c.StartTLS {
		return errors.New("ldap: --starttls is for ldap:// URLs; ldaps:// is TLS already")
	}
	template := c.BindDNTemplate != ""
	search := c.SearchBase != "" || c.SearchFilter != ""
	switch {
	case template == search:
		return errors.New("ldap: give either a bind DN template or a search base and filter")
	case template && !strings.Contains(c.BindDNTemplate, "{user}"):
		return errors.New("ldap: the bind DN template must contain {user}")
	case search && (c.SearchBase == "" || !strings.Contains(c.SearchFilter, "{user}")):
		return errors.New("ldap: search mode needs a search base and a filter containing {user}")
	case search && c.BindDN == "":
		return errors.New("ldap: search mode needs the service bind DN")
	}
	return nil
}

// Authenticate checks username and password by binding as the user's
// entry, and returns what the directory says of it. A wrong password, an
// unknown or ambiguous user and an empty password are ErrInvalidCredentials;
// anything else (the directory unreachable, the service bind refused) is
// another error, so that it never reads as a wrong password.
func (c LDAPConfig) Authenticate(ctx context.Context, username, password string) (Identity, error) {
	// An empty password would be an "unauthenticated bind", which
	// directories answer with success (RFC 4513 §5.1.2).
	if username == "" || password == "" {
		return Identity{}, ErrInvalidCredentials
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer conn.Close()
	attrs := []string{"mail", "cn", "displayName", "entryUUID"}
	var dn string
	if c.BindDNTemplate != "" {
		dn = strings.ReplaceAll(c.BindDNTemplate, "{user}", ldap.EscapeDN(username))
	} else {
		if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
			return Identity{}, fmt.Errorf("ldap service bind as %s: %w", c.BindDN, err)
		}
		filter := strings.ReplaceAll(c.SearchFilter, "{user}", ldap.EscapeFilter(username))
		res, err := conn.Search(ldap.NewSearchRequest(c.SearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			2, int(c.timeout()/time.Second), false, filter, []string{"dn"}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return Identity{}, fmt.Errorf("ldap search: %w", err)
		}
		if err != nil || len(res.Entries) != 1 {
			// Unknown, or more than one entry: no way to tell whose password it is.
			return Identity{}, ErrInvalidCredentials
		}
		dn = res.Entries[0].DN
	}
	if err := conn.Bind(dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) ||
			ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidDNSyntax) {
			return Identity{}, ErrInvalidCredentials
		}
		return Identity{}, fmt.Errorf("ldap bind: %w", err)
	}
	// Read the entry as the user just bound (it may read itself).
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1,
		int(c.timeout()/time.Second), false, "(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		return Identity{}, fmt.Errorf("ldap read of %s: %w", dn, errors.Join(err, errors.New("entry not readable")))
	}
	e := res.Entries[0]
	id := Identity{Subject: e.GetAttributeValue("entryUUID"), Email: e.GetAttributeValue("mail"), EmailVerified: true,
		Name: e.GetAttributeValue("displayName")}
	if id.Subject == "" {
		id.Subject = strings.ToLower(e.DN)
	}
	if id.Name == "" {
		id.Name = e.GetAttributeValue("cn")
	}
	return id, nil
}

func (c LDAPConfig) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 10 * time.Second
	}
	return c.Timeout
}

func (c LDAPConfig) dial(ctx context.Context) (*ldap.Conn, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("ldap url: %w", err)
	}
	tc := c.TLS
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tc = tc.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	d := &net.Dialer{Timeout: c.timeout()}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(c.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("ldap dial %s: %w", u.Host, err)
	}
	conn.SetTimeout(c.timeout())
	if c.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ldap starttls %s: %w", u.Host, err)
		}
	}
	return conn, nil
}
