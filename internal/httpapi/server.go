package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/httpapi/admin"
	"github.com/spaceauth/spaceauth/internal/httpapi/pages"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/metrics"
)

// KeySet publishes the public signing keys (token.Ring).
type KeySet interface {
	JWKS(ctx context.Context) ([]byte, error)
}

// Health reports whether storage is usable (store.Store).
type Health interface {
	Ping(ctx context.Context) error
	Migrated(ctx context.Context) (bool, error)
	// ProbeWrite proves that the database takes writes.
	ProbeWrite(ctx context.Context) error
}

// Deps are what the HTTP surface needs.
type Deps struct {
	Auth          *auth.Service
	Keys          KeySet
	Health        Health
	Catalog       *i18n.Catalog
	Logger        *slog.Logger
	SecureCookies bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Metrics receives request metrics (a fresh registry when nil). It is
	// not served here: the metrics move with per-email events, so they
	// are an enumeration oracle on a public listener (issue #10.5); the
	// binary serves them on --metrics-listen.
	Metrics *metrics.Metrics
	// RotateKeys rotates the signing keys (token.Ring.Rotate) for the
	// operator console; nil hides rotation there.
	RotateKeys func(ctx context.Context) (string, error)
}

// Server is the HTTP surface.
type Server struct {
	auth    *auth.Service
	keys    KeySet
	health  Health
	cat     *i18n.Catalog
	pages   *pages.Renderer
	log     *slog.Logger
	secure  bool
	proxies []netip.Prefix
	mux     *http.ServeMux
	metrics *metrics.Metrics
	cop     *http.CrossOriginProtection
	handler http.Handler
	console *admin.Console
}

// NewServer builds the handler with every route and middleware.
func NewServer(d Deps) (*Server, error) {
	if d.Auth == nil || d.Keys == nil || d.Health == nil || d.Catalog == nil {
		return nil, errors.New("httpapi: missing dependency")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	pr, err := pages.New(d.Catalog)
	if err != nil {
		return nil, err
	}
	s := &Server{auth: d.Auth, keys: d.Keys, health: d.Health, cat: d.Catalog, pages: pr, log: d.Logger,
		secure: d.SecureCookies, proxies: d.TrustedProxies, mux: http.NewServeMux(), metrics: d.Metrics,
		cop: http.NewCrossOriginProtection()}
	if s.console, err = admin.New(admin.Deps{Auth: d.Auth, Catalog: d.Catalog, Logger: d.Logger, Secure: d.SecureCookies,
		Supported: supportedLanguage, Rotate: d.RotateKeys, CSRFToken: s.csrfToken, CheckCSRF: s.checkCSRFValue,
		Client: s.client, Lang: langOf, Business: businessOf, PortalSession: s.currentSession}); err != nil {
		return nil, err
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.failPage(w, r, onPage, errCSRF) }))
	s.routes()
	// SecureCookies means an https public URL, which also adds HSTS (SPEC §6).
	s.handler = s.observe(harden(normalize(s.metrics.Instrument(s.mux)), d.SecureCookies))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// NewHTTPServer wraps h in an http.Server with the limits spaceauth runs
// with: slow or huge headers and bodies cannot hold a connection forever.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}

// supportedLanguage accepts a language code of the supported set exactly
// (no region), as `business add --language` does.
func supportedLanguage(l string) bool {
	_, ok := i18n.Match(l)
	return ok && !strings.Contains(l, "-")
}
