package config

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultDB is the embedded SQLite database used when --db is not given.
const DefaultDB = "./data/spaceauth.db"

// Config is every setting of the service.
type Config struct {
	DB string

	Listen          string
	DebugListen     string
	MetricsListen   string
	BaseDomain      string
	PublicURL       string
	SMTPURL         string
	MailDir         string
	MailFrom        string
	KeyEncryption   string
	LDAPCAFile      string // PEM CA certificates trusted for LDAP TLS (SPEC §8); empty: system roots
	SigningAlg      string
	MaxValidity     time.Duration
	ResetTTL        time.Duration
	SessionTTL      time.Duration
	ShutdownTimeout time.Duration
	MailRetryBase   time.Duration
	MailPoll        time.Duration
	MailLease       time.Duration
	// PruneInterval is how often the server deletes rows past retention
	// (docs/retention.md); 0 turns the pruner off.
	PruneInterval time.Duration
	// AuditRetention is how long audit events are kept; 0 keeps them forever.
	AuditRetention time.Duration
	// PruneGrace is how long past its expiry a row is kept (clock skew
	// between processes, the tokens' leeway); at least a minute.
	PruneGrace time.Duration
	// OutboxRetention is how long a sent or abandoned message's row is
	// kept (its body is erased when it settles).
	OutboxRetention time.Duration
	LogFormat       string
	LogLevel        string
	TrustedProxies  []netip.Prefix
	// MemoryLimit is the Go runtime's soft memory limit: "auto" (sized
	// from the hashing pool; GOMEMLIMIT wins when set), "off", or a size
	// such as 96MiB (ParseSize).
	MemoryLimit string
}

// Default returns the defaults documented in the README.
func Default() Config {
	return Config{
		DB:              DefaultDB,
		Listen:          ":8080",
		BaseDomain:      "localhost",
		PublicURL:       "http://localhost:8080",
		SigningAlg:      "EdDSA",
		MaxValidity:     10080 * time.Minute,
		ResetTTL:        60 * time.Minute,
		SessionTTL:      14 * 24 * time.Hour,
		ShutdownTimeout: 15 * time.Second,
		MailRetryBase:   5 * time.Second,
		MailPoll:        time.Second,
		MailLease:       time.Minute,
		PruneInterval:   10 * time.Minute,
		AuditRetention:  400 * 24 * time.Hour,
		PruneGrace:      time.Hour,
		OutboxRetention: 7 * 24 * time.Hour,
		LogFormat:       "text",
		LogLevel:        "info",
		MemoryLimit:     "auto",
	}
}

// RegisterDB adds --db, which every subcommand accepts.
func (c *Config) RegisterDB(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", c.DB, "database: a SQLite file path or a postgres:// URL")
}

// RegisterKEK adds --key-encryption-key, which every command that opens or
// makes keys accepts (SPEC §7).
func (c *Config) RegisterKEK(fs *flag.FlagSet) {
	fs.StringVar(&c.KeyEncryption, "key-encryption-key", c.KeyEncryption, "secret that seals signing keys and TOTP secrets at rest (optional)")
}

// RegisterKeys adds the settings that decide how signing keys are made and kept.
func (c *Config) RegisterKeys(fs *flag.FlagSet) {
	c.RegisterKEK(fs)
	fs.StringVar(&c.SigningAlg, "signing-alg", c.SigningAlg, "JWT signing algorithm for new keys: EdDSA or RS256")
	fs.DurationVar(&c.MaxValidity, "max-validity", c.MaxValidity, "longest access-token life; longer requests are clamped")
}

// RegisterServe adds the server's settings (--db is added separately, by
// every subcommand).
func (c *Config) RegisterServe(fs *flag.FlagSet) {
	c.RegisterKeys(fs)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on")
	fs.StringVar(&c.DebugListen, "debug-listen", c.DebugListen, "loopback address for Go's pprof profiles (off when empty)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "address serving Prometheus /metrics (off when empty; never on --listen)")
	fs.StringVar(&c.LDAPCAFile, "ldap-ca-file", c.LDAPCAFile, "PEM file of the CA certificates trusted for LDAP TLS (default: the system's)")
	fs.StringVar(&c.BaseDomain, "base-domain", c.BaseDomain, "tenant hosts are {slug}.{base-domain}")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "scheme and port of links sent out")
	fs.StringVar(&c.SMTPURL, "smtp-url", c.SMTPURL, "SMTP server, smtp://user:pass@host:port (STARTTLS when offered)")
	fs.StringVar(&c.MailDir, "mail-dir", c.MailDir, "write mail as .eml files into this directory instead of SMTP")
	fs.StringVar(&c.MailFrom, "mail-from", c.MailFrom, "sender address (default no-reply@{base-domain})")
	fs.DurationVar(&c.ResetTTL, "reset-ttl", c.ResetTTL, "life of a password-reset link")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "life of a portal session")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may run after SIGTERM")
	fs.DurationVar(&c.MailRetryBase, "mail-retry-base", c.MailRetryBase, "first retry delay of a failed delivery; doubles each attempt")
	fs.DurationVar(&c.MailPoll, "mail-poll", c.MailPoll, "how often the outbox is polled for due mail")
	fs.DurationVar(&c.MailLease, "mail-lease", c.MailLease, "how long a claimed message is reserved; after a crash it is retried once this passes")
	fs.DurationVar(&c.PruneInterval, "prune-interval", c.PruneInterval, "how often rows past retention are deleted (also at start-up); 0 turns pruning off")
	c.RegisterRetention(fs)
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.MemoryLimit, "memory-limit", c.MemoryLimit, "Go soft memory limit: auto (hashing slots × Argon2id memory + a base; GOMEMLIMIT wins), off, or a size such as 96MiB")
	fs.Func("trusted-proxy", "CIDR of a proxy whose X-Forwarded-For is believed (repeatable, or comma-separated)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := netip.ParsePrefix(part)
			if err != nil {
				a, aerr := netip.ParseAddr(part)
				if aerr != nil {
					return fmt.Errorf("not a CIDR or address: %q", part)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
		return nil
	})
}

// RegisterRetention adds --audit-retention and --prune-grace (serve and prune).
func (c *Config) RegisterRetention(fs *flag.FlagSet) {
	retentionVar(fs, &c.OutboxRetention, "outbox-retention", "how long the row of a sent or abandoned message is kept: days (7d) or a duration (1h); at least 1m (default 7d)")
	fs.DurationVar(&c.PruneGrace, "prune-grace", c.PruneGrace, "how long past its expiry a revocation, spent mark or other expiring row is kept (at least 1m)")
	retentionVar(fs, &c.AuditRetention, "audit-retention", "how long audit events are kept: days (400d) or a duration (9600h); 0 keeps them forever (default 400d)")
}

// retentionVar adds a flag read by ParseRetention (days or a duration)
// into dst.
func retentionVar(fs *flag.FlagSet, dst *time.Duration, name, usage string) {
	fs.Func(name, usage, func(s string) error {
		d, err := ParseRetention(s)
		if err != nil {
			return err
		}
		*dst = d
		return nil
	})
}

// ParseRetention reads a retention period: whole days ("400d") or a Go
// duration ("9600h"); "0" is forever.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want whole days such as 400d, or a duration such as 9600h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want whole days such as 400d, or a duration such as 9600h", s)
	}
	return d, nil
}

// ValidateRetention refuses an audit retention that is negative or, unless
// 0 (forever), shorter than a day: "12m" is twelve minutes, not months,
// and would erase almost the whole audit trail.
func (c *Config) ValidateRetention() error {
	if c.AuditRetention < 0 || c.AuditRetention > 0 && c.AuditRetention < 24*time.Hour {
		return fmt.Errorf("--audit-retention %s: must be 0 (forever) or at least 1d", c.AuditRetention)
	}
	// Tokens verify for 10 s past their expiry; a shorter grace could
	// drop a revocation while its token still verifies somewhere.
	if c.OutboxRetention < time.Minute {
		return fmt.Errorf("--outbox-retention %s: must be at least 1m", c.OutboxRetention)
	}
	if c.PruneGrace != 0 && c.PruneGrace < time.Minute {
		return fmt.Errorf("--prune-grace %s: must be at least 1m", c.PruneGrace)
	}
	return nil
}

// EnvName is the environment twin of a flag: --public-url is SPACEAUTH_PUBLIC_URL.
func EnvName(flagName string) string {
	return "SPACEAUTH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its SPACEAUTH_* twin. Command-line flags win over the environment.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		v := getenv(EnvName(f.Name))
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}

// Validate refuses settings that are wrong or unsafe together. serving is
// true for commands that run the HTTP server.
func (c *Config) Validate(serving bool) error {
	var errs []error
	if strings.TrimSpace(c.DB) == "" {
		errs = append(errs, errors.New("--db must not be empty"))
	}
	if c.SigningAlg != "EdDSA" && c.SigningAlg != "RS256" {
		errs = append(errs, fmt.Errorf("--signing-alg %q: must be EdDSA or RS256", c.SigningAlg))
	}
	if c.MaxValidity < time.Minute {
		errs = append(errs, fmt.Errorf("--max-validity %s: must be at least 1m", c.MaxValidity))
	}
	if !serving {
		return errors.Join(errs...)
	}
	u, err := url.Parse(c.PublicURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("--public-url: %w", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("--public-url %q: scheme must be http or https", c.PublicURL))
	case u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("--public-url %q: give only scheme, host and port", c.PublicURL))
	}
	bd := strings.ToLower(strings.Trim(c.BaseDomain, "."))
	if bd == "" || strings.ContainsAny(bd, "/: ") {
		errs = append(errs, fmt.Errorf("--base-domain %q: must be a host name", c.BaseDomain))
	}
	if c.DebugListen != "" && !loopback(c.DebugListen) {
		errs = append(errs, fmt.Errorf("--debug-listen %q: must be a loopback address (127.0.0.1:PORT or [::1]:PORT); profiles expose memory contents", c.DebugListen))
	}
	if c.SMTPURL == "" && c.MailDir == "" {
		errs = append(errs, errors.New("no way to send mail: give --smtp-url or --mail-dir"))
	}
	if c.SMTPURL != "" && c.MailDir != "" {
		errs = append(errs, errors.New("give only one of --smtp-url and --mail-dir"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--reset-ttl", c.ResetTTL}, {"--session-ttl", c.SessionTTL}, {"--mail-retry-base", c.MailRetryBase}, {"--mail-poll", c.MailPoll}, {"--mail-lease", c.MailLease}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.PruneInterval < 0 {
		errs = append(errs, errors.New("--prune-interval must not be negative (0 turns pruning off)"))
	}
	if err := c.ValidateRetention(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: must be text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.MemoryLimit != "auto" && c.MemoryLimit != "off" {
		if _, err := ParseSize(c.MemoryLimit); err != nil {
			errs = append(errs, fmt.Errorf("--memory-limit %q: must be auto, off or a size such as 96MiB", c.MemoryLimit))
		}
	}
	return errors.Join(errs...)
}

// ParseSize reads a size in GOMEMLIMIT's syntax: a whole number of bytes
// with an optional unit B, KiB, MiB, GiB or TiB ("96MiB", "100000000").
// Sizes below 1 MiB are refused: a limit that small only makes the
// collector run without pause.
func ParseSize(s string) (int64, error) {
	num, unit := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unit = s[:i], s[i:]
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
	sh, ok := shift[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("size %q: want a number with an optional unit B, KiB, MiB, GiB or TiB", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64>>sh {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	if n<<sh < 1<<20 {
		return 0, fmt.Errorf("size %q: below 1MiB", s)
	}
	return n << sh, nil
}

// SecureCookies reports whether cookies must carry Secure (https public URL).
func (c *Config) SecureCookies() bool {
	return strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}

// From is the sender address of outgoing mail.
func (c *Config) From() string {
	if c.MailFrom != "" {
		return c.MailFrom
	}
	return "no-reply@" + strings.Trim(c.BaseDomain, ".")
}

// loopback reports whether addr (host:port) names a loopback IP address.
func loopback(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Addr().IsLoopback()
}
