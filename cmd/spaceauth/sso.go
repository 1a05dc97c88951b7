package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/store"
)

// cmdSSO manages the identity providers of businesses (SPEC §8).
func cmdSSO(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: add, add-ldap, list or remove")
	}
	cfg := config.Default()
	fs := newFlags("sso "+args[0], e, &cfg)
	cfg.RegisterKeys(fs)
	fs.StringVar(&cfg.BaseDomain, "base-domain", cfg.BaseDomain, "tenant hosts are {slug}.{base-domain}")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "scheme and port of the redirect URI")
	var np auth.NewProvider
	var secretStdin bool
	options := func() {
		fs.StringVar(&np.BusinessSlug, "business", "", "slug of the business")
		fs.StringVar(&np.Name, "name", "", "name shown on the sign-in button")
		fs.BoolVar(&np.CreateUsers, "create-users", false, "create the user at the first sign-in when unknown (else refuse)")
		fs.BoolVar(&np.NoMemberPasswords, "no-member-passwords", false, "refuse spaceauth passwords for this business's members")
		fs.BoolVar(&np.NoAdminPasswords, "no-admin-passwords", false, "refuse spaceauth passwords for this business's administrators")
	}
	switch args[0] {
	case "add":
		np.Kind = store.ProviderOIDC
		options()
		fs.StringVar(&np.Issuer, "issuer", "", "issuer (authority) URL; its /.well-known/openid-configuration is read")
		fs.StringVar(&np.ClientID, "client-id", "", "client id registered at the provider")
		fs.StringVar(&np.ClientSecret, "client-secret", "", "client secret (prefer --client-secret-stdin)")
		fs.BoolVar(&secretStdin, "client-secret-stdin", false, "read the client secret from the first line of standard input")
		fs.StringVar(&np.LogoutURL, "logout-url", "", "where signing out of the portal sends the browser (optional)")
	case "add-ldap":
		np.Kind = store.ProviderLDAP
		options()
		fs.StringVar(&np.LDAPURL, "url", "", "ldap://HOST:PORT or ldaps://HOST:PORT")
		fs.BoolVar(&np.StartTLS, "starttls", false, "upgrade an ldap:// connection with StartTLS")
		fs.StringVar(&np.BindDNTemplate, "bind-dn-template", "", "DN to bind as, {user} standing for what was typed")
		fs.StringVar(&np.SearchBase, "search-base", "", "where to search for the user's entry")
		fs.StringVar(&np.SearchFilter, "search-filter", "", "filter finding the entry, {user} standing for what was typed")
		fs.StringVar(&np.BindDN, "bind-dn", "", "service account that searches")
		fs.StringVar(&np.BindPassword, "bind-password", "", "service account password (prefer --bind-password-stdin)")
		fs.BoolVar(&secretStdin, "bind-password-stdin", false, "read the service password from the first line of standard input")
	case "list":
		fs.StringVar(&np.BusinessSlug, "business", "", "only this business's providers")
	case "remove":
	default:
		return usagef("unknown subcommand %q: want add, add-ldap, list or remove", args[0])
	}
	if err := parse(fs, args[1:], e); err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return usageError{msg: err.Error()}
	}
	switch args[0] {
	case "add", "add-ldap":
		if np.BusinessSlug == "" || np.Name == "" {
			return usagef("--business and --name are required")
		}
		if args[0] == "add" {
			secret, err := readSecret(np.ClientSecret, secretStdin, e, "--client-secret")
			if err != nil {
				return err
			}
			np.ClientSecret = secret
		} else if np.BindDN != "" || np.BindPassword != "" || secretStdin {
			secret, err := readSecret(np.BindPassword, secretStdin, e, "--bind-password")
			if err != nil {
				return err
			}
			np.BindPassword = secret
		}
		return withApp(ctx, cfg, func(a *app) error {
			p, err := a.auth.AddProvider(ctx, np)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, p.ID)
			return nil
		})
	case "list":
		return withApp(ctx, cfg, func(a *app) error {
			list, err := a.auth.ListProviders(ctx, np.BusinessSlug)
			if err != nil {
				return err
			}
			businesses, err := a.store.ListBusinesses(ctx)
			if err != nil {
				return err
			}
			byID := map[int64]store.Business{}
			for _, b := range businesses {
				byID[b.ID] = b
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tBUSINESS\tKIND\tNAME\tENDPOINT\tREDIRECT-URI\tOPTIONS")
			for _, p := range list {
				b := byID[p.BusinessID]
				endpoint, redirect := p.Issuer, a.auth.SSORedirectURI(b)
				if p.Kind == store.ProviderLDAP {
					endpoint, redirect = p.LDAPURL, "-"
					if p.StartTLS {
						endpoint += " (starttls)"
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, b.Slug, p.Kind, p.Name, endpoint, redirect, providerOptions(p))
			}
			return tw.Flush()
		})
	default: // remove
		if fs.NArg() != 1 {
			return usagef("give exactly one provider id")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return usagef("not a provider id: %q", fs.Arg(0))
		}
		return withApp(ctx, cfg, func(a *app) error {
			if err := a.auth.RemoveProvider(ctx, id); err != nil {
				if err == auth.ErrNotFound {
					return fmt.Errorf("no provider %d", id)
				}
				return err
			}
			return nil
		})
	}
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
