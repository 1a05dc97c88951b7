package compose

import (
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/spaceauth/spaceauth/internal/golden"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// missingKey finds a catalog key shown in place of its text.
var missingKey = regexp.MustCompile(`\b(page|email|date)\.[a-z0-9_]+`)

func newComposer(t *testing.T) *Composer {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatalf("i18n.New: %v", err)
	}
	c, err := New(cat)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

const (
	business  = "Demo Space"
	user      = "Ana García"
	resetLink = "http://demo.localhost:8080/en/user/newPassword?token=abc123&x=1"
	loginURL  = "http://demo.localhost:8080/en/user/login"
	magicLink = "http://demo.localhost:8080/en/user/login?t=eyJ.abc.def"
)

var changedAt = time.Date(2026, time.March, 5, 14, 30, 0, 0, time.UTC)

// emails composes every kind of email in lang with the given names.
func emails(t *testing.T, c *Composer, lang, businessName, userName string) map[string]Message {
	t.Helper()
	out := make(map[string]Message)
	var err error
	if out["reset"], err = c.Reset(lang, businessName, userName, resetLink, time.Hour); err != nil {
		t.Fatalf("Reset(%s): %v", lang, err)
	}
	if out["password_changed"], err = c.PasswordChanged(lang, businessName, userName, loginURL, changedAt); err != nil {
		t.Fatalf("PasswordChanged(%s): %v", lang, err)
	}
	if out["sign_in_code"], err = c.SignInCode(lang, businessName, userName, "042917", magicLink, 10*time.Minute); err != nil {
		t.Fatalf("SignInCode(%s): %v", lang, err)
	}
	return out
}

func TestEveryLanguage(t *testing.T) {
	c := newComposer(t)
	english := emails(t, c, "en", business, user)
	for _, lang := range i18n.Supported() {
		for kind, m := range emails(t, c, lang, business, user) {
			for part, body := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
				if body == "" {
					t.Errorf("%s/%s: empty %s", lang, kind, part)
				}
				if key := missingKey.FindString(body); key != "" {
					t.Errorf("%s/%s %s shows the key %q: a translation is missing", lang, kind, part, key)
				}
				for _, bad := range []string{"%!", "<no value>"} {
					if strings.Contains(body, bad) {
						t.Errorf("%s/%s %s contains %q", lang, kind, part, bad)
					}
				}
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
				t.Errorf("%s/%s: html lang attribute missing", lang, kind)
			}
			if !strings.Contains(m.Subject, business) {
				t.Errorf("%s/%s: subject %q lacks the business name", lang, kind, m.Subject)
			}
			if lang != "en" && m.Subject == english[kind].Subject {
				t.Errorf("%s/%s: subject is the English one", lang, kind)
			}
		}
	}
}

func TestContents(t *testing.T) {
	c := newComposer(t)
	m := emails(t, c, "en", business, user)
	tests := []struct {
		kind string
		text []string
		html []string
	}{
		{
			kind: "reset",
			text: []string{"Hello Ana García,", resetLink, "expires in 60 minutes", "If you did not ask for this"},
			html: []string{`href="http://demo.localhost:8080/en/user/newPassword?token=abc123&amp;x=1"`, "60 minutes"},
		},
		{
			kind: "password_changed",
			text: []string{"March 5, 2026 at 14:30 UTC", loginURL, "contact Demo Space"},
			html: []string{`href="` + loginURL + `"`, "March 5, 2026 at 14:30 UTC"},
		},
		{
			kind: "sign_in_code",
			text: []string{"    042917\n", magicLink, "expire in 10 minutes"},
			html: []string{">042917</p>", `href="` + magicLink + `"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			testkit.Contains(t, "text", m[tt.kind].Text, tt.text, nil)
			testkit.Contains(t, "html", m[tt.kind].HTML, tt.html, nil)
		})
	}
}

func TestMinutes(t *testing.T) {
	c := newComposer(t)
	tests := []struct {
		lang string
		ttl  time.Duration
		want string
	}{
		{"en", time.Hour, "60 minutes"},
		{"en", 10 * time.Minute, "10 minutes"},
		{"en", 90 * time.Second, "2 minutes"},
		{"en", time.Minute, "1 minute"},
		{"en", time.Second, "1 minute"},
		{"de", 30 * time.Minute, "30 Minuten"},
		{"nl", time.Minute, "1 minuut"},
	}
	for _, tt := range tests {
		if got := c.minutes(tt.lang, tt.ttl); got != tt.want {
			t.Errorf("minutes(%s, %v) = %q, want %q", tt.lang, tt.ttl, got, tt.want)
		}
	}
}

func TestLanguageFallback(t *testing.T) {
	c := newComposer(t)
	tests := []struct{ lang, want string }{
		{"pt-br", "Redefina sua senha de Demo Space"},
		{"xx", "Reset your password for Demo Space"},
		{"", "Reset your password for Demo Space"},
	}
	for _, tt := range tests {
		m, err := c.Reset(tt.lang, business, user, resetLink, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != tt.want {
			t.Errorf("Reset(%q).Subject = %q, want %q", tt.lang, m.Subject, tt.want)
		}
	}
}

func TestOptionalParts(t *testing.T) {
	c := newComposer(t)
	m, err := c.SignInCode("en", business, "", "123456", "", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "Hello,\n") {
		t.Errorf("anonymous greeting missing:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "Or sign in directly") || strings.Contains(m.HTML, "<a ") {
		t.Error("link section shown without a link")
	}
	m, err = c.PasswordChanged("en", business, user, "", changedAt)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "To sign in again") || strings.Contains(m.HTML, "<a ") {
		t.Error("sign-in section shown without a URL")
	}
}

func TestInvalidArguments(t *testing.T) {
	c := newComposer(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"reset without link", func() error {
			_, err := c.Reset("en", business, user, "", time.Hour)
			return err
		}},
		{"reset without lifetime", func() error {
			_, err := c.Reset("en", business, user, resetLink, 0)
			return err
		}},
		{"code without code", func() error {
			_, err := c.SignInCode("en", business, user, "", magicLink, time.Minute)
			return err
		}},
		{"reset with a script link", func() error {
			_, err := c.Reset("en", business, user, "javascript:alert(1)", time.Hour)
			return err
		}},
		{"reset with a relative link", func() error {
			_, err := c.Reset("en", business, user, "/en/user/newPassword?token=x", time.Hour)
			return err
		}},
		{"changed with a script link", func() error {
			_, err := c.PasswordChanged("en", business, user, "javascript:alert(1)", changedAt)
			return err
		}},
		{"code with a script link", func() error {
			_, err := c.SignInCode("en", business, user, "123456", "javascript:alert(1)", time.Minute)
			return err
		}},
		{"code without lifetime", func() error {
			_, err := c.SignInCode("en", business, user, "123456", magicLink, -time.Minute)
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.call(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil): no error")
	}
}

func TestEscaping(t *testing.T) {
	c := newComposer(t)
	const hostile = "<script>alert(1)</script>\r\nBcc: victim@example.com"
	for kind, m := range emails(t, c, "en", hostile, hostile) {
		if strings.Contains(m.HTML, "<script") {
			t.Errorf("%s: unescaped <script> in HTML:\n%s", kind, m.HTML)
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;") {
			t.Errorf("%s: escaped name missing from HTML", kind)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("%s: subject %q spans lines", kind, m.Subject)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Plain subject", "Plain subject"},
		{"a\r\nb", "a b"},
		{"  a \t\x00 b  ", "a b"},
		{"\u0085x", "x"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGolden(t *testing.T) {
	c := newComposer(t)
	for kind, m := range emails(t, c, "en", business, user) {
		golden(t, filepath.Join("testdata", kind+".golden"),
			"Subject: "+m.Subject+"\n\n--- text ---\n"+m.Text+"\n--- html ---\n"+m.HTML+"\n")
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	goldenfile.Check(t, path, got, *update)
}
