package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
)

const usage = `spaceauth — Nexudus-compatible authentication service

Usage:
  spaceauth serve   [--listen ADDR] [--base-domain D] [--public-url URL] [--smtp-url U | --mail-dir DIR] [--db DB]
  spaceauth demo    [--listen ADDR] [--db DB]      serve a demo business; prints how to try it
  spaceauth migrate [--db DB]
  spaceauth business add --slug S --name N [--language en] [--domain D] [--hide-unknown-emails]
  spaceauth business list
  spaceauth user add --email E --name N (--password P | --password-stdin) [--business SLUG]... [--admin] [--role ROLE]...
  spaceauth user list [--business SLUG]
  spaceauth user disable|enable EMAIL
  spaceauth user set-password EMAIL (--password P | --password-stdin)
  spaceauth user require-reset EMAIL                 (the next sign-in must choose a new password)
  spaceauth user import [--skip-invalid] FILE.csv    (spaceauth user import -h lists the columns)
  spaceauth keys rotate | keys list
  spaceauth sso add --business SLUG --name N --issuer URL --client-id ID (--client-secret S | --client-secret-stdin)
                [--logout-url URL] [--create-users] [--no-member-passwords] [--no-admin-passwords]
  spaceauth sso add-ldap --business SLUG --name N --url ldap[s]://HOST:PORT [--starttls]
                (--bind-dn-template T | --search-base B --search-filter F --bind-dn D (--bind-password P | --bind-password-stdin))
                [--create-users] [--no-member-passwords] [--no-admin-passwords]
  spaceauth sso list [--business SLUG]               (prints each provider's redirect URI)
  spaceauth sso remove ID
  spaceauth prune [--audit-retention 400d]          (delete rows past retention once; serve does it every --prune-interval)
  spaceauth audit [--user ID|EMAIL] [--business SLUG] [--type T] [--since T] [--until T] [--format table|json]

Every subcommand accepts --db (default ./data/spaceauth.db); every flag has an
environment twin: --public-url is SPACEAUTH_PUBLIC_URL. Run a subcommand with -h
for its flags.
`

// env is the process environment handed to run.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	commands := map[string]func(context.Context, env, []string) error{
		"serve":    func(ctx context.Context, e env, a []string) error { return cmdServe(ctx, e, a, false) },
		"demo":     func(ctx context.Context, e env, a []string) error { return cmdServe(ctx, e, a, true) },
		"migrate":  cmdMigrate,
		"business": cmdBusiness,
		"user":     cmdUser,
		"keys":     cmdKeys,
		"audit":    cmdAudit,
		"prune":    cmdPrune,
		"sso":      cmdSSO,
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	command, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "spaceauth: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	err := command(ctx, e, rest)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "spaceauth %s: %s\n", cmd, ue.msg)
		if ue.line != "" {
			fmt.Fprintf(stderr, "usage: %s\n(run with -h for every flag)\n", ue.line)
		}
		return 2
	}
	fmt.Fprintf(stderr, "spaceauth %s: %s\n", cmd, describe(err))
	return 1
}

// usageError is a mistake on the command line (exit code 2); line is the
// subcommand's one usage line, printed after the message (issue #15.7:
// not the whole flag list).
type usageError struct{ msg, line string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{msg: fmt.Sprintf(format, a...)} }

// usageLines returns the lines of the overall usage for command name (such
// as "user add" or "user disable"), without the leading "  ".
func usageLines(name string) []string {
	var out []string
	words := strings.Fields(name)
	for _, line := range strings.Split(usage, "\n") {
		f := strings.Fields(line)
		if len(f) < 1+len(words) || f[0] != "spaceauth" {
			continue
		}
		match := true
		for i, w := range words {
			// "user disable|enable EMAIL" serves both words.
			if !slicesContains(strings.Split(f[1+i], "|"), w) {
				match = false
				break
			}
		}
		if match {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// subcommandHelp prints the usage lines of group (business, user, keys)
// for `spaceauth GROUP -h`.
func subcommandHelp(e env, group string) error {
	fmt.Fprintf(e.stdout, "Usage:\n")
	for _, l := range usageLines(group) {
		fmt.Fprintf(e.stdout, "  %s\n", l)
	}
	fmt.Fprintf(e.stdout, "\nRun spaceauth %s SUBCOMMAND -h for its flags.\n", group)
	return nil
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// describe turns domain errors into sentences for the terminal.
func describe(err error) string {
	var fe auth.FieldErrors
	switch {
	case errors.As(err, &fe):
		var parts []string
		for field, msgs := range fe {
			for _, m := range msgs {
				parts = append(parts, field+": "+humanKey(m))
			}
		}
		return "invalid input: " + strings.Join(parts, "; ")
	case errors.Is(err, auth.ErrEmailTaken):
		return "a user with that email already exists"
	case errors.Is(err, auth.ErrSlugTaken):
		return "a business with that slug or domain already exists"
	case errors.Is(err, auth.ErrNotFound):
		return "no such user"
	}
	return plain(err.Error())
}

// plain removes package words from an error chain's text ("auth: unknown
// business: x" -> "unknown business: x") and the repeated steps that
// wrapping leaves ("create business: create business: ..."), issue #15.7.
func plain(msg string) string {
	var out []string
	for _, part := range strings.Split(msg, ": ") {
		switch part {
		case "auth", "store", "sqlstore", "token", "password", "config", "httpapi":
			continue
		}
		if len(out) > 0 && out[len(out)-1] == part {
			continue
		}
		out = append(out, part)
	}
	return strings.Join(out, ": ")
}

// humanKey spells out the i18n keys the domain reports.
func humanKey(k string) string {
	switch k {
	case "password_too_short":
		return "the password must have at least 8 characters"
	case "password_too_long":
		return "the password must have at most 256 characters"
	case "password_common":
		return "the password is too common (it is in the list of the most used passwords)"
	case "password_is_email":
		return "the password must not be the email address"
	case "invalid_email":
		return "not a valid email address"
	}
	return k
}

// newFlags makes a subcommand's flag set with --db registered.
func newFlags(name string, e env, cfg *config.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("spaceauth "+name, flag.ContinueOnError)
	// A mistyped flag is reported by run with the usage line alone; -h
	// still prints every flag (parse switches the output back for it).
	fs.SetOutput(io.Discard)
	cfg.RegisterDB(fs)
	return fs
}

// parseCommand is the opening of a command that is not a group: the
// default configuration, a flag set with --db and what register adds (nil:
// nothing more), and args parsed into both.
func parseCommand(name string, e env, args []string, register func(*config.Config, *flag.FlagSet)) (config.Config, *flag.FlagSet, error) {
	cfg := config.Default()
	fs := newFlags(name, e, &cfg)
	if register != nil {
		register(&cfg, fs)
	}
	err := parse(fs, args, e)
	return cfg, fs, err
}

// parse parses args, then applies the environment twins of unset flags.
// Flags may come after positional arguments (user disable EMAIL --db X).
func parse(fs *flag.FlagSet, args []string, e env) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(e.stderr)
				fs.Usage()
				return err
			}
			return usageError{msg: err.Error(), line: strings.Join(usageLines(strings.TrimPrefix(fs.Name(), "spaceauth ")), "\n       ")}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// Leave the positional arguments where fs.Args reports them.
	if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
		return usageError{msg: err.Error()}
	}
	if err := config.ApplyEnv(fs, e.getenv); err != nil {
		return usageError{msg: err.Error()}
	}
	return nil
}

// listFlag is a repeatable flag; its environment twin is comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
