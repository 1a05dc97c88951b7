package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spaceauth/spaceauth/internal/federation"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// NewProvider is an identity provider to connect to a business (SPEC §8).
type NewProvider struct {
	BusinessSlug string
	Kind         string // store.ProviderOIDC or store.ProviderLDAP
	Name         string
	// OpenID Connect
	Issuer       string
	ClientID     string
	ClientSecret string
	LogoutURL    string
	// LDAP
	LDAPURL        string
	StartTLS       bool
	BindDNTemplate string
	SearchBase     string
	SearchFilter   string
	BindDN         string
	BindPassword   string
	// Options
	CreateUsers       bool
	NoMemberPasswords bool
	NoAdminPasswords  bool
}

// AddProvider validates and stores a provider, its secret sealed with the
// key-encryption key when one is configured.
func (s *Service) AddProvider(ctx context.Context, np NewProvider) (store.Provider, error) {
	b, err := s.businesses.BusinessBySlug(ctx, strings.ToLower(strings.TrimSpace(np.BusinessSlug)))
	if isNotFound(err) {
		return store.Provider{}, ErrUnknownBusiness
	}
	if err != nil {
		return store.Provider{}, fmt.Errorf("add provider: %w", err)
	}
	p := store.Provider{BusinessID: b.ID, Kind: np.Kind, Name: strings.TrimSpace(np.Name),
		CreateUsers: np.CreateUsers, NoMemberPasswords: np.NoMemberPasswords, NoAdminPasswords: np.NoAdminPasswords,
		CreatedAt: s.now().UTC()}
	fe := FieldErrors{}
	if p.Name == "" || len(p.Name) > 100 || hasControl(p.Name) {
		fe.Add("name", "a name is 1-100 characters without control characters")
	}
	var secret string
	switch np.Kind {
	case store.ProviderOIDC:
		p.Issuer, p.ClientID, p.LogoutURL = strings.TrimSpace(np.Issuer), strings.TrimSpace(np.ClientID), strings.TrimSpace(np.LogoutURL)
		if !httpURL(p.Issuer, false) {
			fe.Add("issuer", "the issuer is an https URL (http only for localhost)")
		}
		if p.ClientID == "" {
			fe.Add("client-id", "a client id is required")
		}
		if np.ClientSecret == "" {
			fe.Add("client-secret", "a client secret is required")
		}
		if p.LogoutURL != "" && !httpURL(p.LogoutURL, true) {
			fe.Add("logout-url", "the logout URL is an absolute http(s) URL")
		}
		secret = np.ClientSecret
	case store.ProviderLDAP:
		p.LDAPURL, p.StartTLS, p.BindDNTemplate = strings.TrimSpace(np.LDAPURL), np.StartTLS, np.BindDNTemplate
		p.SearchBase, p.SearchFilter, p.BindDN = np.SearchBase, np.SearchFilter, np.BindDN
		cfg := federation.LDAPConfig{URL: p.LDAPURL, StartTLS: p.StartTLS, BindDNTemplate: p.BindDNTemplate,
			SearchBase: p.SearchBase, SearchFilter: p.SearchFilter, BindDN: p.BindDN}
		if err := cfg.Validate(); err != nil {
			fe.Add("url", err.Error())
		}
		if p.BindDN != "" && np.BindPassword == "" {
			fe.Add("bind-password", "the service bind password is required with a bind DN")
		}
		secret = np.BindPassword
	default:
		fe.Add("kind", "a provider is oidc or ldap")
	}
	if len(fe) > 0 {
		return store.Provider{}, fe
	}
	p.Secret = []byte(secret)
	if s.opts.KeyEncryption != "" && secret != "" {
		sealed, err := token.SealSecret(s.opts.KeyEncryption, []byte(secret), providerAAD(p))
		if err != nil {
			return store.Provider{}, fmt.Errorf("add provider: %w", err)
		}
		p.Secret, p.Sealed = sealed, true
	}
	if err := s.federation.CreateProvider(ctx, &p); err != nil {
		return store.Provider{}, fmt.Errorf("add provider: %w", err)
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "sso.provider_added", BusinessID: b.ID,
		Detail: fmt.Sprintf(`{"provider":%d,"kind":%q}`, p.ID, p.Kind)}, Client{}); err != nil {
		return store.Provider{}, err
	}
	return p, nil
}

// ListProviders lists the providers of the business with slug (every
// business when slug is empty).
func (s *Service) ListProviders(ctx context.Context, slug string) ([]store.Provider, error) {
	var id int64
	if slug != "" {
		b, err := s.businesses.BusinessBySlug(ctx, strings.ToLower(slug))
		if isNotFound(err) {
			return nil, ErrUnknownBusiness
		}
		if err != nil {
			return nil, fmt.Errorf("list providers: %w", err)
		}
		id = b.ID
	}
	list, err := s.federation.ListProviders(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	return list, nil
}

// RemoveProvider disconnects a provider; its links to users go with it.
func (s *Service) RemoveProvider(ctx context.Context, id int64) error {
	p, err := s.federation.ProviderByID(ctx, id)
	if err != nil {
		return lookupErr(err, "remove provider")
	}
	if err := s.federation.DeleteProvider(ctx, id); err != nil {
		if isNotFound(err) {
			return ErrNotFound
		}
		return fmt.Errorf("remove provider: %w", err)
	}
	return s.audit(ctx, nil, store.AuditEvent{Type: "sso.provider_removed", BusinessID: p.BusinessID,
		Detail: fmt.Sprintf(`{"provider":%d}`, id)}, Client{})
}

// SSORedirectURI is the redirect URI to register at an OpenID provider of
// business b: the tenant host, language-free.
func (s *Service) SSORedirectURI(b store.Business) string { return s.TenantURL(b) + ssoCallbackPath }

// ssoCallbackPath is where providers send the browser back.
const ssoCallbackPath = "/sso/callback"

// providerAAD binds a sealed secret to its provider's business and
// endpoint, so that a blob copied to another row does not open.
func providerAAD(p store.Provider) string {
	return "sso-provider:" + strconv.FormatInt(p.BusinessID, 10) + ":" + p.Kind + ":" + p.Issuer + p.LDAPURL
}

// providerSecret returns p's client secret or bind password in clear.
func (s *Service) providerSecret(p store.Provider) (string, error) {
	if !p.Sealed {
		return string(p.Secret), nil
	}
	if s.opts.KeyEncryption == "" {
		return "", errors.New("provider secret is sealed and no --key-encryption-key is configured")
	}
	plain, err := token.OpenSecret(s.opts.KeyEncryption, p.Secret, providerAAD(p))
	if err != nil {
		return "", fmt.Errorf("provider %d secret: %w", p.ID, err)
	}
	return string(plain), nil
}

func httpURL(raw string, allowHTTP bool) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	h := u.Hostname()
	loopback := h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasSuffix(h, ".localhost")
	return u.Scheme == "https" || u.Scheme == "http" && (allowHTTP || loopback)
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
