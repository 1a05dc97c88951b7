package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spaceauth/spaceauth/internal/mail/compose"
	"github.com/spaceauth/spaceauth/internal/passkey"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// Hasher hashes and verifies passwords (password.Hasher).
type Hasher interface {
	Hash(password string) (string, error)
	Verify(password, encoded string) (ok, needsRehash bool, err error)
	VerifyDummy(password string)
	// Recognize reports whether encoded is a hash format Verify can check.
	Recognize(encoded string) error
	// Prefix starts every hash Hash writes; CostClass names what verifying
	// encoded costs ("" when unreadable). Both serve the timing floor.
	Prefix() string
	CostClass(encoded string) string
}

// Policy decides whether a new password is acceptable (password.Policy).
type Policy interface {
	Check(password, email string) error
}

// Tokens issues and verifies access tokens (token.Issuer).
type Tokens interface {
	Issue(ctx context.Context, c token.Claims, validity time.Duration) (string, token.Claims, error)
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// Composer renders localized emails (compose.Composer).
type Composer interface {
	Reset(lang, businessName, userName, link string, ttl time.Duration) (compose.Message, error)
	PasswordChanged(lang, businessName, userName, loginURL string, at time.Time) (compose.Message, error)
	SignInCode(lang, businessName, userName, code, link string, ttl time.Duration) (compose.Message, error)
}

// Options are the settings of a Service.
type Options struct {
	BaseDomain      string
	PublicURL       string // scheme and port of links sent out
	DefaultValidity time.Duration
	MaxValidity     time.Duration
	ResetTTL        time.Duration
	SessionTTL      time.Duration
	// HashSlots bounds concurrent hashing (default: the CPUs); HashQueue
	// bounds callers waiting for a slot (default: 16 per slot).
	HashSlots int
	HashQueue int
	Clock     func() time.Time
	Logger    *slog.Logger
	// MailQueued is called after a transaction queued mail (wakes the worker).
	MailQueued func()
	// Throttle is the lockout policy; zero means DefaultThrottlePolicy.
	Throttle ThrottlePolicy
	// Event is told the type of every audited event (metrics).
	Event func(eventType string)
	// TOTPSealer seals TOTP secrets at rest (nil: stored as they are).
	TOTPSealer *token.SecretSealer
	// KeyEncryption seals identity providers' secrets at rest (SPEC §8).
	KeyEncryption string
	// FederationClient makes the requests to OpenID providers (default: a
	// client with a 10 s timeout).
	FederationClient *http.Client
	// LDAPTLS is the TLS configuration for directories (nil: system roots).
	LDAPTLS *tls.Config
}

// Service is the domain. It is safe for concurrent use.
type Service struct {
	// Storage, per concern (stores.go).
	tx         Transactor
	users      UserStore
	businesses BusinessStore
	revocable  TokenStore
	sessions   SessionStore
	steps      SecondStepStore
	throttles  ThrottleStore
	audits     AuditLog
	federation FederationStore
	hasher     Hasher
	policy     Policy
	tokens     Tokens
	composer   Composer
	opts       Options
	scheme     string
	port       string
	pool       *hashPool
	throttle   ThrottlePolicy
	now        func() time.Time
	log        *slog.Logger
	cache      *stateCache
	passkeys   *passkey.Verifier
	passkeyDB  PasskeyStore
	// ceremonies counts begun passkey ceremonies (for the sweep of
	// expired challenges).
	ceremonies atomic.Uint64
	// begun holds the sign-in challenges this process stored, so that
	// their finish need not read them back (the database still decides
	// their single use).
	begun    *begunChallenges
	hashCost hashCost
	// Known and unknown emails cost the same on these requests.
	codeFloor, resetFloor workFloor
	rps                   *rpCache
}

// New builds a Service.
func New(st Store, h Hasher, p Policy, t Tokens, c Composer, o Options) (*Service, error) {
	u, err := url.Parse(o.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("auth: public URL %q: must be absolute", o.PublicURL)
	}
	if o.DefaultValidity <= 0 {
		o.DefaultValidity = 30 * time.Minute
	}
	if o.MaxValidity <= 0 {
		o.MaxValidity = 10080 * time.Minute
	}
	if o.ResetTTL <= 0 {
		o.ResetTTL = time.Hour
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 14 * 24 * time.Hour
	}
	if o.HashSlots <= 0 {
		o.HashSlots = runtime.NumCPU()
	}
	if o.HashQueue <= 0 {
		o.HashQueue = 16 * o.HashSlots
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MailQueued == nil {
		o.MailQueued = func() {}
	}
	if o.Event == nil {
		o.Event = func(string) {}
	}
	if o.FederationClient == nil {
		o.FederationClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Throttle == (ThrottlePolicy{}) {
		o.Throttle = DefaultThrottlePolicy()
	}
	o.BaseDomain = strings.ToLower(strings.Trim(o.BaseDomain, "."))
	return &Service{
		tx: st, users: st, businesses: st, revocable: st, sessions: st, steps: st, throttles: st, audits: st, federation: st,
		hasher: h, policy: p, tokens: t, composer: c, opts: o,
		scheme: u.Scheme, port: u.Port(),
		pool: newHashPool(o.HashSlots, o.HashQueue), throttle: o.Throttle,
		now: o.Clock, log: o.Logger, cache: newStateCache(st),
		passkeys: passkey.NewVerifier(passkeyCeremonyTTL), passkeyDB: st, begun: newBegunChallenges(),
		rps: newRPCache(o.Clock),
	}, nil
}

// Client describes who made a request, for throttling and the audit log.
type Client struct {
	IP        string
	UserAgent string
	// Browser is a secret the browser holds (the portal's CSRF cookie): a
	// half-done portal sign-in is bound to it, so its step token is worth
	// nothing in another browser. Empty outside the portal form.
	Browser string
}

// Validity turns a requested number of minutes into a token life: 0 means
// the default, anything above the maximum is clamped. Callers reject < 0.
func (s *Service) Validity(minutes int64) time.Duration {
	if minutes <= 0 {
		return s.opts.DefaultValidity
	}
	maxMin := int64(s.opts.MaxValidity / time.Minute)
	if minutes > maxMin {
		return s.opts.MaxValidity
	}
	return time.Duration(minutes) * time.Minute
}

// TenantURL is the portal origin of business b: its custom domain or
// {slug}.{base-domain}, with the public URL's scheme and port.
func (s *Service) TenantURL(b store.Business) string {
	host := b.Domain
	if host == "" {
		host = b.Slug + "." + s.opts.BaseDomain
	}
	if s.port != "" {
		host += ":" + s.port
	}
	return s.scheme + "://" + host
}

// BusinessForHost resolves a Host header (port ignored, case-insensitive) to
// a business: {slug}.{base-domain} or a custom domain.
func (s *Service) BusinessForHost(ctx context.Context, host string) (store.Business, error) {
	host = strings.ToLower(strings.TrimSuffix(stripPort(host), "."))
	if host == "" {
		return store.Business{}, ErrNotFound
	}
	view := s.cache.view(ctx)
	if slug, ok := strings.CutSuffix(host, "."+s.opts.BaseDomain); ok && slug != "" && !strings.Contains(slug, ".") {
		b, err := view.businessBySlug(ctx, slug)
		if err == nil {
			return b, nil
		}
		if !isNotFound(err) {
			return store.Business{}, fmt.Errorf("business for host: %w", err)
		}
	}
	b, err := view.businessByDomain(ctx, host)
	if err != nil {
		return store.Business{}, lookupErr(err, "business for host")
	}
	return b, nil
}

func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.Index(host, "]"); i > 0 {
			return host[1:i]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		return host[:i]
	}
	return host
}

// audit records a security event. Its error is the caller's to act on: an
// event that cannot be written refuses what it records (SPEC §6 "Fail
// closed"); inside a transaction, returning it rolls the change back.
// auditSignIn records that u signed in to business by method and was given
// the token jti (actorID: the operator acting as u, 0 if none); q is the
// transaction to write in, nil for none.
func (s *Service) auditSignIn(ctx context.Context, q store.Queries, u store.User, business, actorID int64, method, jti string, c Client) error {
	return s.audit(ctx, q, signInEvent(u, business, actorID, method, jti), c)
}

// signInEvent is the event auditSignIn records.
func signInEvent(u store.User, business, actorID int64, method, jti string) store.AuditEvent {
	return store.AuditEvent{Type: "signin.success", UserID: u.ID, BusinessID: business, ActorID: actorID,
		Detail: `{"method":"` + method + `","jti":"` + jti + `"}`}
}

// auditRecord is e as audit stores it: stamped now, with c's address and
// user agent.
func (s *Service) auditRecord(e store.AuditEvent, c Client) store.AuditEvent {
	e.At = s.now().UTC()
	e.ClientIP, e.UserAgent = c.IP, truncate(c.UserAgent, 512)
	return e
}

func (s *Service) audit(ctx context.Context, q store.Queries, e store.AuditEvent, c Client) error {
	e = s.auditRecord(e, c)
	var w AuditLog = s.audits
	if q != nil {
		w = q
	}
	if err := w.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "type", e.Type, "err", err)
		return fmt.Errorf("audit %s: %w", e.Type, err)
	}
	s.opts.Event(e.Type)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// newSecret returns 32 random bytes, base64url, and the SHA-256 of that text
// (what the store keeps).
func newSecret() (raw string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random: %w", err)
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, secretHash(raw), nil
}

// secretHash is a plain SHA-256: the secrets are 256 random bits, so a slow
// hash adds nothing, and lookups by hash are constant-time by construction
// (the attacker never chooses what is compared byte by byte).
func secretHash(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// HashQueue is the number of callers waiting for a hashing slot.
func (s *Service) HashQueue() int64 { return s.pool.Queued() }

// HashSlots is the number of passwords hashed at once, at most: with the
// hasher's memory cost, the process's working set for hashing.
func (s *Service) HashSlots() int { return s.pool.slots() }
