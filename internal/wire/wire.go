// Package wire builds the application from its settings: the store, the
// signing keys, the hasher, the mail composer, the domain service and the
// HTTP surface. It is the one place where the parts meet; the binary and
// every test that needs a whole service (the HTTP harness, the timing and
// cache tests of auth) use it, so a new part is wired once.
//
// wire belongs to the command layer of ../shared/ARCHITECTURE.md: it is the
// only package besides cmd/spaceauth that imports httpapi, and nothing but
// cmd and tests imports it.
package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/httpapi"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/mail/compose"
	"github.com/spaceauth/spaceauth/internal/metrics"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/prune"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/token"
)

// The store satisfies every concern auth declares (auth/stores.go).
var _ auth.Store = (*sqlstore.Store)(nil)

// KeyUse says what a command does with the signing keys.
type KeyUse int

const (
	// KeysSign probes that the database takes writes, then loads the keys
	// and creates the first one (sealed when a key-encryption key is given)
	// when none signs: serve, demo and tests that issue tokens.
	KeysSign KeyUse = iota
	// KeysAdmin is for commands that never sign (user and business
	// administration, keys rotate/list): no key is created, so a command
	// run before the first serve cannot make the first key unsealed while
	// the server has a key-encryption key (issue #18.5). A given
	// key-encryption key is proven against the stored keys, so a wrong one
	// is reported instead of ignored.
	KeysAdmin
)

// Config is the service's settings plus the knobs tests turn. The zero
// value of every knob is what the binary runs with.
type Config struct {
	config.Config

	Logger *slog.Logger // nil: discard
	Keys   KeyUse
	// Clock replaces time.Now everywhere (store, keys, tokens, domain).
	Clock func() time.Time
	// HashParams replaces the production Argon2id parameters (tests only:
	// cheap parameters keep the suite fast).
	HashParams *password.Params
	// WrapHasher, when set, wraps the real hasher (to hold a sign-in
	// between its user read and its credentials).
	WrapHasher func(auth.Hasher) auth.Hasher
	// HashSlots sizes the hashing pool (0: the CPUs).
	HashSlots int
	// Throttle replaces the default lockout policy when set.
	Throttle auth.ThrottlePolicy
	// SecureCookies serves as behind https (Secure cookies, HSTS) even when
	// the public URL is http; an https public URL always does.
	SecureCookies bool
	// KEKForTOTPOnly leaves the signing keys unsealed while the
	// key-encryption key seals TOTP secrets, so that a test can start a
	// process without the key on the same database and show that the
	// sealed secrets open nothing there.
	KEKForTOTPOnly bool
	// LDAPTLS replaces the TLS settings for directories (tests: trust the
	// test directory's certificate); nil: --ldap-ca-file, or the system roots.
	LDAPTLS *tls.Config
}

// App is the wired service.
type App struct {
	Config  Config
	Log     *slog.Logger
	Store   *sqlstore.Store
	Ring    *token.Ring
	Catalog *i18n.Catalog
	Auth    *auth.Service
	Metrics *metrics.Metrics
	queued  atomic.Pointer[func()]
	// hashParams are the hasher's costs (HashingMemory).
	hashParams password.Params
}

// HashingMemory is the memory password hashing can hold at once: one
// Argon2id buffer per hashing slot.
func (a *App) HashingMemory() int64 {
	return int64(a.Auth.HashSlots()) * int64(a.hashParams.Memory) << 10
}

// Open opens the database (applying migrations), prepares the signing keys
// as c.Keys says and builds the domain.
func Open(ctx context.Context, c Config) (*App, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := sqlstore.Open(ctx, c.DB, sqlstore.Options{Logger: c.Logger, Clock: c.Clock})
	if err != nil {
		return nil, err
	}
	if c.Keys == KeysSign {
		// A database that reads but refuses writes would serve failing
		// sign-ins and a stuck outbox: refuse to start on it (issue #11.6),
		// before anything (the first key) tries to write.
		if err := st.ProbeWrite(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("the database %s does not take writes (read-only file or mount, full disk?): %w", RedactDB(c.DB), err)
		}
	}
	a := &App{Config: c, Log: c.Logger, Store: st, Metrics: metrics.New()}
	if err := a.build(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	c := a.Config
	now := c.Clock
	if now == nil {
		now = time.Now
	}
	ringKEK := c.KeyEncryption
	if c.KEKForTOTPOnly {
		ringKEK = ""
	}
	a.Ring = token.NewRing(a.Store, token.RingOptions{Alg: c.SigningAlg, KEK: ringKEK, MaxTokenLife: c.MaxValidity, Clock: c.Clock})
	switch {
	case c.Keys == KeysSign:
		if err := a.Ring.EnsureKey(ctx); err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
	case ringKEK != "":
		if err := a.Ring.ProveKEK(ctx); err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
	}
	cat, err := i18n.New()
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	a.Catalog = cat
	comp, err := compose.New(cat)
	if err != nil {
		return fmt.Errorf("mail templates: %w", err)
	}
	policy, err := password.NewPolicy()
	if err != nil {
		return fmt.Errorf("password policy: %w", err)
	}
	params := password.DefaultParams()
	if c.HashParams != nil {
		params = *c.HashParams
	}
	ph := password.NewHasher(params)
	a.hashParams = ph.Params() // with NewHasher's defaults filled in
	var hasher auth.Hasher = ph
	if c.WrapHasher != nil {
		hasher = c.WrapHasher(hasher)
	}
	ldapTLS := c.LDAPTLS
	if ldapTLS == nil {
		if ldapTLS, err = ldapTLSConfig(c.LDAPCAFile); err != nil {
			return err
		}
	}
	a.Auth, err = auth.New(a.Store, hasher, policy, token.NewIssuer(a.Ring, c.PublicURL, now), comp, auth.Options{
		BaseDomain:  c.BaseDomain,
		PublicURL:   c.PublicURL,
		MaxValidity: c.MaxValidity,
		ResetTTL:    c.ResetTTL,
		SessionTTL:  c.SessionTTL,
		HashSlots:   c.HashSlots,
		Clock:       c.Clock,
		Logger:      a.Log,
		MailQueued:  a.mailQueued,
		Throttle:    c.Throttle,
		Event:       a.Metrics.Event,
		TOTPSealer:  token.NewSecretSealer(c.KeyEncryption),
		// Provider secrets are sealed with the same key as signing keys.
		KeyEncryption: c.KeyEncryption,
		LDAPTLS:       ldapTLS,
	})
	if err != nil {
		return err
	}
	// One kept Argon2id buffer per hashing slot: the pool runs no more
	// hashes at once (HashingMemory counts them).
	ph.KeepBuffers(a.Auth.HashSlots())
	a.Metrics.Gauge("spaceauth_hash_queue", "Sign-ins waiting for a password-hashing slot.", func() float64 { return float64(a.Auth.HashQueue()) })
	a.Metrics.OutboxDepth(a.Store.PendingMail)
	a.Metrics.DBPools(a.Store.Pools())
	if _, ok := a.Store.StateListenerUp(); ok {
		a.Metrics.Gauge("spaceauth_db_listener_up",
			"1 while this process listens for other processes' changes on PostgreSQL (its caches are on), else 0.",
			func() float64 {
				if up, _ := a.Store.StateListenerUp(); up {
					return 1
				}
				return 0
			})
	}
	return nil
}

// mailQueued wakes the mail worker, once one is attached.
func (a *App) mailQueued() {
	if f := a.queued.Load(); f != nil {
		(*f)()
	}
}

// MailWorker makes the outbox worker on the app's store, sending with
// sender; mail queued by the domain wakes it, and its counts are metrics.
func (a *App) MailWorker(sender mail.Sender, o mail.WorkerOptions) *mail.Worker {
	if o.Logger == nil {
		o.Logger = a.Log
	}
	if o.Clock == nil {
		o.Clock = a.Config.Clock
	}
	w := mail.NewWorker(a.Store, sender, o)
	nudge := w.Nudge
	a.queued.Store(&nudge)
	a.Metrics.Counter("spaceauth_mail_sent_total", "Messages delivered by this process.", func() float64 { return float64(w.Stats().Sent) })
	a.Metrics.Counter("spaceauth_mail_failures_total", "Failed delivery attempts in this process.", func() float64 { return float64(w.Stats().Failed) })
	a.Metrics.Counter("spaceauth_mail_dead_total", "Messages given up by this process.", func() float64 { return float64(w.Stats().Dead) })
	return w
}

// Pruner makes the pruner of the app's store (docs/retention.md): the
// standard rules with the configured audit retention and the throttle
// policy's longest window; its counts become metrics when the app has
// them. It works on an app that has only its store (the prune command).
func (a *App) Pruner() *prune.Pruner {
	policy := a.Config.Throttle
	if policy == (auth.ThrottlePolicy{}) {
		policy = auth.DefaultThrottlePolicy()
	}
	rules := prune.Rules(a.Store, prune.Retention{Audit: a.Config.AuditRetention, Throttle: policy.Retention(), Grace: a.Config.PruneGrace, Outbox: a.Config.OutboxRetention})
	o := prune.Options{Clock: a.Config.Clock, Logger: a.Log}
	if a.Metrics != nil {
		o.Pruned, o.Failed = a.Metrics.Pruned, a.Metrics.PruneFailed
		for _, r := range rules {
			a.Metrics.Pruned(r.Name, 0) // every table's series exists from the start
		}
	}
	return prune.New(rules, o)
}

// Handler builds the HTTP surface over the app.
func (a *App) Handler() (*httpapi.Server, error) {
	return httpapi.NewServer(httpapi.Deps{
		Auth: a.Auth, Keys: a.Ring, Health: a.Store, Catalog: a.Catalog, Logger: a.Log,
		SecureCookies: a.Config.SecureCookies || a.Config.Config.SecureCookies(), TrustedProxies: a.Config.TrustedProxies,
		Metrics: a.Metrics, RotateKeys: a.Ring.Rotate,
	})
}

// Close closes the store.
func (a *App) Close() error { return a.Store.Close() }

// NewLogger builds a process logger; every line logged with a request's
// context carries its request id.
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(httpapi.LogHandler(h))
}

// RedactDB names a database for a message: a PostgreSQL URL loses its
// password, a file path stays as it is.
func RedactDB(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.User == nil {
		return dsn
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

// ldapTLSConfig trusts the system roots, or only the CA certificates in
// caFile when one is given (a directory with a private CA).
func ldapTLSConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ldap-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("--ldap-ca-file %s: no PEM certificate in it", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
