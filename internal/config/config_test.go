package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEnvTwins(t *testing.T) {
	env := map[string]string{
		"SPACEAUTH_DB":         "/tmp/x.db",
		"SPACEAUTH_PUBLIC_URL": "https://auth.example.com",
		"SPACEAUTH_RESET_TTL":  "30m",
		"SPACEAUTH_LISTEN":     ":1",
	}
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.RegisterDB(fs)
	c.RegisterServe(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.DB != "/tmp/x.db" || c.PublicURL != "https://auth.example.com" || c.ResetTTL != 30*time.Minute {
		t.Errorf("env not applied: %+v", c)
	}
	if c.Listen != "127.0.0.1:9" {
		t.Errorf("flag should beat env: listen = %q", c.Listen)
	}
	// Every flag has a twin named after it.
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(EnvName(f.Name), "SPACEAUTH_") || strings.Contains(EnvName(f.Name), "-") {
			t.Errorf("flag %s: bad env twin %s", f.Name, EnvName(f.Name))
		}
	})
}

func TestApplyEnvRejectsBadValue(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterServe(fs)
	_ = fs.Parse(nil)
	err := ApplyEnv(fs, func(k string) string {
		if k == "SPACEAUTH_RESET_TTL" {
			return "soon"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "SPACEAUTH_RESET_TTL") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := Default()
	ok.MailDir = "/tmp/mail"
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"defaults with mail dir", func(*Config) {}, ""},
		{"no mail transport", func(c *Config) { c.MailDir = "" }, "--smtp-url or --mail-dir"},
		{"both transports", func(c *Config) { c.SMTPURL = "smtp://x" }, "only one"},
		{"bad scheme", func(c *Config) { c.PublicURL = "ftp://x" }, "scheme"},
		{"path in public url", func(c *Config) { c.PublicURL = "http://x/y" }, "only scheme"},
		{"bad alg", func(c *Config) { c.SigningAlg = "HS256" }, "signing-alg"},
		{"tiny validity", func(c *Config) { c.MaxValidity = time.Second }, "max-validity"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "log-format"},
		{"empty base domain", func(c *Config) { c.BaseDomain = "" }, "base-domain"},
		{"memory limit off", func(c *Config) { c.MemoryLimit = "off" }, ""},
		{"memory limit size", func(c *Config) { c.MemoryLimit = "96MiB" }, ""},
		{"memory limit unit unknown", func(c *Config) { c.MemoryLimit = "96MB" }, "--memory-limit"},
		{"memory limit empty", func(c *Config) { c.MemoryLimit = "" }, "--memory-limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.Validate(true)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterServe(fs)
	if err := fs.Parse([]string{"--trusted-proxy", "10.0.0.0/8, 127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 {
		t.Fatalf("proxies = %v", c.TrustedProxies)
	}
	if err := fs.Parse([]string{"--trusted-proxy", "nope"}); err == nil {
		t.Fatal("bad proxy accepted")
	}
}

func TestRetentionFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    time.Duration
		wantErr string // from parsing or validation; "" for none
	}{
		{nil, 400 * 24 * time.Hour, ""},
		{[]string{"--audit-retention", "30d"}, 30 * 24 * time.Hour, ""},
		{[]string{"--audit-retention", "9600h"}, 9600 * time.Hour, ""},
		{[]string{"--audit-retention", "0"}, 0, ""},
		{[]string{"--audit-retention", "12m"}, 12 * time.Minute, "at least 1d"},
		{[]string{"--audit-retention", "-1d"}, 0, "whole days"},
		{[]string{"--audit-retention", "soon"}, 0, "whole days"},
		{[]string{"--prune-interval", "-1s"}, 400 * 24 * time.Hour, "must not be negative"},
		{[]string{"--prune-grace", "1m"}, 400 * 24 * time.Hour, ""},
		{[]string{"--outbox-retention", "1d"}, 400 * 24 * time.Hour, ""},
		{[]string{"--outbox-retention", "2m"}, 400 * 24 * time.Hour, ""},
		{[]string{"--outbox-retention", "0"}, 400 * 24 * time.Hour, "--outbox-retention 0s: must be at least 1m"},
		{[]string{"--prune-grace", "10s"}, 400 * 24 * time.Hour, "--prune-grace 10s: must be at least 1m"},
		{[]string{"--prune-grace", "-5m"}, 400 * 24 * time.Hour, "must be at least 1m"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := Default()
			c.MailDir = t.TempDir()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.RegisterServe(fs)
			err := fs.Parse(tc.args)
			if err == nil {
				err = c.Validate(true)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if err == nil && c.AuditRetention != tc.want {
				t.Errorf("audit retention %v, want %v", c.AuditRetention, tc.want)
			}
		})
	}
	if c := Default(); c.PruneInterval != 10*time.Minute || c.PruneGrace != time.Hour {
		t.Errorf("default prune interval %v, grace %v", c.PruneInterval, c.PruneGrace)
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64 // 0: refused
	}{
		{"96MiB", 96 << 20},
		{"1GiB", 1 << 30},
		{"2048KiB", 2 << 20},
		{"104857600", 100 << 20},
		{"104857600B", 100 << 20},
		{"1TiB", 1 << 40},
		{"1MiB", 1 << 20},
		{"1023KiB", 0}, // below 1 MiB
		{"96MB", 0},    // GOMEMLIMIT's units only: MB is not MiB
		{"96 MiB", 0},
		{"-5MiB", 0},
		{"MiB", 0},
		{"", 0},
		{"9999999999TiB", 0}, // overflows int64
		{"1.5GiB", 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("ParseSize(%q) = %d, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}
