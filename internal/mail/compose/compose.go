package compose

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/spaceauth/spaceauth/internal/i18n"
)

//go:embed templates/*
var files embed.FS

// Message is one composed email: a one-line subject and two alternative
// bodies with the same content.
type Message struct {
	Subject, Text, HTML string
}

// Composer renders the emails. It is immutable after New and safe for
// concurrent use.
type Composer struct {
	cat  *i18n.Catalog
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// kinds are the emails the Composer knows; each has templates/<kind>.txt
// and templates/<kind>.html.
func kinds() []string { return []string{"reset", "password_changed", "sign_in_code"} }

// New parses every template once, so a broken template fails at start-up.
func New(cat *i18n.Catalog) (*Composer, error) {
	if cat == nil {
		return nil, errors.New("compose: nil catalog")
	}
	c := &Composer{
		cat:  cat,
		text: make(map[string]*texttemplate.Template),
		html: make(map[string]*htmltemplate.Template),
	}
	textBase, err := texttemplate.New("common.txt").Funcs(texttemplate.FuncMap{"t": cat.T}).
		ParseFS(files, "templates/common.txt")
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	htmlBase, err := htmltemplate.New("layout.html").Funcs(htmltemplate.FuncMap{"t": cat.T}).
		ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	for _, kind := range kinds() {
		tt, err := withFile(textBase, "templates/"+kind+".txt")
		if err != nil {
			return nil, fmt.Errorf("compose: %s: %w", kind, err)
		}
		ht, err := withFile(htmlBase, "templates/"+kind+".html")
		if err != nil {
			return nil, fmt.Errorf("compose: %s: %w", kind, err)
		}
		c.text[kind], c.html[kind] = tt, ht
	}
	return c, nil
}

// cloner is what text/template and html/template have in common here.
type cloner[T any] interface {
	Clone() (T, error)
	ParseFS(fsys fs.FS, patterns ...string) (T, error)
}

// withFile parses one kind's file into a copy of base (the shared layout),
// so that kinds cannot see each other's definitions.
func withFile[T cloner[T]](base T, name string) (T, error) {
	c, err := base.Clone()
	if err != nil {
		return c, err
	}
	return c.ParseFS(files, name)
}

// data is what every template sees.
type data struct {
	Lang, Subject, BusinessName, UserName string
	Link, LoginURL, Code                  string
	Expiry                                string // localized duration, "60 minutes"
	At                                    string // localized date and time
}

// Reset composes the password-reset email: the link that opens the
// new-password page, how many minutes it lives, and what to do if the
// reader did not ask for it.
func (c *Composer) Reset(lang, businessName, userName, link string, ttl time.Duration) (Message, error) {
	if err := checkLink(link, true); err != nil {
		return Message{}, fmt.Errorf("compose: reset email: %w", err)
	}
	if ttl <= 0 {
		return Message{}, errors.New("compose: reset email without a lifetime")
	}
	d := c.base(lang, businessName, userName)
	d.Link, d.Expiry = link, c.minutes(d.Lang, ttl)
	return c.compose("reset", "email.reset.subject", d)
}

// PasswordChanged composes the notice sent after a password change, with
// the time of the change (shown in at's location) and a sign-in link.
func (c *Composer) PasswordChanged(lang, businessName, userName, loginURL string, at time.Time) (Message, error) {
	if err := checkLink(loginURL, false); err != nil {
		return Message{}, fmt.Errorf("compose: password-changed email: %w", err)
	}
	d := c.base(lang, businessName, userName)
	d.LoginURL, d.At = loginURL, c.cat.DateTime(d.Lang, at)
	return c.compose("password_changed", "email.changed.subject", d)
}

// SignInCode composes the passwordless sign-in email: a one-time code to
// type in and, when link is not empty, a magic link that signs in directly.
func (c *Composer) SignInCode(lang, businessName, userName, code, link string, ttl time.Duration) (Message, error) {
	if code == "" {
		return Message{}, errors.New("compose: sign-in email without a code")
	}
	if ttl <= 0 {
		return Message{}, errors.New("compose: sign-in email without a lifetime")
	}
	if err := checkLink(link, false); err != nil {
		return Message{}, fmt.Errorf("compose: sign-in email: %w", err)
	}
	d := c.base(lang, businessName, userName)
	d.Code, d.Link, d.Expiry = code, link, c.minutes(d.Lang, ttl)
	return c.compose("sign_in_code", "email.code.subject", d)
}

func (c *Composer) base(lang, businessName, userName string) data {
	if l, ok := i18n.Match(lang); ok {
		lang = l
	} else {
		lang = i18n.Fallback
	}
	// Names stored before control characters were refused must not forge
	// lines in the text part ("visit http://evil.test").
	return data{Lang: lang, BusinessName: oneLine(businessName), UserName: oneLine(userName)}
}

func (c *Composer) compose(kind, subjectKey string, d data) (Message, error) {
	d.Subject = oneLine(c.cat.T(d.Lang, subjectKey, d.BusinessName))
	var text, html bytes.Buffer
	if err := c.text[kind].ExecuteTemplate(&text, kind+".txt", d); err != nil {
		return Message{}, fmt.Errorf("compose: %s text: %w", kind, err)
	}
	if err := c.html[kind].Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("compose: %s html: %w", kind, err)
	}
	return Message{Subject: d.Subject, Text: text.String(), HTML: html.String()}, nil
}

// checkLink accepts only absolute http(s) URLs: an email is read outside
// the site, so a relative or script URL would be broken or dangerous.
func checkLink(link string, required bool) error {
	if link == "" {
		if required {
			return errors.New("no link")
		}
		return nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("link: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("link %q is not an absolute http(s) URL", link)
	}
	return nil
}

// minutes renders ttl as a whole number of minutes, rounded up and at least
// one, in lang.
func (c *Composer) minutes(lang string, ttl time.Duration) string {
	n := int((ttl + time.Minute - 1) / time.Minute)
	if n <= 1 {
		return c.cat.T(lang, "email.minutes.one")
	}
	return c.cat.T(lang, "email.minutes.other", n)
}

// oneLine keeps a subject or a name to a single header-safe line: control
// characters (CR and LF above all) and bidirectional overrides become
// spaces and runs of spaces collapse.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
