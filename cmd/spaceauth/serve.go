package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/httpapi"
	"github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/wire"
)

func cmdServe(ctx context.Context, e env, args []string, demo bool) error {
	started := time.Now()
	name := "serve"
	if demo {
		name = "demo"
	}
	cfg, publicGiven, err := serveConfig(e, name, args, demo)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if !publicGiven {
		// Links must reach this process: without --public-url, use the
		// port it actually listens on.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.PublicURL = "http://localhost:" + port
	}
	log := wire.NewLogger(e.stderr, cfg.LogFormat, cfg.LogLevel)
	if demo {
		// A first run says what it is doing (issue #15.2): the compile of
		// `go run` is silent, the program need not be.
		fmt.Fprintf(e.stderr, "spaceauth demo: opening %s (created and migrated on first use)...\n", wire.RedactDB(cfg.DB))
	}
	a, err := openApp(ctx, cfg, log, wire.KeysSign)
	if err != nil {
		return err
	}
	defer a.Close()
	restore, err := applyMemoryLimit(cfg.MemoryLimit, e.getenv("GOMEMLIMIT"), a.HashingMemory(), log)
	if err != nil {
		return usageError{msg: err.Error()}
	}
	defer restore()
	stop, err := sideListeners(cfg, a, append([]string{os.Args[0], name}, args...), log)
	defer stop()
	if err != nil {
		return err
	}
	worker, err := mailWorker(cfg, a, log)
	if err != nil {
		return err
	}
	var demoPassword string
	if demo {
		fmt.Fprintf(e.stderr, "spaceauth demo: making sure the demo business and administrator exist...\n")
		if demoPassword, err = seedDemo(ctx, a); err != nil {
			return err
		}
	}
	h, err := a.Handler()
	if err != nil {
		return err
	}
	stopPruning := startPruning(ctx, cfg, a, log)
	defer stopPruning()
	return serveUntilDone(ctx, httpapi.NewHTTPServer(h), ln, worker, log, cfg.ShutdownTimeout, func() {
		log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "db", cfg.DB,
			"startup_ms", time.Since(started).Milliseconds())
		if demo {
			printDemo(e, cfg, ln.Addr().String(), demoPassword)
		}
	})
}

// serveConfig reads serve's (or demo's) flags; publicGiven tells whether
// --public-url was given.
func serveConfig(e env, name string, args []string, demo bool) (cfg config.Config, publicGiven bool, err error) {
	cfg = config.Default()
	if demo {
		// A demo prints a known admin's password: loopback unless asked.
		cfg.Listen = "127.0.0.1:8080"
	}
	fs := newFlags(name, e, &cfg)
	cfg.RegisterServe(fs)
	if err := parse(fs, args, e); err != nil {
		return cfg, false, err
	}
	if demo && cfg.SMTPURL == "" && cfg.MailDir == "" {
		cfg.MailDir = filepath.Join(filepath.Dir(cfg.DB), "mail")
	}
	if err := cfg.Validate(true); err != nil {
		return cfg, false, usageError{msg: err.Error()}
	}
	fs.Visit(func(f *flag.Flag) { publicGiven = publicGiven || f.Name == "public-url" })
	return cfg, publicGiven, nil
}

// sideListeners starts the debug and metrics listeners that cfg asks for;
// stop ends those that started (also when err is set).
func sideListeners(cfg config.Config, a *app, cmdline []string, log *slog.Logger) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range slices.Backward(stops) {
			s()
		}
	}
	if cfg.DebugListen != "" {
		s, err := serveDebug(cfg.DebugListen, cmdline, log)
		if err != nil {
			return stop, err
		}
		stops = append(stops, s)
	}
	if cfg.MetricsListen != "" {
		s, err := serveMetrics(cfg.MetricsListen, a.Metrics.Handler(), log)
		if err != nil {
			return stop, err
		}
		stops = append(stops, s)
	}
	return stop, nil
}

// mailWorker makes the outbox worker that sends through SMTP or, without
// an SMTP URL, writes into the mail directory.
func mailWorker(cfg config.Config, a *app, log *slog.Logger) (*mail.Worker, error) {
	var sender mail.Sender
	var err error
	if cfg.SMTPURL != "" {
		sender, err = mail.NewSMTPSender(cfg.SMTPURL, cfg.From())
	} else {
		sender, err = mail.NewDirSender(cfg.MailDir, cfg.From())
	}
	if err != nil {
		return nil, usageError{msg: err.Error()}
	}
	return a.MailWorker(sender, mail.WorkerOptions{Logger: log, RetryBase: cfg.MailRetryBase, PollInterval: cfg.MailPoll, Lease: cfg.MailLease}), nil
}

// startPruning runs the pruner at start-up and every --prune-interval in
// the background (docs/retention.md); stop ends it and waits for it.
func startPruning(ctx context.Context, cfg config.Config, a *app, log *slog.Logger) (stop func()) {
	if cfg.PruneInterval <= 0 {
		log.Info("pruning off (--prune-interval 0): tables keep every row")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	p := a.Pruner()
	wg.Go(func() { p.Loop(ctx, cfg.PruneInterval) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// serveUntilDone runs the mail worker and the HTTP server on ln (calling
// ready once both run) until the server fails or ctx ends, then shuts the
// server down within timeout and stops the worker.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, worker *mail.Worker, log *slog.Logger, timeout time.Duration, ready func()) error {
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := worker.Run(workerCtx); err != nil {
			log.Error("mail worker stopped", "err", err)
		}
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	ready()
	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down", "timeout", timeout.String())
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
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
	b, err := a.Store.BusinessBySlug(ctx, "demo")
	if errors.Is(err, store.ErrNotFound) {
		b, err = a.Auth.CreateBusiness(ctx, auth.NewBusiness{Slug: "demo", Name: "Demo Space", Language: "en"}, func(string) bool { return true })
	}
	if err != nil {
		return "", fmt.Errorf("demo business: %w", err)
	}
	if _, err := a.Store.UserByEmail(ctx, demoEmail); err == nil {
		return "", nil
	}
	pw, err := randomPassword()
	if err != nil {
		return "", err
	}
	if _, err := a.Auth.CreateUser(ctx, auth.NewUser{Email: demoEmail, Name: "Demo Admin", Password: pw,
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
