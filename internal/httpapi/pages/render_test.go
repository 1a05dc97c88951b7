package pages

import (
	"flag"
	"net/http"
	"net/http/httptest"
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

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatalf("i18n.New: %v", err)
	}
	r, err := New(cat)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// fixture is a page with every field set, so every branch that shows data
// is exercised.
func fixture(lang string) Page {
	created := time.Date(2026, time.March, 5, 9, 15, 0, 0, time.UTC)
	return Page{
		Lang:         lang,
		BusinessName: "Demo Space",
		CSRF:         "csrf-token-123",
		Email:        "ana@example.com",
		Token:        "tok-abc",
		LoginURL:     "/" + lang + "/user/login",
		ForgotURL:    "/" + lang + "/user/forgotPassword",
		LogoutURL:    "/" + lang + "/user/logout",
		AccountURL:   "/" + lang + "/user/account",
		ActionURL:    "/" + lang + "/user/action",
		User:         &UserView{Name: "Ana García", Email: "ana@example.com"},
		Sessions: []SessionView{
			{ID: 1, Device: "Firefox on Linux", ClientIP: "192.0.2.10", CreatedAt: created, LastSeenAt: created.Add(26 * time.Hour), Current: true},
			{ID: 2, Device: "", ClientIP: "2001:db8::1", CreatedAt: created.Add(-72 * time.Hour), LastSeenAt: created.Add(-70 * time.Hour)},
		},
	}
}

func render(t *testing.T, r *Renderer, status int, name string, p Page) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Render(rec, status, name, p)
	return rec
}

func TestEveryPageInEveryLanguage(t *testing.T) {
	r := newRenderer(t)
	for _, lang := range i18n.Supported() {
		for _, name := range Names() {
			for _, totp := range []bool{false, true} {
				p := fixture(lang)
				p.TOTPStep = totp
				rec := render(t, r, http.StatusOK, name, p)
				body := rec.Body.String()
				if rec.Code != http.StatusOK {
					t.Fatalf("%s/%s: status %d: %s", lang, name, rec.Code, body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("%s/%s: Content-Type %q", lang, name, ct)
				}
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s/%s: no html lang attribute", lang, name)
				}
				if key := missingKey.FindString(body); key != "" {
					t.Errorf("%s/%s: body shows the key %q: a translation is missing", lang, name, key)
				}
				for _, bad := range []string{"%!", "<no value>"} {
					if strings.Contains(body, bad) {
						t.Errorf("%s/%s: body contains %q (bad format)", lang, name, bad)
					}
				}
				if !strings.Contains(body, `<link rel="stylesheet" href="/static/style.css">`) {
					t.Errorf("%s/%s: stylesheet not linked", lang, name)
				}
				if strings.Count(body, `<form method="post"`) != strings.Count(body, `name="csrf" value="csrf-token-123"`) {
					t.Errorf("%s/%s: a POST form lacks the csrf field", lang, name)
				}
			}
		}
	}
}

func TestPageContents(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		name  string
		page  string
		edit  func(*Page)
		want  []string
		avoid []string
	}{
		{
			name: "login", page: "login",
			want: []string{
				`action="/en/user/action"`, `name="email"`, `value="ana@example.com"`, `name="password"`,
				`href="/en/user/forgotPassword"`, `<title>Sign in · Demo Space</title>`,
			},
			avoid: []string{`name="totp"`},
		},
		{
			name: "login with message and errors", page: "login",
			edit: func(p *Page) {
				p.Message = "The email address or password you entered is not valid."
				p.Errors = []string{"This field is required."}
			},
			want: []string{`role="status">The email address or password you entered is not valid.</p>`, `<li>This field is required.</li>`},
		},
		{
			name: "login with identity providers", page: "login",
			edit: func(p *Page) {
				p.SSO = []SSOButton{{Name: "Google", URL: "/en/user/sso/1?redirectUrl=%2Fen%2Fuser%2Faccount"}, {Name: `Acme <"IdP">`, URL: "/en/user/sso/2"}}
			},
			want: []string{`Or sign in with:`, `<a class="button sso-provider" href="/en/user/sso/1?redirectUrl=%2Fen%2Fuser%2Faccount">Sign in with Google</a>`,
				`Sign in with Acme &lt;&#34;IdP&#34;&gt;</a>`},
		},
		{
			name: "login without identity providers", page: "login",
			avoid: []string{`sso-provider`, `Or sign in with`},
		},
		{
			name: "login totp step", page: "login",
			edit: func(p *Page) { p.TOTPStep = true },
			want: []string{
				`name="totp"`, `autocomplete="one-time-code"`, `<input type="hidden" name="email" value="ana@example.com">`,
				`<input type="hidden" name="token" value="tok-abc">`, `Two-factor authentication`,
			},
			avoid: []string{`name="password"`},
		},
		{
			name: "forgot", page: "forgot",
			edit: func(p *Page) {
				p.Message = "We have sent you an email with instructions on how to change your password."
			},
			want: []string{`action="/en/user/action"`, `name="email"`, `We have sent you an email`, `href="/en/user/login"`},
		},
		{
			name: "new password", page: "new_password",
			edit: func(p *Page) { p.Errors = []string{"The two passwords do not match."} },
			want: []string{
				`name="password"`, `name="confirm"`, `<input type="hidden" name="token" value="tok-abc">`,
				`<li>The two passwords do not match.</li>`, `autocomplete="new-password"`,
			},
		},
		{
			name: "new password done", page: "new_password_done",
			want: []string{`href="/en/user/login"`, `Password changed`},
		},
		{
			name: "account", page: "account",
			want: []string{
				`Signed in as Ana García (ana@example.com).`, `Firefox on Linux`, `This device`, `192.0.2.10`,
				`Unknown device`, `March 6, 2026 at 11:15 UTC`, `datetime="2026-03-06T11:15:00Z"`,
				`<input type="hidden" name="everywhere" value="1">`, `action="/en/user/logout"`,
			},
		},
		{
			name: "account without name or sessions", page: "account",
			edit: func(p *Page) { p.User.Name = ""; p.Sessions = nil },
			want: []string{`Signed in as ana@example.com.`, `There are no active sessions.`},
		},
		{
			name: "error", page: "error",
			edit: func(p *Page) { p.Status = 404; p.Message = "Not found." },
			want: []string{`Error 404`, `Not found.`, `href="/en/user/login"`},
		},
		{
			name: "error without message", page: "error",
			want: []string{`Error 200`, `The page could not be shown.`},
		},
		{
			name: "link invalid", page: "link_invalid",
			want: []string{`This sign-in link is invalid or has expired.`, `href="/en/user/login"`},
		},
		{
			name: "no business name", page: "login",
			edit: func(p *Page) { p.BusinessName = "" },
			want: []string{`<title>Sign in · Member portal</title>`},
		},
		{
			name: "region and unknown language", page: "login",
			edit: func(p *Page) { p.Lang = "pt-br" },
			want: []string{`<html lang="pt">`, `Entrar`},
		},
		{
			name: "unsupported language renders English", page: "login",
			edit: func(p *Page) { p.Lang = "xx" },
			want: []string{`<html lang="en">`, `Sign in`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fixture("en")
			if tt.edit != nil {
				tt.edit(&p)
			}
			body := render(t, r, http.StatusOK, tt.page, p).Body.String()
			testkit.Contains(t, "body", body, tt.want, tt.avoid)
		})
	}
}

func TestRenderStatus(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		status, want int
		wantText     string
	}{
		{0, 200, "Error 200"},
		{401, 401, "Error 401"},
		{500, 500, "Error 500"},
	}
	for _, tt := range tests {
		rec := render(t, r, tt.status, "error", Page{Lang: "en"})
		if rec.Code != tt.want {
			t.Errorf("status %d: got %d", tt.status, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), tt.wantText) {
			t.Errorf("status %d: body lacks %q", tt.status, tt.wantText)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
	}
}

func TestRenderUnknownPageIsPlain500(t *testing.T) {
	r := newRenderer(t)
	rec := render(t, r, http.StatusOK, "nope", fixture("en"))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(rec.Body.String(), "<html") {
		t.Error("error body is HTML")
	}
}

func TestNewNilCatalog(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

func TestEscaping(t *testing.T) {
	r := newRenderer(t)
	const hostile = `<script>alert("x")</script>`
	p := fixture("en")
	p.BusinessName = hostile
	p.Email = `"><script>alert(1)</script>`
	p.Token = `"><script>alert(2)</script>`
	p.CSRF = `"><script>alert(3)</script>`
	p.Message = hostile
	p.Errors = []string{hostile}
	p.User = &UserView{Name: hostile, Email: hostile}
	p.Sessions[0].Device = hostile
	p.Sessions[0].ClientIP = hostile
	p.LoginURL = `javascript:alert(1)`
	p.ForgotURL = `javascript:alert(1)`
	for _, name := range Names() {
		for _, totp := range []bool{false, true} {
			p.TOTPStep = totp
			body := render(t, r, http.StatusOK, name, p).Body.String()
			if strings.Contains(body, "<script") {
				t.Errorf("%s (totp %v): unescaped <script>:\n%s", name, totp, body)
			}
			if strings.Contains(body, "javascript:") {
				t.Errorf("%s (totp %v): javascript: URL survived", name, totp)
			}
			if !strings.Contains(body, "&lt;script&gt;") {
				t.Errorf("%s (totp %v): escaped business name missing", name, totp)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		file   string
		page   string
		status int
		edit   func(*Page)
	}{
		{"login.html", "login", 200, func(p *Page) { p.Email = "" }},
		{"login_error.html", "login", 200, func(p *Page) {
			p.Message = "The email address or password you entered is not valid."
		}},
		{"login_totp.html", "login", 200, func(p *Page) { p.TOTPStep = true }},
		{"forgot.html", "forgot", 200, func(p *Page) { p.Email = "" }},
		{"forgot_sent.html", "forgot", 200, func(p *Page) {
			p.Message = "We have sent you an email with instructions on how to change your password."
		}},
		{"new_password.html", "new_password", 200, func(p *Page) {
			p.Errors = []string{"The password must have at least 8 characters.", "The two passwords do not match."}
		}},
		{"new_password_done.html", "new_password_done", 200, nil},
		{"account.html", "account", 200, nil},
		{"login_passkey.html", "login", 200, func(p *Page) {
			p.Email = ""
			p.Passkey = &PasskeySignInView{BeginURL: "/en/user/passkey/begin", ActionURL: "/en/user/passkey?redirectUrl=%2Fen%2Fhome"}
		}},
		{"account_security.html", "account", 200, func(p *Page) {
			p.Passkeys = []PasskeyView{{ID: 7, Name: "Laptop <work>", CreatedAt: p.Sessions[0].CreatedAt, LastUsedAt: p.Sessions[0].LastSeenAt,
				RenameURL: "/en/user/account/passkeys/7/rename", RemoveURL: "/en/user/account/passkeys/7/remove"}}
			p.Security = &SecurityView{SetupSecret: "JBSWY3DPEHPK3PXP", SetupQR: "data:image/png;base64,iVBORw0KGgo=",
				PasskeyBeginURL: "/en/user/account/passkeys/begin", PasskeyAddURL: "/en/user/account/passkeys",
				TOTPStartURL: "/en/user/account/totp", TOTPConfirmURL: "/en/user/account/totp/confirm",
				TOTPRecoveryURL: "/en/user/account/totp/recovery", TOTPDisableURL: "/en/user/account/totp/disable"}
		}},
		{"account_recovery.html", "account", 200, func(p *Page) {
			p.Security = &SecurityView{TOTPEnabled: true, RecoveryCodes: []string{"abcd2345efgh6", "ijkl7mnop2qrs"},
				RecoveryDownload: "data:text/plain;charset=utf-8,abcd2345efgh6%0D%0Aijkl7mnop2qrs%0D%0A",
				PasskeyBeginURL:  "/en/user/account/passkeys/begin", PasskeyAddURL: "/en/user/account/passkeys",
				TOTPStartURL: "/en/user/account/totp", TOTPConfirmURL: "/en/user/account/totp/confirm",
				TOTPRecoveryURL: "/en/user/account/totp/recovery", TOTPDisableURL: "/en/user/account/totp/disable"}
		}},
		{"error.html", "error", 404, func(p *Page) { p.Message = "Not found." }},
		{"link_invalid.html", "link_invalid", 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := fixture("en")
			if tt.edit != nil {
				tt.edit(&p)
			}
			rec := render(t, r, tt.status, tt.page, p)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			golden(t, filepath.Join("testdata", tt.file+".golden"), rec.Body.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	goldenfile.Check(t, path, got, *update)
}
