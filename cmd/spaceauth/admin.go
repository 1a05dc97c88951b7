package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/store"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	cfg := config.Default()
	fs := newFlags("migrate", e, &cfg)
	if err := parse(fs, args, e); err != nil {
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

func cmdBusiness(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: add or list")
	}
	if isHelp(args[0]) {
		return subcommandHelp(e, "business")
	}
	cfg := config.Default()
	fs := newFlags("business "+args[0], e, &cfg)
	cfg.RegisterKEK(fs)
	switch args[0] {
	case "add":
		var nb auth.NewBusiness
		fs.StringVar(&nb.Slug, "slug", "", "short name; the portal is {slug}.{base-domain}")
		fs.StringVar(&nb.Name, "name", "", "display name")
		fs.StringVar(&nb.Language, "language", "en", "default language")
		fs.StringVar(&nb.Domain, "domain", "", "custom portal domain (optional)")
		fs.BoolVar(&nb.HideUnknownEmails, "hide-unknown-emails", false, "answer reset requests for unknown emails as for known ones")
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		if nb.Slug == "" || nb.Name == "" {
			return usagef("--slug and --name are required")
		}
		return withApp(ctx, cfg, func(a *app) error {
			b, err := a.auth.CreateBusiness(ctx, nb, supportedLanguage)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, b.ID)
			return nil
		})
	case "list":
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		return withExistingStore(ctx, cfg, func(a *app) error {
			list, err := a.store.ListBusinesses(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSLUG\tNAME\tLANGUAGE\tDOMAIN\tHIDE-UNKNOWN-EMAILS")
			for _, b := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%t\n", b.ID, safe(b.Slug), safe(b.Name), safe(b.Language), safe(dash(b.Domain)), b.HideUnknownEmails)
			}
			return tw.Flush()
		})
	}
	return usagef("unknown subcommand %q: want add or list", args[0])
}

func cmdUser(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: add, list, disable, enable or set-password")
	}
	if isHelp(args[0]) {
		return subcommandHelp(e, "user")
	}
	cfg := config.Default()
	fs := newFlags("user "+args[0], e, &cfg)
	cfg.RegisterKEK(fs)
	switch args[0] {
	case "add":
		var nu auth.NewUser
		var businesses, roles listFlag
		var pw string
		var pwStdin bool
		fs.StringVar(&nu.Email, "email", "", "email address (unique)")
		fs.StringVar(&nu.Name, "name", "", "full name")
		fs.StringVar(&pw, "password", "", "password (prefer --password-stdin)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
		fs.Var(&businesses, "business", "slug of a business to give the user a profile at (repeatable)")
		fs.BoolVar(&nu.Admin, "admin", false, "administrator of every business")
		fs.Var(&roles, "role", "role to grant, such as User-Edit (repeatable)")
		fs.StringVar(&nu.Language, "language", "en", "preferred language")
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		if nu.Email == "" || nu.Name == "" {
			return usagef("--email and --name are required")
		}
		p, err := readPassword(pw, pwStdin, e.stdin)
		if err != nil {
			return err
		}
		nu.Password, nu.BusinessSlugs, nu.Roles = p, businesses, roles
		if !supportedLanguage(nu.Language) {
			// The same rule as business add (issue #15.7).
			return auth.FieldErrors{"language": {"unsupported language " + nu.Language}}
		}
		return withApp(ctx, cfg, func(a *app) error {
			u, err := a.auth.CreateUser(ctx, nu)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, u.ID)
			return nil
		})
	case "list":
		var slug string
		fs.StringVar(&slug, "business", "", "only users with a profile at this business")
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		return withExistingStore(ctx, cfg, func(a *app) error {
			var bid int64
			if slug != "" {
				b, err := a.store.BusinessBySlug(ctx, slug)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("unknown business %q", slug)
				}
				if err != nil {
					return err
				}
				bid = b.ID
			}
			users, err := a.store.ListUsers(ctx, bid)
			if err != nil {
				return err
			}
			all, err := a.store.ListBusinesses(ctx)
			if err != nil {
				return err
			}
			slugs := map[int64]string{}
			for _, b := range all {
				slugs[b.ID] = b.Slug
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tACTIVE\tADMIN\tROLES\tBUSINESSES")
			for _, u := range users {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\t%s\t%s\n", u.ID, safe(u.Email), safe(u.FullName), u.Active, u.IsAdmin,
					safe(dash(strings.Join(u.Roles, ","))), safe(dash(joinSlugs(u.BusinessIDs, slugs))))
			}
			return tw.Flush()
		})
	case "disable", "enable":
		var email string
		fs.StringVar(&email, "email", "", "the user's email (or give it as the argument)")
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		email, err := oneEmail(email, fs.Args())
		if err != nil {
			return err
		}
		return withApp(ctx, cfg, func(a *app) error {
			u, err := a.auth.SetActive(ctx, email, args[0] == "enable")
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %d %sd\n", u.ID, args[0])
			return nil
		})
	case "set-password":
		var email, pw string
		var pwStdin bool
		fs.StringVar(&email, "email", "", "the user's email (or give it as the argument)")
		fs.StringVar(&pw, "password", "", "new password (prefer --password-stdin)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		email, err := oneEmail(email, fs.Args())
		if err != nil {
			return err
		}
		p, err := readPassword(pw, pwStdin, e.stdin)
		if err != nil {
			return err
		}
		return withApp(ctx, cfg, func(a *app) error {
			u, err := a.auth.SetPassword(ctx, email, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "password of user %d changed; its sessions and tokens are revoked\n", u.ID)
			return nil
		})
	case "require-reset":
		var email string
		fs.StringVar(&email, "email", "", "the user's email (or give it as the argument)")
		if err := parse(fs, args[1:], e); err != nil {
			return err
		}
		email, err := oneEmail(email, fs.Args())
		if err != nil {
			return err
		}
		return withApp(ctx, cfg, func(a *app) error {
			u, err := a.auth.RequireReset(ctx, email)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %d must reset the password before signing in\n", u.ID)
			return nil
		})
	case "import":
		return cmdImport(ctx, e, config.Default(), args[1:])
	}
	return usagef("unknown subcommand %q: want add, list, disable, enable, set-password, require-reset or import", args[0])
}

func cmdKeys(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: rotate or list")
	}
	if isHelp(args[0]) {
		return subcommandHelp(e, "keys")
	}
	cfg := config.Default()
	fs := newFlags("keys "+args[0], e, &cfg)
	cfg.RegisterKeys(fs)
	if err := parse(fs, args[1:], e); err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return usageError{msg: err.Error()}
	}
	switch args[0] {
	case "rotate":
		return withApp(ctx, cfg, func(a *app) error {
			kid, err := a.ring.Rotate(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, kid)
			return nil
		})
	case "list":
		return withExistingStore(ctx, cfg, func(a *app) error {
			keys, err := a.store.SigningKeys(ctx, time.Time{})
			if err != nil {
				return err
			}
			now := time.Now()
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATE\tSEALED")
			for _, k := range keys {
				state := "signing"
				switch {
				case k.RetiredAt.IsZero():
				case now.Before(k.RetiredAt.Add(cfg.MaxValidity)):
					state = "verifying until " + k.RetiredAt.Add(cfg.MaxValidity).UTC().Format(time.RFC3339)
				default:
					state = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\n", k.ID, k.Algorithm, k.CreatedAt.UTC().Format(time.RFC3339), state, k.Sealed)
			}
			return tw.Flush()
		})
	}
	return usagef("unknown subcommand %q: want rotate or list", args[0])
}

// withApp opens the app on cfg.DB for one administrative command.
func withApp(ctx context.Context, cfg config.Config, fn func(a *app) error) error {
	if cfg.PublicURL == "" {
		cfg.PublicURL = config.Default().PublicURL
	}
	a, err := openApp(ctx, cfg, newLogger(io.Discard, "text", "error"), keysAdmin)
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

// joinSlugs names businesses by slug in `user list` (issue #15.7); an id
// with no business left shows as the number.
func joinSlugs(ids []int64, slugs map[int64]string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		if slug, ok := slugs[id]; ok {
			parts[i] = slug
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
