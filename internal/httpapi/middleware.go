package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/i18n"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLang
	keyBusiness
)

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// langOf is the language of the request: the path's on tenant routes, else
// the best match of Accept-Language.
func langOf(r *http.Request) string {
	if l, ok := r.Context().Value(keyLang).(string); ok {
		return l
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

func businessOf(r *http.Request) (auth.Business, bool) {
	b, ok := r.Context().Value(keyBusiness).(auth.Business)
	return b, ok
}

// LogHandler wraps h so that every record logged with a request's context
// carries its request id.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(a)}
}

func (h requestIDHandler) WithGroup(n string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(n)}
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns the request id, recovers panics into a 500 envelope and
// writes one access-log line per request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p))
				if rec.status == 0 {
					s.fail(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			s.log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"bytes", rec.bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000, "client", s.clientIP(r))
		}()
		next.ServeHTTP(rec, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CanonicalPath folds the spellings of SPEC §1 onto the routed one: no
// trailing slash (except under /static/), and the seed's paths without the
// /api prefix get it. The OpenAPI checker calls it too, so the document is
// matched exactly as the server routes.
func CanonicalPath(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") && !strings.HasPrefix(p, "/static/") {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	if strings.HasPrefix(p, "/sys/") {
		p = "/api" + p
	}
	return p
}

// normalize serves both spellings of SPEC §1 (CanonicalPath).
func normalize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := CanonicalPath(r.URL.Path); p != r.URL.Path {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = p, ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// harden sets headers every response gets: nothing here is cacheable by
// default (responses carry tokens and personal data), nothing may frame it,
// and pages run no script (the pages with a passkey form allow their own
// passkey.js: passkeyPageCSP).
func harden(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if https {
			// The public URL is https: browsers must never fall back to
			// http, where a network attacker could read cookies and links.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") && r.URL.Path != "/.well-known/jwks.json" {
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

// tenant resolves the business from the Host header and the language from
// the path; either failing is a 404 (SPEC §1).
func (s *Server) tenant(h http.Handler) http.Handler { return s.tenantOf(h, true) }

// host resolves the business of a tenant host for pages served on every
// host (the console): a host that matches no business is the system host,
// with no business in the context. The language is Accept-Language's.
func (s *Server) host(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.auth.BusinessForHost(r.Context(), r.Host)
		switch {
		case err == nil:
			r = r.WithContext(context.WithValue(r.Context(), keyBusiness, b))
		case !errors.Is(err, auth.ErrNotFound):
			s.failPage(w, r, onPage, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tenantHost is tenant for the language-free paths of a tenant host (the
// federated sign-in callback): the language is the business's own.
func (s *Server) tenantHost(h http.Handler) http.Handler { return s.tenantOf(h, false) }

// tenantOf is tenant (the language from the path, checked before the
// business is looked up) or tenantHost (the business's language).
func (s *Server) tenantOf(h http.Handler, pathLang bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if pathLang {
			lang, ok := i18n.Match(r.PathValue("language"))
			if !ok {
				s.render(w, r, onToken, errNoRoute)
				return
			}
			ctx = context.WithValue(ctx, keyLang, lang)
			r = r.WithContext(ctx)
		}
		b, err := s.auth.BusinessForHost(ctx, r.Host)
		if err != nil {
			if err != auth.ErrNotFound {
				s.failPage(w, r, onPage, err)
				return
			}
			s.render(w, r, onToken, errNoRoute)
			return
		}
		if !pathLang {
			lang, ok := i18n.Match(b.Language)
			if !ok {
				lang = "en"
			}
			ctx = context.WithValue(ctx, keyLang, lang)
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, keyBusiness, b)))
	})
}

// clientIP is the peer address, or the address a trusted proxy reports in
// X-Forwarded-For (the right-most hop that is not itself a trusted proxy).
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer.String()
		}
		if !s.trusted(a.Unmap()) {
			return a.Unmap().String()
		}
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{IP: clientKey(s.clientIP(r)), UserAgent: r.UserAgent()}
}

// clientKey is the address the throttles count and the audit records: an
// IPv4 address as is, an IPv6 address as its /64 (SPEC §6), because one
// subscriber usually holds a whole /64 and could otherwise rotate through
// 2^64 addresses to dodge the per-address limits.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
