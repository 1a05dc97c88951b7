package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/store"
)

// cmdSSO manages the identity providers of businesses (SPEC §8).
func cmdSSO(ctx context.Context, e env, args []string) error {
	return dispatchWith(ctx, e, "sso", args, "add, add-ldap, list or remove", ssoFlags, map[string]subcommand{
		"add": ssoAddOIDC, "add-ldap": ssoAddLDAP, "list": ssoList, "remove": ssoRemove,
	})
}

// ssoFlags are the flags of every sso subcommand.
func ssoFlags(cfg *config.Config, fs *flag.FlagSet) {
	cfg.RegisterKeys(fs)
	fs.StringVar(&cfg.BaseDomain, "base-domain", cfg.BaseDomain, "tenant hosts are {slug}.{base-domain}")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "scheme and port of the redirect URI")
}

// providerFlags are the options both kinds of provider take.
func providerFlags(fs *flag.FlagSet, np *auth.NewProvider) {
	fs.StringVar(&np.BusinessSlug, "business", "", "slug of the business")
	fs.StringVar(&np.Name, "name", "", "name shown on the sign-in button")
	fs.BoolVar(&np.CreateUsers, "create-users", false, "create the user at the first sign-in when unknown (else refuse)")
	fs.BoolVar(&np.NoMemberPasswords, "no-member-passwords", false, "refuse spaceauth passwords for this business's members")
	fs.BoolVar(&np.NoAdminPasswords, "no-admin-passwords", false, "refuse spaceauth passwords for this business's administrators")
}

// parseValid parses the subcommand's arguments and validates the config.
func parseValid(fs *flag.FlagSet, args []string, e env, cfg *config.Config) error {
	if err := parse(fs, args, e); err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return usageError{msg: err.Error()}
	}
	return nil
}

func ssoAddOIDC(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	np := auth.NewProvider{Kind: store.ProviderOIDC}
	var secretStdin bool
	providerFlags(fs, &np)
	fs.StringVar(&np.Issuer, "issuer", "", "issuer (authority) URL; its /.well-known/openid-configuration is read")
	fs.StringVar(&np.ClientID, "client-id", "", "client id registered at the provider")
	fs.StringVar(&np.ClientSecret, "client-secret", "", "client secret (prefer --client-secret-stdin)")
	fs.BoolVar(&secretStdin, "client-secret-stdin", false, "read the client secret from the first line of standard input")
	fs.StringVar(&np.LogoutURL, "logout-url", "", "where signing out of the portal sends the browser (optional)")
	if err := parseValid(fs, args, e, cfg); err != nil {
		return err
	}
	if np.BusinessSlug == "" || np.Name == "" {
		return usagef("--business and --name are required")
	}
	secret, err := readSecret(np.ClientSecret, secretStdin, e, "--client-secret")
	if err != nil {
		return err
	}
	np.ClientSecret = secret
	return addProvider(ctx, e, *cfg, np)
}

func ssoAddLDAP(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	np := auth.NewProvider{Kind: store.ProviderLDAP}
	var secretStdin bool
	providerFlags(fs, &np)
	fs.StringVar(&np.LDAPURL, "url", "", "ldap://HOST:PORT or ldaps://HOST:PORT")
	fs.BoolVar(&np.StartTLS, "starttls", false, "upgrade an ldap:// connection with StartTLS")
	fs.StringVar(&np.BindDNTemplate, "bind-dn-template", "", "DN to bind as, {user} standing for what was typed")
	fs.StringVar(&np.SearchBase, "search-base", "", "where to search for the user's entry")
	fs.StringVar(&np.SearchFilter, "search-filter", "", "filter finding the entry, {user} standing for what was typed")
	fs.StringVar(&np.BindDN, "bind-dn", "", "service account that searches")
	fs.StringVar(&np.BindPassword, "bind-password", "", "service account password (prefer --bind-password-stdin)")
	fs.BoolVar(&secretStdin, "bind-password-stdin", false, "read the service password from the first line of standard input")
	if err := parseValid(fs, args, e, cfg); err != nil {
		return err
	}
	if np.BusinessSlug == "" || np.Name == "" {
		return usagef("--business and --name are required")
	}
	if np.BindDN != "" || np.BindPassword != "" || secretStdin {
		secret, err := readSecret(np.BindPassword, secretStdin, e, "--bind-password")
		if err != nil {
			return err
		}
		np.BindPassword = secret
	}
	return addProvider(ctx, e, *cfg, np)
}

func addProvider(ctx context.Context, e env, cfg config.Config, np auth.NewProvider) error {
	return addAndPrintID(ctx, e, cfg, func(a *app) (int64, error) {
		p, err := a.Auth.AddProvider(ctx, np)
		return p.ID, err
	})
}

// addAndPrintID runs create in the application and prints the new record's
// id, which is what every add command answers.
func addAndPrintID(ctx context.Context, e env, cfg config.Config, create func(a *app) (int64, error)) error {
	return withApp(ctx, cfg, func(a *app) error {
		id, err := create(a)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, id)
		return nil
	})
}

func ssoList(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	var slug string
	fs.StringVar(&slug, "business", "", "only this business's providers")
	if err := parseValid(fs, args, e, cfg); err != nil {
		return err
	}
	return withApp(ctx, *cfg, func(a *app) error {
		list, err := a.Auth.ListProviders(ctx, slug)
		if err != nil {
			return err
		}
		return businessTable(ctx, a, e.stdout, "ID\tBUSINESS\tKIND\tNAME\tENDPOINT\tREDIRECT-URI\tOPTIONS", func(w io.Writer, byID map[int64]store.Business) {
			for _, p := range list {
				b := byID[p.BusinessID]
				endpoint, redirect := p.Issuer, a.Auth.SSORedirectURI(b)
				if p.Kind == store.ProviderLDAP {
					endpoint, redirect = p.LDAPURL, "-"
					if p.StartTLS {
						endpoint += " (starttls)"
					}
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, b.Slug, p.Kind, p.Name, endpoint, redirect, providerOptions(p))
			}
		})
	})
}

func ssoRemove(ctx context.Context, e env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	if err := parseValid(fs, args, e, cfg); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one provider id")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usagef("not a provider id: %q", fs.Arg(0))
	}
	return withApp(ctx, *cfg, func(a *app) error {
		if err := a.Auth.RemoveProvider(ctx, id); err != nil {
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("no provider %d", id)
			}
			return err
		}
		return nil
	})
}

func providerOptions(p store.Provider) string {
	var o []string
	if p.CreateUsers {
		o = append(o, "create-users")
	}
	if p.NoMemberPasswords {
		o = append(o, "no-member-passwords")
	}
	if p.NoAdminPasswords {
		o = append(o, "no-admin-passwords")
	}
	if p.Sealed {
		o = append(o, "sealed")
	}
	if len(o) == 0 {
		return "-"
	}
	return strings.Join(o, ",")
}

// readSecret takes a secret from its flag or standard input (one of them).
func readSecret(flagValue string, fromStdin bool, e env, name string) (string, error) {
	if !fromStdin && flagValue == "" {
		return "", usagef("give %s or %s-stdin", name, name)
	}
	return readPassword(flagValue, fromStdin, e.stdin)
}
