package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/httpapi"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/mail/compose"
	"github.com/spaceauth/spaceauth/internal/metrics"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/token"
)

// app is the wired service: every part built once from the config.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	store   *sqlstore.Store
	ring    *token.Ring
	cat     *i18n.Catalog
	auth    *auth.Service
	metrics *metrics.Metrics
	queued  func() // set by serve to wake the mail worker
}

// keyUse says what a command does with the signing keys.
type keyUse int

const (
	// keysSign loads the keys and creates the first one (sealed when a
	// key-encryption key is given) when none signs: serve and demo.
	keysSign keyUse = iota
	// keysAdmin is for commands that never sign (user and business
	// administration, keys rotate/list): no key is created, so a command
	// run before the first serve cannot make the first key unsealed while
	// the server has a key-encryption key (issue #18.5). A given
	// key-encryption key is proven against the stored keys, so a wrong one
	// is reported instead of ignored.
	keysAdmin
)

// openApp opens the database (applying migrations), prepares the signing
// keys as use says and builds the domain.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger, use keyUse) (*app, error) {
	st, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	if use == keysSign {
		// A database that reads but refuses writes would serve failing
		// sign-ins and a stuck outbox: refuse to start on it (issue #11.6),
		// before anything (the first key) tries to write.
		if err := st.ProbeWrite(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("the database %s does not take writes (read-only file or mount, full disk?): %w", redactDB(cfg.DB), err)
		}
	}
	a := &app{cfg: cfg, log: log, store: st, metrics: metrics.New(), queued: func() {}}
	if err := a.build(ctx, use); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) build(ctx context.Context, use keyUse) error {
	cfg := a.cfg
	a.ring = token.NewRing(a.store, token.RingOptions{Alg: cfg.SigningAlg, KEK: cfg.KeyEncryption, MaxTokenLife: cfg.MaxValidity})
	switch {
	case use == keysSign:
		if err := a.ring.EnsureKey(ctx); err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
	case cfg.KeyEncryption != "":
		if err := a.ring.ProveKEK(ctx); err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
	}
	cat, err := i18n.New()
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	a.cat = cat
	comp, err := compose.New(cat)
	if err != nil {
		return fmt.Errorf("mail templates: %w", err)
	}
	policy, err := password.NewPolicy()
	if err != nil {
		return fmt.Errorf("password policy: %w", err)
	}
	issuer := token.NewIssuer(a.ring, cfg.PublicURL, time.Now)
	ldapTLS, err := ldapTLSConfig(cfg.LDAPCAFile)
	if err != nil {
		return err
	}
	a.auth, err = auth.New(a.store, password.NewHasher(password.DefaultParams()), policy, issuer, comp, auth.Options{
		BaseDomain:  cfg.BaseDomain,
		PublicURL:   cfg.PublicURL,
		MaxValidity: cfg.MaxValidity,
		ResetTTL:    cfg.ResetTTL,
		SessionTTL:  cfg.SessionTTL,
		Logger:      a.log,
		MailQueued:  func() { a.queued() },
		Event:       a.metrics.Event,
		TOTPSealer:  token.NewSecretSealer(cfg.KeyEncryption),
		// Provider secrets are sealed with the same key as signing keys.
		KeyEncryption: cfg.KeyEncryption,
		LDAPTLS:       ldapTLS,
	})
	if err != nil {
		return err
	}
	a.metrics.Gauge("spaceauth_hash_queue", "Sign-ins waiting for a password-hashing slot.", func() float64 { return float64(a.auth.HashQueue()) })
	a.metrics.OutboxDepth(a.store.PendingMail)
	a.metrics.DBPools(a.store.Pools())
	if _, ok := a.store.StateListenerUp(); ok {
		a.metrics.Gauge("spaceauth_db_listener_up",
			"1 while this process listens for other processes' changes on PostgreSQL (its caches are on), else 0.",
			func() float64 {
				if up, _ := a.store.StateListenerUp(); up {
					return 1
				}
				return 0
			})
	}
	return nil
}

func (a *app) handler() (*httpapi.Server, error) {
	return httpapi.NewServer(httpapi.Deps{
		Auth: a.auth, Keys: a.ring, Health: a.store, Catalog: a.cat, Logger: a.log,
		SecureCookies: a.cfg.SecureCookies(), TrustedProxies: a.cfg.TrustedProxies, Metrics: a.metrics,
		RotateKeys: a.ring.Rotate,
	})
}

func (a *app) Close() error { return a.store.Close() }

// newLogger builds the process logger; every line logged with a request's
// context carries its request id.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(httpapi.LogHandler(h))
}

// openExistingStore opens a database that must already exist, for commands
// that only read (SPEC §7: they never create one).
func openExistingStore(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, cfg.DB, sqlstore.Options{MustExist: true})
}

// withExistingStore runs fn on an app that has only its store, opened with
// openExistingStore: what the listing commands need, and nothing that
// writes (such as making the first signing key).
func withExistingStore(ctx context.Context, cfg config.Config, fn func(a *app) error) error {
	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(&app{cfg: cfg, store: st})
}

// openStoreOnly opens (and migrates) the database without the rest.
func openStoreOnly(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, cfg.DB, sqlstore.Options{})
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
