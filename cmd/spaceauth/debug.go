package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// serveDebug serves Go's pprof handlers on their own loopback listener, so
// that profiles are never reachable through the public address. cmdline is
// the command line /debug/pprof/cmdline shows, with secrets redacted. It
// returns a function that stops it.
func serveDebug(addr string, cmdline []string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// Not pprof.Cmdline: it shows os.Args as given, a key-encryption key
	// or a database password included (issue #18.6).
	redacted := strings.Join(redactArgs(cmdline), "\x00")
	mux.HandleFunc("/debug/pprof/cmdline", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, redacted)
	})
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("debug listener (pprof)", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// secretFlags are flags whose whole value is a secret.
var secretFlags = map[string]bool{"key-encryption-key": true, "password": true}

// urlFlags are flags whose value may be a URL with a password in it.
var urlFlags = map[string]bool{"db": true, "smtp-url": true}

// kvPassword finds the password of a key=value PostgreSQL connection string.
var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// redactArgs returns args with every secret replaced: the values of
// secretFlags, and the password of a URL given to urlFlags (a value that
// looks like a URL but does not parse is replaced whole).
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if !strings.HasPrefix(a, "-") || a == "--" {
			continue
		}
		name, val, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !secretFlags[name] && !urlFlags[name] {
			continue
		}
		if !inline {
			if i+1 >= len(out) {
				continue
			}
			i++
			val = out[i]
		}
		red := redactValue(name, val)
		if inline {
			out[i] = a[:len(a)-len(val)] + red
		} else {
			out[i] = red
		}
	}
	return out
}

func redactValue(name, val string) string {
	if secretFlags[name] {
		return "REDACTED"
	}
	if !strings.Contains(val, "://") {
		// A file path, or a key=value connection string.
		return kvPassword.ReplaceAllString(val, "${1}REDACTED")
	}
	u, err := url.Parse(val)
	if err != nil {
		return "REDACTED"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "REDACTED")
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// serveMetrics serves Prometheus metrics on their own listener, never on
// the API's (SPEC §6: the counters move only for existing emails, so a
// public /metrics would tell which emails have accounts).
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("metrics listener", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
