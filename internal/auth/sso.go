package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/spaceauth/spaceauth/internal/federation"
	"github.com/spaceauth/spaceauth/internal/store"
)

// ErrSSOFailed is every refused federated sign-in: an unknown, replayed,
// expired or foreign state, a flow started in another browser, an ID token
// that fails a check, or an identity the linking rules refuse. The reason
// goes to the audit log, not to the browser.
var ErrSSOFailed = errors.New("auth: federated sign-in failed")

// ssoFlowTTL bounds the time between the provider button and the callback.
const ssoFlowTTL = 10 * time.Minute

// SSOButton is one OpenID provider offered on a business's sign-in page.
type SSOButton struct {
	ID   int64
	Name string
}

// SSOButtons lists the OpenID providers of business b.
func (s *Service) SSOButtons(ctx context.Context, b store.Business) ([]SSOButton, error) {
	list, err := s.federation.ListProviders(ctx, b.ID)
	if err != nil {
		return nil, fmt.Errorf("sso buttons: %w", err)
	}
	var out []SSOButton
	for _, p := range list {
		if p.Kind == store.ProviderOIDC {
			out = append(out, SSOButton{ID: p.ID, Name: p.Name})
		}
	}
	return out, nil
}

// SSOStart is the input of BeginSSO. RedirectURL has passed the caller's
// same-site check; ProviderID is as it arrived in the path.
type SSOStart struct {
	Business    store.Business
	ProviderID  string
	RedirectURL string
	Lang        string
	Client      Client
}

// BeginSSO starts an authorization code flow at one of b's OpenID
// providers. It keeps state (as a hash), nonce and PKCE verifier on the
// server, and returns the provider URL to send the browser to and a binding
// secret for a cookie: the callback is honoured only in the browser that
// holds it.
func (s *Service) BeginSSO(ctx context.Context, in SSOStart) (authURL, binding string, err error) {
	p, err := s.businessProvider(ctx, in.Business, in.ProviderID, store.ProviderOIDC)
	if err != nil {
		return "", "", err
	}
	if err := s.countSSOStart(ctx, in.Client); err != nil {
		return "", "", err
	}
	rp, err := s.relyingParty(ctx, in.Business, p)
	if err != nil {
		return "", "", err
	}
	state, stateHash, err := newSecret()
	if err != nil {
		return "", "", err
	}
	binding, bindingHash, err := newSecret()
	if err != nil {
		return "", "", err
	}
	nonce, _, err := newSecret()
	if err != nil {
		return "", "", err
	}
	verifier := oauth2.GenerateVerifier()
	now := s.now().UTC()
	err = s.federation.CreateOIDCFlow(ctx, store.OIDCFlow{StateHash: stateHash, ProviderID: p.ID, BindingHash: bindingHash,
		Nonce: nonce, Verifier: verifier, RedirectURL: in.RedirectURL, Language: in.Lang,
		CreatedAt: now, ExpiresAt: now.Add(ssoFlowTTL)})
	if err != nil {
		return "", "", fmt.Errorf("begin sso: %w", err)
	}
	return rp.AuthCodeURL(state, nonce, verifier), binding, nil
}

// SSOCallback is what the provider sent the browser back with.
type SSOCallback struct {
	Business store.Business
	State    string
	Code     string
	Error    string // the provider's error parameter
	Binding  string // the cookie set by BeginSSO
	Client   Client
}

// SSOResult is a completed federated sign-in.
type SSOResult struct {
	Cookie      string
	Session     PortalSession
	RedirectURL string // as given to BeginSSO
	Lang        string
}

// CompleteSSO finishes a flow: the state is spent (once, whatever races),
// must be unexpired, of a provider of this business, and bound to this
// browser; the code is exchanged with the PKCE verifier; the ID token is
// verified with the flow's nonce; the identity is matched or linked by
// SPEC §8's rules; a portal session is opened like any sign-in.
func (s *Service) CompleteSSO(ctx context.Context, in SSOCallback) (SSOResult, error) {
	refuse := func(userID, providerID int64, reason string) (SSOResult, error) {
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "sso.refused", UserID: userID, BusinessID: in.Business.ID,
			Detail: refusalDetail(providerID, reason)}, in.Client); err != nil {
			return SSOResult{}, err
		}
		return SSOResult{}, ErrSSOFailed
	}
	if in.State == "" || len(in.State) > 256 {
		return refuse(0, 0, "no_state")
	}
	flow, ok, err := s.federation.SpendOIDCFlow(ctx, secretHash(in.State), s.now().UTC())
	if err != nil {
		return SSOResult{}, fmt.Errorf("complete sso: %w", err)
	}
	if !ok {
		return refuse(0, 0, "state_unknown_or_replayed")
	}
	if !s.now().Before(flow.ExpiresAt) {
		return refuse(0, flow.ProviderID, "state_expired")
	}
	if in.Binding == "" || subtle.ConstantTimeCompare(secretHash(in.Binding), flow.BindingHash) != 1 {
		return refuse(0, flow.ProviderID, "other_browser")
	}
	p, err := s.federation.ProviderByID(ctx, flow.ProviderID)
	if isNotFound(err) {
		return refuse(0, flow.ProviderID, "provider_removed")
	}
	if err != nil {
		return SSOResult{}, fmt.Errorf("complete sso: %w", err)
	}
	if p.BusinessID != in.Business.ID {
		return refuse(0, p.ID, "provider_of_another_business")
	}
	if in.Error != "" || in.Code == "" {
		return refuse(0, p.ID, "provider_error:"+truncate(in.Error, 64))
	}
	rp, err := s.relyingParty(ctx, in.Business, p)
	if err != nil {
		return SSOResult{}, err
	}
	id, err := rp.Exchange(ctx, in.Code, flow.Verifier, flow.Nonce)
	if errors.Is(err, federation.ErrInvalidToken) {
		s.log.WarnContext(ctx, "federated sign-in refused", "provider", p.ID, "err", err)
		return refuse(0, p.ID, "invalid_id_token")
	}
	if err != nil {
		return SSOResult{}, fmt.Errorf("complete sso: %w: %w", ErrProviderUnavailable, err)
	}
	u, reason, err := s.federatedUser(ctx, in.Business, p, id, in.Client)
	if err != nil {
		return SSOResult{}, err
	}
	if reason != "" {
		return refuse(u.ID, p.ID, reason)
	}
	sess, cookie, err := s.openSession(ctx, u, in.Business, in.Client, 0, nil, "sso")
	if err != nil {
		return SSOResult{}, err
	}
	// The logout URL is a convenience: a failure to remember it is logged,
	// and the sign-in stands.
	if err := s.federation.MarkSessionProvider(ctx, sess.ID, p.ID); err != nil {
		s.log.WarnContext(ctx, "remembering the session's provider failed", "err", err)
	}
	// The cookie is handed out only once the sign-in is on record.
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "signin.success", UserID: u.ID, BusinessID: in.Business.ID,
		Detail: fmt.Sprintf(`{"method":"oidc","provider":%d}`, p.ID)}, in.Client); err != nil {
		return SSOResult{}, err
	}
	return SSOResult{Cookie: cookie, Session: PortalSession{Session: sess, User: u}, RedirectURL: flow.RedirectURL, Lang: flow.Language}, nil
}

// ErrProviderUnavailable is an identity provider that could not be reached
// or answered nonsense: a fault, not a refusal of the person.
var ErrProviderUnavailable = errors.New("auth: identity provider unavailable")

// SSOLogoutURL is the logout URL of the provider session sessionID was
// opened through, or "".
func (s *Service) SSOLogoutURL(ctx context.Context, sessionID int64) string {
	p, err := s.federation.SessionProvider(ctx, sessionID)
	if err != nil {
		if !isNotFound(err) {
			s.log.WarnContext(ctx, "session provider lookup failed", "err", err)
		}
		return ""
	}
	return p.LogoutURL
}

// businessProvider loads provider rawID of kind, refusing one of another
// business as not found.
func (s *Service) businessProvider(ctx context.Context, b store.Business, rawID, kind string) (store.Provider, error) {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || id <= 0 {
		return store.Provider{}, ErrNotFound
	}
	p, err := s.federation.ProviderByID(ctx, id)
	if err != nil {
		return store.Provider{}, lookupErr(err, "provider")
	}
	if p.BusinessID != b.ID || p.Kind != kind {
		return store.Provider{}, ErrNotFound
	}
	return p, nil
}

// federatedUser applies SPEC §8's linking rules to a verified identity. A
// non-empty reason is a refusal (u may be set for the audit log).
func (s *Service) federatedUser(ctx context.Context, b store.Business, p store.Provider, id federation.Identity, c Client) (u store.User, reason string, err error) {
	link, err := s.federation.IdentityBySubject(ctx, p.ID, id.Subject)
	switch {
	case err == nil:
		u, err = s.users.UserByID(ctx, link.UserID)
		if err != nil {
			return store.User{}, "", fmt.Errorf("federated user: %w", err)
		}
		if err := s.federation.TouchIdentity(ctx, p.ID, id.Subject, s.now().UTC()); err != nil {
			return store.User{}, "", fmt.Errorf("federated user: %w", err)
		}
		return s.admit(u, b)
	case !isNotFound(err):
		return store.User{}, "", fmt.Errorf("federated user: %w", err)
	}
	// First sign-in with this provider.
	email := strings.TrimSpace(id.Email)
	if email == "" || !ValidEmail(email) {
		return store.User{}, "no_email", nil
	}
	existing, err := s.users.UserByEmail(ctx, email)
	found := err == nil
	if err != nil && !isNotFound(err) {
		return store.User{}, "", fmt.Errorf("federated user: %w", err)
	}
	if !id.EmailVerified {
		// Never link, and never create an account that claims the address.
		if found {
			return existing, "email_unverified_matches_user", nil
		}
		return store.User{}, "email_unverified", nil
	}
	now := s.now().UTC()
	if found {
		if !existing.Active {
			return existing, "disabled", nil
		}
		if existing.MustReset {
			// Only a reset opens the account again (SPEC §6).
			return existing, "must_reset", nil
		}
		// A business's provider vouches for that business's people only:
		// an account is global, so linking a member of another business,
		// or an administrator of all of them, would let one business's
		// identity provider take over an account it does not own.
		if existing.IsAdmin {
			return existing, "administrator_not_linked_by_email", nil
		}
		if !existing.InBusiness(b.ID) {
			return existing, "no_profile", nil
		}
		err = s.tx.InTx(ctx, func(q store.Queries) error {
			if err := q.LinkIdentity(ctx, store.FederatedIdentity{ProviderID: p.ID, Subject: id.Subject, UserID: existing.ID,
				Email: email, CreatedAt: now, LastUsedAt: now}); err != nil {
				return err
			}
			return s.audit(ctx, q, store.AuditEvent{Type: "sso.linked", UserID: existing.ID, BusinessID: b.ID,
				Detail: fmt.Sprintf(`{"provider":%d}`, p.ID)}, c)
		})
		if errors.Is(err, store.ErrConflict) {
			// A concurrent first sign-in linked it: use that link.
			return s.federatedUser(ctx, b, p, id, c)
		}
		if err != nil {
			return store.User{}, "", fmt.Errorf("link identity: %w", err)
		}
		return existing, "", nil
	}
	if !p.CreateUsers {
		return store.User{}, "unknown_user", nil
	}
	u, err = s.createFederatedUser(ctx, b, p, id, email, c)
	if errors.Is(err, store.ErrConflict) {
		return s.federatedUser(ctx, b, p, id, c)
	}
	if err != nil {
		return store.User{}, "", err
	}
	return u, "", nil
}

// createFederatedUser makes a member of b for a first sign-in. Its
// password is random and never told: it signs in through the provider, or
// sets a password with a reset.
func (s *Service) createFederatedUser(ctx context.Context, b store.Business, p store.Provider, id federation.Identity, email string, c Client) (store.User, error) {
	raw, _, err := newSecret()
	if err != nil {
		return store.User{}, err
	}
	var hash string
	var herr error
	if err := s.pool.do(ctx, false, func() { hash, herr = s.hasher.Hash(raw) }); err != nil {
		return store.User{}, err
	}
	if herr != nil {
		return store.User{}, fmt.Errorf("create federated user: %w", herr)
	}
	name := strings.TrimSpace(id.Name)
	if name == "" || hasControl(name) || len(name) > 200 {
		name = email
	}
	now := s.now().UTC()
	u := store.User{Email: email, FullName: name, PasswordHash: hash, Active: true, Language: b.Language,
		DefaultBusinessID: b.ID, BusinessIDs: []int64{b.ID}, CreatedAt: now, UpdatedAt: now}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateUser(ctx, &u); err != nil {
			return err
		}
		if err := q.LinkIdentity(ctx, store.FederatedIdentity{ProviderID: p.ID, Subject: id.Subject, UserID: u.ID,
			Email: email, CreatedAt: now, LastUsedAt: now}); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "sso.user_created", UserID: u.ID, BusinessID: b.ID,
			Detail: fmt.Sprintf(`{"provider":%d}`, p.ID)}, c)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("create federated user: %w", err)
	}
	return u, nil
}

// admit checks a linked user may enter b's portal.
func (s *Service) admit(u store.User, b store.Business) (store.User, string, error) {
	switch {
	case !u.Active:
		return u, "disabled", nil
	case u.MustReset:
		return u, "must_reset", nil
	case !u.IsAdmin && !u.InBusiness(b.ID):
		return u, "no_profile", nil
	}
	return u, "", nil
}

// relyingParty returns the discovered OpenID provider p, from the cache
// while its settings are unchanged.
func (s *Service) relyingParty(ctx context.Context, b store.Business, p store.Provider) (*federation.OIDC, error) {
	secret, err := s.providerSecret(p)
	if err != nil {
		return nil, err
	}
	cfg := federation.OIDCConfig{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret, RedirectURL: s.SSORedirectURI(b)}
	return s.rps.get(ctx, p.ID, cfg, func(ctx context.Context) (*federation.OIDC, error) {
		rp, err := federation.Discover(ctx, s.opts.FederationClient, cfg, s.now)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
		}
		return rp, nil
	})
}

// rpCache keeps discovered providers for an hour, keyed by provider id and
// checked against its settings (a changed secret or issuer discovers anew).
type rpCache struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[int64]rpEntry
}

type rpEntry struct {
	key [32]byte
	rp  *federation.OIDC
	at  time.Time
}

func newRPCache(now func() time.Time) *rpCache { return &rpCache{now: now, m: map[int64]rpEntry{}} }

func (c *rpCache) get(ctx context.Context, id int64, cfg federation.OIDCConfig, discover func(context.Context) (*federation.OIDC, error)) (*federation.OIDC, error) {
	key := sha256.Sum256([]byte(cfg.Issuer + "\x00" + cfg.ClientID + "\x00" + cfg.ClientSecret + "\x00" + cfg.RedirectURL))
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && e.key == key && c.now().Sub(e.at) < time.Hour {
		return e.rp, nil
	}
	rp, err := discover(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[id] = rpEntry{key: key, rp: rp, at: c.now()}
	c.mu.Unlock()
	return rp, nil
}

// ssoStartsPerAddress bounds the flows one client address may start in
// ssoFlowTTL: each is a row written for an unauthenticated request.
const ssoStartsPerAddress = 30

func (s *Service) countSSOStart(ctx context.Context, c Client) error {
	if c.IP == "" {
		return nil
	}
	st, err := s.throttles.ThrottleHit(ctx, "sso:start:addr:"+c.IP, s.now(), ssoFlowTTL)
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	if st.Count > ssoStartsPerAddress {
		return &RateLimited{RetryAfter: max(time.Second, st.LastAt.Add(ssoFlowTTL).Sub(s.now()))}
	}
	return nil
}

// refusalDetail is the audit detail of a refused federated sign-in; the
// reason may carry the provider's error parameter, so it is JSON-encoded.
func refusalDetail(providerID int64, reason string) string {
	b, _ := json.Marshal(struct {
		Provider int64  `json:"provider"`
		Reason   string `json:"reason"`
	}{providerID, reason})
	return string(b)
}
