package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/wire"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	cfg, _, err := parseCommand("migrate", e, args, nil)
	if err != nil {
		return err
	}
	a, err := openStoreOnly(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	cur, target, err := a.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema at version %d of %d\n", cur, target)
	return nil
}

// subcommand runs one subcommand of a group on its flag set (already
// holding --db and what the group registers) and its arguments.
type subcommand func(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error

// dispatch runs the subcommand args[0] of group; names lists them, in the
// order the usage messages give. Every subcommand takes --db and
// --key-encryption-key.
func dispatch(ctx context.Context, e env, group string, args []string, names string, subs map[string]subcommand) error {
	return dispatchWith(ctx, e, group, args, names, func(cfg *config.Config, fs *flag.FlagSet) { cfg.RegisterKEK(fs) }, subs)
}

// dispatchWith is dispatch with the group's own common flags.
func dispatchWith(ctx context.Context, e env, group string, args []string, names string,
	common func(cfg *config.Config, fs *flag.FlagSet), subs map[string]subcommand) error {
	if len(args) == 0 {
		return usagef("want a subcommand: %s", names)
	}
	if isHelp(args[0]) {
		return subcommandHelp(e, group)
	}
	run, ok := subs[args[0]]
	if !ok {
		return usagef("unknown subcommand %q: want %s", args[0], names)
	}
	cfg := config.Default()
	fs := newFlags(group+" "+args[0], e, &cfg)
	common(&cfg, fs)
	return run(ctx, e, &cfg, fs, args[1:])
}

func cmdBusiness(ctx context.Context, e env, args []string) error {
	return dispatch(ctx, e, "business", args, "add or list", map[string]subcommand{
		"add": businessAdd, "list": businessList,
	})
}

func businessAdd(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	var nb auth.NewBusiness
	fs.StringVar(&nb.Slug, "slug", "", "short name; the portal is {slug}.{base-domain}")
	fs.StringVar(&nb.Name, "name", "", "display name")
	fs.StringVar(&nb.Language, "language", "en", "default language")
	fs.StringVar(&nb.Domain, "domain", "", "custom portal domain (optional)")
	fs.BoolVar(&nb.HideUnknownEmails, "hide-unknown-emails", false, "answer reset requests for unknown emails as for known ones")
	if err := parse(fs, args, e); err != nil {
		return err
	}
	if nb.Slug == "" || nb.Name == "" {
		return usagef("--slug and --name are required")
	}
	return addAndPrintID(ctx, e, *cfg, func(a *app) (int64, error) {
		b, err := a.Auth.CreateBusiness(ctx, nb, supportedLanguage)
		return b.ID, err
	})
}

func businessList(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args, e); err != nil {
		return err
	}
	return withExistingStore(ctx, *cfg, func(a *app) error {
		list, err := a.Store.ListBusinesses(ctx)
		if err != nil {
			return err
		}
		return table(e.stdout, "ID\tSLUG\tNAME\tLANGUAGE\tDOMAIN\tHIDE-UNKNOWN-EMAILS", func(w io.Writer) {
			for _, b := range list {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%t\n", b.ID, safe(b.Slug), safe(b.Name), safe(b.Language), safe(dash(b.Domain)), b.HideUnknownEmails)
			}
		})
	})
}

func cmdUser(ctx context.Context, e env, args []string) error {
	return dispatch(ctx, e, "user", args, "add, list, disable, enable, set-password, require-reset or import", map[string]subcommand{
		"add":  userAdd,
		"list": userList,
		"disable": func(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
			return userSetActive(ctx, e, cfg, fs, args, false)
		},
		"enable": func(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
			return userSetActive(ctx, e, cfg, fs, args, true)
		},
		"set-password":  userSetPassword,
		"require-reset": userRequireReset,
		"import": func(ctx context.Context, e env, _ *config.Config, _ *flag.FlagSet, args []string) error {
			return cmdImport(ctx, e, config.Default(), args)
		},
	})
}

func userAdd(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	var nu auth.NewUser
	var businesses, roles listFlag
	fs.StringVar(&nu.Email, "email", "", "email address (unique)")
	fs.StringVar(&nu.Name, "name", "", "full name")
	password := passwordFlags(fs, "password")
	fs.Var(&businesses, "business", "slug of a business to give the user a profile at (repeatable)")
	fs.BoolVar(&nu.Admin, "admin", false, "administrator of every business")
	fs.Var(&roles, "role", "role to grant, such as User-Edit (repeatable)")
	fs.StringVar(&nu.Language, "language", "en", "preferred language")
	if err := parse(fs, args, e); err != nil {
		return err
	}
	if nu.Email == "" || nu.Name == "" {
		return usagef("--email and --name are required")
	}
	p, err := password(e.stdin)
	if err != nil {
		return err
	}
	nu.Password, nu.BusinessSlugs, nu.Roles = p, businesses, roles
	if !supportedLanguage(nu.Language) {
		// The same rule as business add (issue #15.7).
		return auth.FieldErrors{"language": {"unsupported language " + nu.Language}}
	}
	return addAndPrintID(ctx, e, *cfg, func(a *app) (int64, error) {
		u, err := a.Auth.CreateUser(ctx, nu)
		return u.ID, err
	})
}

func userList(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	var slug string
	fs.StringVar(&slug, "business", "", "only users with a profile at this business")
	if err := parse(fs, args, e); err != nil {
		return err
	}
	return withExistingStore(ctx, *cfg, func(a *app) error {
		var bid int64
		if slug != "" {
			b, err := a.Store.BusinessBySlug(ctx, slug)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("unknown business %q", slug)
			}
			if err != nil {
				return err
			}
			bid = b.ID
		}
		users, err := a.Store.ListUsers(ctx, bid)
		if err != nil {
			return err
		}
		return businessTable(ctx, a, e.stdout, "ID\tEMAIL\tNAME\tACTIVE\tADMIN\tROLES\tBUSINESSES", func(w io.Writer, byID map[int64]store.Business) {
			for _, u := range users {
				fmt.Fprintf(w, "%d\t%s\t%s\t%t\t%t\t%s\t%s\n", u.ID, safe(u.Email), safe(u.FullName), u.Active, u.IsAdmin,
					safe(dash(strings.Join(u.Roles, ","))), safe(dash(joinSlugs(u.BusinessIDs, byID))))
			}
		})
	})
}

func userSetActive(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string, active bool) error {
	return onUserEmail(ctx, e, cfg, fs, args, nil, func(a *app, email string) (string, error) {
		u, err := a.Auth.SetActive(ctx, email, active)
		if active {
			return fmt.Sprintf("user %d enabled", u.ID), err
		}
		return fmt.Sprintf("user %d disabled", u.ID), err
	})
}

func userSetPassword(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	password := passwordFlags(fs, "new password")
	var p string
	read := func() (err error) {
		p, err = password(e.stdin)
		return err
	}
	return onUserEmail(ctx, e, cfg, fs, args, read, func(a *app, email string) (string, error) {
		u, err := a.Auth.SetPassword(ctx, email, p)
		return fmt.Sprintf("password of user %d changed; its sessions and tokens are revoked", u.ID), err
	})
}

func userRequireReset(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	return onUserEmail(ctx, e, cfg, fs, args, nil, func(a *app, email string) (string, error) {
		u, err := a.Auth.RequireReset(ctx, email)
		return fmt.Sprintf("user %d must reset the password before signing in", u.ID), err
	})
}

// onUserEmail runs a user subcommand on one email, given as --email or as
// the argument: prepare (when set) runs after the arguments are checked and
// before the database is opened; act's message is printed on success.
func onUserEmail(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string,
	prepare func() error, act func(a *app, email string) (string, error)) error {
	var email string
	fs.StringVar(&email, "email", "", "the user's email (or give it as the argument)")
	if err := parse(fs, args, e); err != nil {
		return err
	}
	email, err := oneEmail(email, fs.Args())
	if err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			return err
		}
	}
	return withApp(ctx, *cfg, func(a *app) error {
		msg, err := act(a, email)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, msg)
		return nil
	})
}

// passwordFlags registers --password and --password-stdin; the returned
// function reads the password they give, after parsing.
func passwordFlags(fs *flag.FlagSet, what string) func(stdin io.Reader) (string, error) {
	var pw string
	var fromStdin bool
	fs.StringVar(&pw, "password", "", what+" (prefer --password-stdin)")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return func(stdin io.Reader) (string, error) { return readPassword(pw, fromStdin, stdin) }
}

// table writes a tab-aligned table: the header line, then what rows writes.
func table(w io.Writer, header string, rows func(w io.Writer)) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

func cmdKeys(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: rotate or list")
	}
	if isHelp(args[0]) {
		return subcommandHelp(e, "keys")
	}
	cfg, _, err := parseCommand("keys "+args[0], e, args[1:], (*config.Config).RegisterKeys)
	if err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return usageError{msg: err.Error()}
	}
	switch args[0] {
	case "rotate":
		return withApp(ctx, cfg, func(a *app) error {
			kid, err := a.Ring.Rotate(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, kid)
			return nil
		})
	case "list":
		return withExistingStore(ctx, cfg, func(a *app) error {
			keys, err := a.Store.SigningKeys(ctx, time.Time{})
			if err != nil {
				return err
			}
			now := time.Now()
			return table(e.stdout, "KID\tALG\tCREATED\tSTATE\tSEALED", func(w io.Writer) {
				for _, k := range keys {
					state := "signing"
					switch {
					case k.RetiredAt.IsZero():
					case now.Before(k.RetiredAt.Add(cfg.MaxValidity)):
						state = "verifying until " + k.RetiredAt.Add(cfg.MaxValidity).UTC().Format(time.RFC3339)
					default:
						state = "expired"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\n", k.ID, k.Algorithm, k.CreatedAt.UTC().Format(time.RFC3339), state, k.Sealed)
				}
			})
		})
	}
	return usagef("unknown subcommand %q: want rotate or list", args[0])
}

// withApp opens the app on cfg.DB for one administrative command.
func withApp(ctx context.Context, cfg config.Config, fn func(a *app) error) error {
	if cfg.PublicURL == "" {
		cfg.PublicURL = config.Default().PublicURL
	}
	a, err := openApp(ctx, cfg, wire.NewLogger(io.Discard, "text", "error"), wire.KeysAdmin)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func oneEmail(flagValue string, rest []string) (string, error) {
	switch {
	case flagValue != "" && len(rest) == 0:
		return flagValue, nil
	case flagValue == "" && len(rest) == 1:
		return rest[0], nil
	}
	return "", usagef("give exactly one user email, as --email or as the argument")
}

func readPassword(flagValue string, fromStdin bool, stdin io.Reader) (string, error) {
	switch {
	case fromStdin && flagValue != "":
		return "", usagef("give only one of --password and --password-stdin")
	case fromStdin:
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", usagef("no password on standard input")
		}
		return line, nil
	case flagValue != "":
		return flagValue, nil
	}
	return "", usagef("give --password or --password-stdin")
}

func randomPassword() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// businessTable is table for rows that name businesses: rows has every
// business at hand by id.
func businessTable(ctx context.Context, a *app, w io.Writer, header string, rows func(w io.Writer, byID map[int64]store.Business)) error {
	all, err := a.Store.ListBusinesses(ctx)
	if err != nil {
		return err
	}
	byID := make(map[int64]store.Business, len(all))
	for _, b := range all {
		byID[b.ID] = b
	}
	return table(w, header, func(w io.Writer) { rows(w, byID) })
}

// joinSlugs names businesses by slug in `user list` (issue #15.7); an id
// with no business left shows as the number.
func joinSlugs(ids []int64, byID map[int64]store.Business) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		if b, ok := byID[id]; ok {
			parts[i] = b.Slug
		} else {
			parts[i] = fmt.Sprint(id)
		}
	}
	return strings.Join(parts, ",")
}

// supportedLanguage: a language code of the supported set, exactly.
func supportedLanguage(l string) bool {
	_, ok := i18n.Match(l)
	return ok && !strings.Contains(l, "-")
}
