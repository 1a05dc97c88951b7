package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/httpapi"
	"github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/store"
)

func cmdServe(ctx context.Context, e env, args []string, demo bool) error {
	started := time.Now()
	cfg := config.Default()
	name := "serve"
	if demo {
		name = "demo"
	}
	if demo {
		// A demo prints a known admin's password: loopback unless asked.
		cfg.Listen = "127.0.0.1:8080"
	}
	fs := newFlags(name, e, &cfg)
	cfg.RegisterServe(fs)
	if err := parse(fs, args, e); err != nil {
		return err
	}
	if demo && cfg.SMTPURL == "" && cfg.MailDir == "" {
		cfg.MailDir = filepath.Join(filepath.Dir(cfg.DB), "mail")
	}
	if err := cfg.Validate(true); err != nil {
		return usageError{msg: err.Error()}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	publicGiven := false
	fs.Visit(func(f *flag.Flag) { publicGiven = publicGiven || f.Name == "public-url" })
	if !publicGiven {
		// Links must reach this process: without --public-url, use the
		// port it actually listens on.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.PublicURL = "http://localhost:" + port
	}
	log := newLogger(e.stderr, cfg.LogFormat, cfg.LogLevel)
	if demo {
		// A first run says what it is doing (issue #15.2): the compile of
		// `go run` is silent, the program need not be.
		fmt.Fprintf(e.stderr, "spaceauth demo: opening %s (created and migrated on first use)...\n", redactDB(cfg.DB))
	}
	a, err := openApp(ctx, cfg, log, keysSign)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.DebugListen != "" {
		stop, err := serveDebug(cfg.DebugListen, append([]string{os.Args[0], name}, args...), log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.MetricsListen != "" {
		stop, err := serveMetrics(cfg.MetricsListen, a.metrics.Handler(), log)
		if err != nil {
			return err
		}
		defer stop()
	}

	var sender mail.Sender
	if cfg.SMTPURL != "" {
		sender, err = mail.NewSMTPSender(cfg.SMTPURL, cfg.From())
	} else {
		sender, err = mail.NewDirSender(cfg.MailDir, cfg.From())
	}
	if err != nil {
		return usageError{msg: err.Error()}
	}
	worker := mail.NewWorker(a.store, sender, mail.WorkerOptions{Logger: log, RetryBase: cfg.MailRetryBase, PollInterval: cfg.MailPoll, Lease: cfg.MailLease})
	a.queued = worker.Nudge
	a.metrics.Counter("spaceauth_mail_sent_total", "Messages delivered by this process.", func() float64 { return float64(worker.Stats().Sent) })
	a.metrics.Counter("spaceauth_mail_failures_total", "Failed delivery attempts in this process.", func() float64 { return float64(worker.Stats().Failed) })
	a.metrics.Counter("spaceauth_mail_dead_total", "Messages given up by this process.", func() float64 { return float64(worker.Stats().Dead) })

	var demoPassword string
	if demo {
		fmt.Fprintf(e.stderr, "spaceauth demo: making sure the demo business and administrator exist...\n")
		if demoPassword, err = seedDemo(ctx, a); err != nil {
			return err
		}
	}
	h, err := a.handler()
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(h)
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := worker.Run(workerCtx); err != nil {
			log.Error("mail worker stopped", "err", err)
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "db", cfg.DB,
		"startup_ms", time.Since(started).Milliseconds())
	if demo {
		printDemo(e, cfg, ln.Addr().String(), demoPassword)
	}

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopWorker()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
}

// seedDemo creates the demo business and user when they do not exist yet and
// returns the user's password ("" when the user already existed).
func seedDemo(ctx context.Context, a *app) (string, error) {
	b, err := a.store.BusinessBySlug(ctx, "demo")
	if errors.Is(err, store.ErrNotFound) {
		b, err = a.auth.CreateBusiness(ctx, auth.NewBusiness{Slug: "demo", Name: "Demo Space", Language: "en"}, func(string) bool { return true })
	}
	if err != nil {
		return "", fmt.Errorf("demo business: %w", err)
	}
	if _, err := a.store.UserByEmail(ctx, demoEmail); err == nil {
		return "", nil
	}
	pw, err := randomPassword()
	if err != nil {
		return "", err
	}
	if _, err := a.auth.CreateUser(ctx, auth.NewUser{Email: demoEmail, Name: "Demo Admin", Password: pw,
		BusinessSlugs: []string{b.Slug}, Admin: true}); err != nil {
		return "", fmt.Errorf("demo user: %w", err)
	}
	return pw, nil
}

const demoEmail = "admin@demo.example"

func printDemo(e env, cfg config.Config, addr, pw string) {
	_, port, _ := net.SplitHostPort(addr)
	base := "http://localhost:" + port
	portal := "http://demo.localhost:" + port
	fmt.Fprintf(e.stdout, "\nspaceauth demo is ready.\n\n")
	if pw != "" {
		fmt.Fprintf(e.stdout, "  user:     %s\n  password: %s   (shown once; reset it with `spaceauth user set-password`)\n", demoEmail, pw)
	} else {
		fmt.Fprintf(e.stdout, "  user:     %s (created earlier; its password was printed then)\n", demoEmail)
	}
	fmt.Fprintf(e.stdout, "  portal:   %s/en/user/login\n  console:  %s/admin (administrators, after turning on two-factor sign-in)\n  mail:     written to %s\n\n", portal, base, cfg.MailDir)
	fmt.Fprintf(e.stdout, "Try it:\n  curl -s %s/api/sys/users/token -d email=%s -d password='PASSWORD'\n", base, demoEmail)
	fmt.Fprintf(e.stdout, "  open \"%s/en/user/login?t=TOKEN\"\n  curl -s -X POST '%s/en/user/resetPassword?email=%s'\n\n", portal, portal, demoEmail)
}

// redactDB names a database for a message: a PostgreSQL URL loses its
// password, a file path stays as it is.
func redactDB(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.User == nil {
		return dsn
	}
	u.User = url.User(u.User.Username())
	return u.String()
}
