package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/testkit"
)

// The rough edges a new operator hit (issue #15.3-#15.6), through the real
// server. Each failed before its fix.

func TestTenantRootGoesToSignIn(t *testing.T) {
	h := newHarness(t)
	h.seed()
	c := h.client()
	tests := []struct {
		name, url, want string
		status          int
	}{
		{"tenant root, business language en", h.tenant("demo") + "/", "/en/user/login", http.StatusFound},
		{"tenant root, business language fr", h.tenant("other") + "/", "/fr/user/login", http.StatusFound},
		{"system host root stays unknown", h.base() + "/", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, hdr, _ := do(t, c, "GET", tt.url, "", "", "Accept", "text/html")
			if st != tt.status || hdr.Get("Location") != tt.want {
				t.Errorf("GET %s: %d %q, want %d %q", tt.url, st, hdr.Get("Location"), tt.status, tt.want)
			}
		})
	}
}

func TestErrorPagesBranded(t *testing.T) {
	h := newHarness(t)
	h.seed()
	c := h.client()
	tests := []struct {
		name, url string
		want      []string
		not       []string
	}{
		{"unknown path under /de/ on demo", h.tenant("demo") + "/de/no/such/page", []string{"Demo Space", `lang="de"`, "Nicht gefunden", `class="message error"`}, []string{"<title>Something"}},
		{"unknown path on other uses its language", h.tenant("other") + "/nothing-here", []string{"Other Space", `lang="fr"`}, nil},
		{"unsupported language on demo", h.tenant("demo") + "/xx/user/login", []string{"Demo Space"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, page := do(t, c, "GET", tt.url, "", "", "Accept", "text/html")
			if st != http.StatusNotFound {
				t.Fatalf("GET %s: %d", tt.url, st)
			}
			testkit.Contains(t, "the 404 page", page, tt.want, tt.not)
		})
	}
}

// portalForm posts the sign-in form with a fresh browser and returns the page.
func portalForm(t *testing.T, l *lab, slug, email, password string) (int, string) {
	t.Helper()
	b := l.client(t)
	_, _, page := do(t, b, "GET", l.h.tenant(slug)+"/en/user/login", "", "")
	token := csrfRE.FindStringSubmatch(page)[1]
	st, _, page := do(t, b, "POST", l.h.tenant(slug)+"/en/user/login", ctForm, form("csrf", token, "email", email, "password", password))
	return st, page
}

func TestSignInFormProblems(t *testing.T) {
	l := newLab(t, newHarness(t))
	t.Run("a failed sign-in keeps the email, shown as an error", func(t *testing.T) {
		st, page := portalForm(t, l, "demo", "alice@example.com", "wrong password here")
		if st != http.StatusUnauthorized || !strings.Contains(page, `value="alice@example.com"`) {
			t.Errorf("email not kept: %d %s", st, page)
		}
		if !strings.Contains(page, `class="errors"`) || strings.Contains(page, `class="message"`) {
			t.Errorf("the failure is not styled as an error: %s", page)
		}
	})
	t.Run("right password, no profile: not a member", func(t *testing.T) {
		st, page := portalForm(t, l, "demo", "bob@example.com", pw)
		if st != http.StatusUnauthorized || !strings.Contains(page, "not a member of Demo Space") {
			t.Errorf("bob at demo: %d %s", st, page)
		}
	})
	t.Run("wrong password, no profile: no membership revealed", func(t *testing.T) {
		_, page := portalForm(t, l, "demo", "bob@example.com", "not bob's password")
		if strings.Contains(page, "not a member") || !strings.Contains(page, "is not valid") {
			t.Errorf("a wrong password learns about membership: %s", page)
		}
	})
	t.Run("the lock message says how long to wait", func(t *testing.T) {
		u := l.user(t, false)
		var page string
		var st int
		for range 8 {
			st, page = portalForm(t, l, "demo", u.Email, "wrong password here")
			if st == http.StatusTooManyRequests {
				break
			}
		}
		if st != http.StatusTooManyRequests || !regexpMatch(`Try again in \d+ (seconds|minutes)`, page) {
			t.Errorf("locked: %d %s", st, page)
		}
	})
}

func TestSignOutConfirmed(t *testing.T) {
	l := newLab(t, newHarness(t))
	b := portalBrowser(t, l, "demo", "alice@example.com")
	_, _, page := do(t, b, "GET", l.h.tenant("demo")+"/en/user/account", "", "")
	token := csrfRE.FindStringSubmatch(page)[1]
	st, hdr, _ := do(t, b, "POST", l.h.tenant("demo")+"/en/user/logout", ctForm, form("csrf", token))
	if st != http.StatusFound {
		t.Fatalf("logout: %d", st)
	}
	_, _, page = do(t, b, "GET", l.h.tenant("demo")+hdr.Get("Location"), "", "")
	if !strings.Contains(page, "You have signed out.") {
		t.Errorf("no confirmation after signing out: %s", page)
	}
}

func TestAccountDeviceNames(t *testing.T) {
	l := newLab(t, newHarness(t))
	b := l.client(t)
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	_, _, page := do(t, b, "GET", l.h.tenant("demo")+"/en/user/login", "", "", "User-Agent", ua)
	token := csrfRE.FindStringSubmatch(page)[1]
	do(t, b, "POST", l.h.tenant("demo")+"/en/user/login", ctForm, form("csrf", token, "email", "alice@example.com", "password", pw), "User-Agent", ua)
	_, _, page = do(t, b, "GET", l.h.tenant("demo")+"/en/user/account", "", "", "User-Agent", ua)
	if !strings.Contains(page, "Chrome on Linux") || strings.Contains(page, "AppleWebKit") {
		t.Errorf("device not named: %s", page)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
