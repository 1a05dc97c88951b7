package httpapi_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
)

// The operator console (SPEC §10, issue #15) through the real server: an
// administrator's whole round, and the attackers the issue names.

// consoleAdmin is an administrator with two-factor on, and its authenticator.
func consoleAdmin(t *testing.T, l *lab) *cred {
	t.Helper()
	c := &cred{kind: kindPasswordTOTP, owner: l.user(t, true), password: pw}
	l.enrolOwner(t, c)
	return c
}

// consoleSignIn signs c's owner in to the system host's console with a
// fresh browser, using a recovery code (never a TOTP step a probe may
// reuse), and returns the browser.
func consoleSignIn(t *testing.T, l *lab, c *cred) *http.Client {
	t.Helper()
	b := l.client(t)
	if a := consoleLogin(t, l, b, c); a.status != http.StatusSeeOther || !strings.HasSuffix(a.location, "/admin/members") {
		t.Fatalf("console sign-in of %s: %s %s", c.owner.Email, a, a.body)
	}
	return b
}

// consoleLogin runs the console form: password, then the second factor.
func consoleLogin(t *testing.T, l *lab, b *http.Client, c *cred) answer {
	t.Helper()
	_, _, page := do(t, b, "GET", l.h.base()+"/admin/login", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the console sign-in: %s", page)
	}
	first := send(t, b, "POST", l.h.base()+"/admin/login", ctForm, form("csrf", m[1], "email", c.owner.Email, "password", c.password))
	p := pendingRE.FindStringSubmatch(first.body)
	if p == nil {
		return first
	}
	second := c.recovery[len(c.recovery)-1]
	c.recovery = c.recovery[:len(c.recovery)-1]
	return send(t, b, "POST", l.h.base()+"/admin/login", ctForm, form("csrf", m[1], "email", c.owner.Email, "token", p[1], "totp", second))
}

// portalBrowser signs email in to tenant slug's portal with the form.
func portalBrowser(t *testing.T, l *lab, slug, email string) *http.Client {
	t.Helper()
	b := l.client(t)
	_, _, page := do(t, b, "GET", l.h.tenant(slug)+"/en/user/login", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field: %s", page)
	}
	if a := send(t, b, "POST", l.h.tenant(slug)+"/en/user/login", ctForm, form("csrf", m[1], "email", email, "password", pw)); a.status != http.StatusFound {
		t.Fatalf("portal sign-in of %s at %s: %s", email, slug, a)
	}
	return b
}

// consolePost sends a console form with the page's CSRF token.
func consolePost(t *testing.T, b *http.Client, base, path string, kv ...string) answer {
	t.Helper()
	_, _, page := do(t, b, "GET", base+"/admin/members/new", "", "") // every operator's page with a form
	token := ""
	if m := csrfRE.FindStringSubmatch(page); m != nil {
		token = m[1]
	}
	return send(t, b, "POST", base+path, ctForm, form(append([]string{"csrf", token}, kv...)...))
}

func getUser(t *testing.T, l *lab, id int64) store.User {
	t.Helper()
	u, err := l.h.store.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// auditHas reports whether an event of type typ about user was recorded
// with actor as the acting operator.
func auditHas(t *testing.T, l *lab, typ string, user, actor int64) bool {
	t.Helper()
	list, err := l.h.store.ListAudit(context.Background(), store.AuditFilter{UserID: user, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.ActorID == actor {
			return true
		}
	}
	return false
}

func TestConsoleAdministratorRound(t *testing.T) {
	l := newLab(t, newHarness(t))
	adm := consoleAdmin(t, l)
	b := consoleSignIn(t, l, adm)
	base := l.h.base()

	st, _, page := do(t, b, "GET", base+"/admin/members?q=alice", "", "")
	if st != 200 || !strings.Contains(page, "alice@example.com") || strings.Contains(page, "bob@example.com") {
		t.Fatalf("search for alice: %d %s", st, page)
	}
	alice := l.f.alice.ID
	st, _, page = do(t, b, "GET", base+"/admin/members/"+itoa(alice), "", "")
	if st != 200 || !strings.Contains(page, "Alice Martin") || !strings.Contains(page, "Demo Space") {
		t.Fatalf("member page: %d %s", st, page)
	}

	actions := []struct {
		action string
		check  func(u store.User) bool
		event  string
	}{
		{"disable", func(u store.User) bool { return !u.Active }, "user.disabled"},
		{"enable", func(u store.User) bool { return u.Active }, "user.enabled"},
		{"end-sessions", func(store.User) bool { return true }, "session.ended"},
		{"send-reset", func(store.User) bool { return true }, "reset.sent_by_operator"},
		{"require-reset", func(u store.User) bool { return u.MustReset }, "user.reset_required"},
	}
	for _, tt := range actions {
		t.Run(tt.action, func(t *testing.T) {
			before := getUser(t, l, alice).TokenVersion
			a := consolePost(t, b, base, "/admin/members/"+itoa(alice)+"/"+tt.action)
			if a.status != http.StatusSeeOther || !strings.Contains(a.location, "done="+tt.action) {
				t.Fatalf("%s: %s %s", tt.action, a, a.body)
			}
			u := getUser(t, l, alice)
			if !tt.check(u) {
				t.Errorf("%s had no effect: %+v", tt.action, u)
			}
			if tt.action != "send-reset" && u.TokenVersion == before {
				t.Errorf("%s did not end alice's credentials", tt.action)
			}
			if !auditHas(t, l, tt.event, alice, adm.owner.ID) {
				t.Errorf("no %s audit event with the administrator as actor", tt.event)
			}
		})
	}
	l.mail(t, "alice@example.com", mailResetRE) // send-reset really sent one

	t.Run("add member", func(t *testing.T) {
		a := consolePost(t, b, base, "/admin/members", "email", "new@example.com", "name", "New Member",
			"password", "a fresh passphrase", "language", "de", "business", "demo", "roles", "User-Edit")
		if a.status != http.StatusSeeOther {
			t.Fatalf("add: %s %s", a, a.body)
		}
		u, err := l.h.store.UserByEmail(context.Background(), "new@example.com")
		if err != nil || !u.InBusiness(l.f.demo.ID) || !u.HasRole("User-Edit") || u.Language != "de" {
			t.Fatalf("added member: %+v %v", u, err)
		}
		if !auditHas(t, l, "user.created", u.ID, adm.owner.ID) {
			t.Error("no user.created audit event with the administrator as actor")
		}
		a = consolePost(t, b, base, "/admin/members", "email", "new2@example.com", "name", "X", "password", "a fresh passphrase", "language", "xx")
		if a.status != http.StatusBadRequest {
			t.Errorf("language xx accepted: %s", a)
		}
	})
	t.Run("add business", func(t *testing.T) {
		a := consolePost(t, b, base, "/admin/businesses", "slug", "annex", "name", "The Annex", "language", "ca")
		if a.status != http.StatusSeeOther {
			t.Fatalf("add business: %s %s", a, a.body)
		}
		st, _, page := do(t, b, "GET", base+"/admin/businesses", "", "")
		if st != 200 || !strings.Contains(page, "The Annex") {
			t.Fatalf("businesses: %d %s", st, page)
		}
		if a := consolePost(t, b, base, "/admin/businesses", "slug", "annex", "name", "Again", "language", "en"); a.status != http.StatusBadRequest {
			t.Errorf("a taken slug: %s", a)
		}
	})
	t.Run("business settings", func(t *testing.T) {
		other := itoa(l.f.other.ID)
		a := consolePost(t, b, base, "/admin/businesses/"+other, "name", "Other Renamed", "language", "de", "domain", "members.other.example", "hide_unknown_emails", "1")
		if a.status != http.StatusSeeOther {
			t.Fatalf("settings: %s %s", a, a.body)
		}
		got, err := l.h.store.BusinessByID(context.Background(), l.f.other.ID)
		if err != nil || got.Name != "Other Renamed" || got.Language != "de" || got.Domain != "members.other.example" || !got.HideUnknownEmails || got.Slug != "other" {
			t.Errorf("after the settings form: %+v %v", got, err)
		}
		list, _ := l.h.store.ListAudit(context.Background(), store.AuditFilter{Type: "business.updated"})
		if len(list) != 1 || list[0].ActorID != adm.owner.ID {
			t.Errorf("business.updated audit: %+v", list)
		}
		// The tenant host serves the new name at once.
		if _, _, page := do(t, l.client(t), "GET", l.h.tenant("other")+"/de/user/login", "", ""); !strings.Contains(page, "Other Renamed") {
			t.Error("the portal does not show the new name")
		}
		for _, kv := range [][]string{{"name", "X", "language", "klingon"}, {"name", "", "language", "en"}, {"name", "X", "language", "en", "domain", "not a host"}} {
			if a := consolePost(t, b, base, "/admin/businesses/"+other, kv...); a.status != http.StatusBadRequest {
				t.Errorf("settings %v: %s", kv, a)
			}
		}
		editor := portalBrowser(t, l, "demo", "editor@example.com")
		if a := consolePost(t, editor, l.h.tenant("demo"), "/admin/businesses/"+itoa(l.f.demo.ID), "name", "Hijacked", "language", "en"); a.status != http.StatusForbidden {
			t.Errorf("an editor changed its business's settings: %s", a)
		}
	})
	t.Run("audit log filters and pages", func(t *testing.T) {
		st, _, page := do(t, b, "GET", base+"/admin/audit?type=user.disabled", "", "")
		if st != 200 || !strings.Contains(page, "user.disabled") || strings.Contains(page, "user.enabled") {
			t.Fatalf("filtered audit: %d %s", st, page)
		}
		for range 60 { // more than a page of events
			consolePost(t, b, base, "/admin/members/"+itoa(l.f.carl.ID)+"/end-sessions")
		}
		_, _, page = do(t, b, "GET", base+"/admin/audit?type=session.ended", "", "")
		m := regexp.MustCompile(`href="(/admin/audit\?[^"]*before=[^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no link to older events: %s", page)
		}
		older := strings.ReplaceAll(m[1], "&amp;", "&")
		st, _, page = do(t, b, "GET", base+older, "", "")
		if st != 200 || !strings.Contains(page, "session.ended") {
			t.Fatalf("older page: %d %s", st, page)
		}
	})
	t.Run("key rotation", func(t *testing.T) {
		if a := consolePost(t, b, base, "/admin/keys/rotate"); a.status != http.StatusBadRequest {
			t.Errorf("rotation without confirm: %s", a)
		}
		a := consolePost(t, b, base, "/admin/keys/rotate", "confirm", "1")
		if a.status != http.StatusSeeOther || !strings.Contains(a.location, "kid=") {
			t.Fatalf("rotate: %s %s", a, a.body)
		}
		list, _ := l.h.store.ListAudit(context.Background(), store.AuditFilter{Type: "keys.rotated"})
		if len(list) != 1 || list[0].ActorID != adm.owner.ID {
			t.Errorf("keys.rotated audit: %+v", list)
		}
		if tok := l.signIn(t, l.client(t), "bob@example.com", pw, ""); tok == "" {
			t.Error("no sign-in after the rotation")
		}
	})
	t.Run("import with progress and report", func(t *testing.T) {
		csv := "email,name,password,businesses\nimp1@example.com,Imp One,a long import passphrase,demo\nnot-an-email,Bad,a long import passphrase,demo\nimp2@example.com,Imp Two,a long import passphrase,other\n"
		loc := consoleUpload(t, l, b, csv, true)
		var page string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			var st int
			var h http.Header
			st, h, page = do(t, b, "GET", base+loc, "", "")
			if st != 200 {
				t.Fatalf("progress page: %d %s", st, page)
			}
			if strings.Contains(page, `id="import-result"`) {
				break
			}
			// Without script the page reloads itself; with it, console.js
			// (allowed by this page's policy only) updates it in place.
			if !strings.Contains(page, `<noscript><meta http-equiv="refresh"`) || !strings.Contains(page, "<progress") ||
				!strings.Contains(page, `src="/static/console.js"`) || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Fatalf("a running import's page does not refresh itself: %v %s", h, page)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st, h, js := do(t, b, "GET", base+"/static/console.js", "", ""); st != 200 || !strings.Contains(h.Get("Content-Type"), "javascript") || !strings.Contains(js, "import-result") {
			t.Errorf("the progress script: %d %v", st, h)
		}
		if !strings.Contains(page, `id="import-report"`) || !strings.Contains(page, "<td>3</td>") {
			t.Fatalf("no per-row report naming line 3: %s", page)
		}
		for _, e := range []string{"imp1@example.com", "imp2@example.com"} {
			if _, err := l.h.store.UserByEmail(context.Background(), e); err != nil {
				t.Errorf("%s not imported: %v", e, err)
			}
		}
		// Another operator cannot read this import's report.
		other := consoleSignIn(t, l, consoleAdmin(t, l))
		if st, _, _ := do(t, other, "GET", base+loc, "", ""); st != http.StatusNotFound {
			t.Errorf("another administrator sees the import: %d", st)
		}
	})
	t.Run("sign out", func(t *testing.T) {
		if a := consolePost(t, b, base, "/admin/logout"); a.status != http.StatusSeeOther {
			t.Fatalf("sign out: %s", a)
		}
		if a := send(t, b, "GET", base+"/admin/members", "", ""); a.status != http.StatusSeeOther || !strings.HasSuffix(a.location, "/admin/login") {
			t.Errorf("the console still open after sign-out: %s", a)
		}
	})
}

// consoleUpload posts a CSV file to the import form and returns the
// progress page's path.
func consoleUpload(t *testing.T, l *lab, b *http.Client, csv string, skip bool) string {
	t.Helper()
	_, _, page := do(t, b, "GET", l.h.base()+"/admin/import", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF on the import form: %s", page)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", m[1])
	if skip {
		mw.WriteField("skip_invalid", "1")
	}
	fw, _ := mw.CreateFormFile("file", "users.csv")
	fw.Write([]byte(csv))
	mw.Close()
	a := send(t, b, "POST", l.h.base()+"/admin/import", mw.FormDataContentType(), buf.String())
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/admin/import/") {
		t.Fatalf("upload: %s %s", a, a.body)
	}
	return a.location
}

// TestConsoleAttackers: the refusals SPEC §10 and §6 require, each against
// the real server, each checked for having no effect.
func TestConsoleAttackers(t *testing.T) {
	l := newLab(t, newHarness(t))
	base, demo, other := l.h.base(), l.h.tenant("demo"), l.h.tenant("other")
	alice := l.f.alice.ID

	t.Run("a member", func(t *testing.T) {
		b := portalBrowser(t, l, "demo", "alice@example.com")
		if a := send(t, b, "GET", demo+"/admin/members", "", ""); a.status != http.StatusForbidden {
			t.Errorf("a member opened the tenant console: %s", a)
		}
		if a := consolePost(t, b, demo, "/admin/members/"+itoa(l.f.carl.ID)+"/enable"); a.status != http.StatusForbidden {
			t.Errorf("a member acted in the console: %s", a)
		}
		if getUser(t, l, l.f.carl.ID).Active {
			t.Error("a member enabled carl")
		}
		// Her right password at the system host's console is no sign-in.
		c := &cred{owner: l.f.alice, password: pw}
		if a := consoleLogin(t, l, l.client(t), c); a.status != http.StatusUnauthorized || strings.Contains(a.body, `name="token"`) {
			t.Errorf("a member's password at the console: %s", a)
		}
	})
	t.Run("a User-Edit of another business", func(t *testing.T) {
		b := portalBrowser(t, l, "other", "editor2@example.com")
		if st, _, page := do(t, b, "GET", other+"/admin/members", "", ""); st != 200 || strings.Contains(page, "alice@example.com") {
			t.Errorf("other's editor lists demo's members: %d", st)
		}
		if a := send(t, b, "GET", other+"/admin/members/"+itoa(alice), "", ""); a.status != http.StatusNotFound {
			t.Errorf("other's editor sees alice: %s", a)
		}
		if a := consolePost(t, b, other, "/admin/members/"+itoa(alice)+"/disable"); a.status != http.StatusNotFound {
			t.Errorf("other's editor acts on alice: %s", a)
		}
		if !getUser(t, l, alice).Active {
			t.Error("other's editor disabled alice")
		}
		// Its portal session is of "other": demo's console does not take it.
		if a := send(t, b, "GET", demo+"/admin/members", "", ""); a.status != http.StatusSeeOther {
			t.Errorf("other's session opened demo's console: %s", a)
		}
		_, _, page := do(t, b, "GET", other+"/admin/audit", "", "")
		if strings.Contains(page, ">"+itoa(alice)+"<") {
			t.Error("other's editor reads demo's audit log")
		}
	})
	t.Run("an administrator without a second factor", func(t *testing.T) {
		c := &cred{owner: l.user(t, true), password: pw}
		a := consoleLogin(t, l, l.client(t), c)
		if a.status != http.StatusUnauthorized || strings.Contains(a.body, `name="token"`) {
			t.Fatalf("an administrator without TOTP: %s", a)
		}
		for _, sc := range []string{a.body} {
			if strings.Contains(sc, "spaceauth_console") {
				t.Error("a console cookie for an administrator without TOTP")
			}
		}
		// Nor through a portal session on a tenant host.
		b := portalBrowser(t, l, "demo", c.owner.Email)
		if a := send(t, b, "GET", demo+"/admin/members", "", ""); a.status != http.StatusForbidden {
			t.Errorf("an administrator's portal session opened the tenant console: %s", a)
		}
	})
	t.Run("a cross-site form post", func(t *testing.T) {
		adm := consoleAdmin(t, l)
		b := consoleSignIn(t, l, adm)
		_, _, page := do(t, b, "GET", base+"/admin/members", "", "")
		token := csrfRE.FindStringSubmatch(page)[1]
		body := form("csrf", token)
		for _, hdr := range [][]string{
			{"Origin", "http://evil.example"},
			{"Sec-Fetch-Site", "cross-site"},
		} {
			a := send(t, b, "POST", base+"/admin/members/"+itoa(l.f.carl.ID)+"/enable", ctForm, body, hdr...)
			if a.status != http.StatusForbidden {
				t.Errorf("%s: %s", hdr, a)
			}
		}
		// A same-site post without the token is refused too.
		if a := send(t, b, "POST", base+"/admin/members/"+itoa(l.f.carl.ID)+"/enable", ctForm, form("csrf", strings.Repeat("x", 43))); a.status != http.StatusForbidden {
			t.Errorf("a wrong CSRF token: %s", a)
		}
		if getUser(t, l, l.f.carl.ID).Active {
			t.Error("a cross-site post enabled carl")
		}
	})
	t.Run("a User-Edit acting on an administrator or a stronger role", func(t *testing.T) {
		ctx := context.Background()
		target := l.user(t, true) // an administrator with a profile at demo
		strong, err := l.h.svc.CreateUser(ctx, newUser("billing@example.com", "demo", "Billing"))
		if err != nil {
			t.Fatal(err)
		}
		b := portalBrowser(t, l, "demo", "editor@example.com")
		for _, id := range []int64{target.ID, strong.ID} {
			for _, action := range []string{"disable", "require-reset", "end-sessions", "send-reset"} {
				if a := consolePost(t, b, demo, "/admin/members/"+itoa(id)+"/"+action); a.status != http.StatusForbidden {
					t.Errorf("editor %s on %d: %s", action, id, a)
				}
			}
			if u := getUser(t, l, id); !u.Active || u.MustReset {
				t.Errorf("editor changed %d: %+v", id, u)
			}
		}
		if a := consolePost(t, b, demo, "/admin/members", "email", "sneaky@example.com", "name", "Sneaky", "password", "a fresh passphrase", "admin", "1", "roles", "Billing"); a.status != http.StatusForbidden {
			t.Errorf("editor adds a member with a role it lacks: %s", a)
		}
		// Within its rules the editor does act, audited as the actor.
		if a := consolePost(t, b, demo, "/admin/members/"+itoa(alice)+"/end-sessions"); a.status != http.StatusSeeOther {
			t.Fatalf("editor on alice: %s %s", a, a.body)
		}
		if !auditHas(t, l, "session.ended", alice, l.f.editor.ID) {
			t.Error("the editor's action is not audited with the editor as actor")
		}
		for _, p := range []string{"/admin/keys", "/admin/import"} {
			if a := send(t, b, "GET", demo+p, "", ""); a.status != http.StatusForbidden {
				t.Errorf("editor opens %s: %s", p, a)
			}
		}
	})
	t.Run("no session", func(t *testing.T) {
		for _, u := range []string{base + "/admin", base + "/admin/members", base + "/admin/audit", base + "/admin/keys"} {
			if a := send(t, l.client(t), "GET", u, "", ""); a.status != http.StatusSeeOther {
				t.Errorf("%s without a session: %s", u, a)
			}
		}
		if a := send(t, l.client(t), "GET", demo+"/admin/members", "", ""); a.status != http.StatusSeeOther ||
			!strings.Contains(a.location, "/en/user/login?redirectUrl="+url.QueryEscape("/admin/members")) {
			t.Errorf("tenant console without a session: %s", a)
		}
	})
}

func newUser(email, slug string, roles ...string) auth.NewUser {
	return auth.NewUser{Email: email, Name: "Some One", Password: pw, BusinessSlugs: []string{slug}, Roles: roles}
}

// TestConsoleShowsFederation: a business's sign-in providers (SPEC §8) on
// the businesses page, without secrets, and a member's federated links on
// the member page, each only to operators who see that business.
func TestConsoleShowsFederation(t *testing.T) {
	l := newLab(t, newHarness(t))
	ctx := context.Background()
	p := store.Provider{BusinessID: l.f.demo.ID, Kind: store.ProviderOIDC, Name: "Demo SSO", Issuer: "https://idp.example.com",
		ClientID: "demo-client", Secret: []byte("never-shown-secret"), CreateUsers: true, CreatedAt: time.Now()}
	if err := l.h.store.CreateProvider(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := l.h.store.LinkIdentity(ctx, store.FederatedIdentity{ProviderID: p.ID, Subject: "sub-alice-42", UserID: l.f.alice.ID,
		Email: "alice@example.com", CreatedAt: time.Now(), LastUsedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	admin := consoleSignIn(t, l, consoleAdmin(t, l))
	_, _, page := do(t, admin, "GET", l.h.base()+"/admin/businesses", "", "")
	if !strings.Contains(page, "Demo SSO") || !strings.Contains(page, "https://idp.example.com") || strings.Contains(page, "never-shown-secret") {
		t.Errorf("businesses page providers: %s", page)
	}
	_, _, page = do(t, admin, "GET", l.h.base()+"/admin/members/"+itoa(l.f.alice.ID), "", "")
	if !strings.Contains(page, "sub-alice-42") {
		t.Errorf("alice's federated link not shown: %s", page)
	}
	editor := portalBrowser(t, l, "demo", "editor@example.com")
	_, _, page = do(t, editor, "GET", l.h.tenant("demo")+"/admin/members/"+itoa(l.f.alice.ID), "", "")
	if !strings.Contains(page, "sub-alice-42") {
		t.Errorf("demo's editor does not see alice's link: %s", page)
	}
	other := portalBrowser(t, l, "other", "editor2@example.com")
	_, _, page = do(t, other, "GET", l.h.tenant("other")+"/admin/businesses", "", "")
	if strings.Contains(page, "Demo SSO") {
		t.Error("other's editor sees demo's provider")
	}
}

// TestConsoleSessionLastsAWorkingDay: the system host's console session
// ends after auth.ConsoleSessionTTL (12 h), though portal sessions last
// longer; signing in again needs the second factor again.
func TestConsoleSessionLastsAWorkingDay(t *testing.T) {
	l := newLab(t, newHarness(t))
	b := consoleSignIn(t, l, consoleAdmin(t, l))
	if a := send(t, b, "GET", l.h.base()+"/admin/members", "", ""); a.status != http.StatusOK {
		t.Fatalf("fresh console session: %s", a)
	}
	l.h.clock.Add(11 * time.Hour)
	if a := send(t, b, "GET", l.h.base()+"/admin/members", "", ""); a.status != http.StatusOK {
		t.Fatalf("console session after 11 h: %s", a)
	}
	l.h.clock.Add(2 * time.Hour)
	if a := send(t, b, "GET", l.h.base()+"/admin/members", "", ""); a.status != http.StatusSeeOther || !strings.HasSuffix(a.location, "/admin/login") {
		t.Errorf("console session after 13 h: %s", a)
	}
}

// TestConsoleMemberPasskeys (SPEC §10 "view ... passkeys"): the member
// page lists the member's passkeys (name, host, dates) and removes one,
// with CSRF and audited with the acting operator; a removed passkey signs
// in no more.
func TestConsoleMemberPasskeys(t *testing.T) {
	l := newLab(t, newHarness(t))
	alice := l.f.alice.ID
	cred := registerPasskey(t, l.h, l.client(t), signIn(t, l.h, l.client(t), "alice@example.com", 30), "demo")
	adm := consoleAdmin(t, l)
	admin := consoleSignIn(t, l, adm)
	base := l.h.base()
	member := base + "/admin/members/" + itoa(alice)

	_, _, page := do(t, admin, "GET", member, "", "")
	m := regexp.MustCompile(`name="passkey" value="(\d+)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Test key") || !strings.Contains(page, "demo.localhost") {
		t.Fatalf("alice's passkey not on the member page: %s", page)
	}
	pid := m[1]

	refused := []struct {
		name string
		send func() answer
		want int
	}{
		{"no CSRF token", func() answer {
			return send(t, admin, "POST", member+"/remove-passkey", ctForm, form("csrf", strings.Repeat("x", 43), "passkey", pid))
		}, http.StatusForbidden},
		{"another member's page", func() answer {
			return consolePost(t, admin, base, "/admin/members/"+itoa(l.f.bob.ID)+"/remove-passkey", "passkey", pid)
		}, http.StatusNotFound},
		{"unknown passkey", func() answer {
			return consolePost(t, admin, base, "/admin/members/"+itoa(alice)+"/remove-passkey", "passkey", "999999")
		}, http.StatusNotFound},
		{"not a number", func() answer {
			return consolePost(t, admin, base, "/admin/members/"+itoa(alice)+"/remove-passkey", "passkey", "x")
		}, http.StatusNotFound},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if a := tc.send(); a.status != tc.want {
				t.Errorf("%s, want %d", a, tc.want)
			}
		})
	}
	if e := passkeyToken(t, l.h, l.client(t), "demo", cred); e.Status != 200 {
		t.Fatalf("a refused removal removed the passkey: %+v", e)
	}

	a := consolePost(t, admin, base, "/admin/members/"+itoa(alice)+"/remove-passkey", "passkey", pid)
	if a.status != http.StatusSeeOther || !strings.HasSuffix(a.location, "?done=remove-passkey") {
		t.Fatalf("remove: %s %s", a, a.body)
	}
	_, _, page = do(t, admin, "GET", base+a.location, "", "")
	if strings.Contains(page, "Test key") || !strings.Contains(page, "No passkeys.") || !strings.Contains(page, "The passkey was removed") {
		t.Errorf("member page after the removal: %s", page)
	}
	if !auditHas(t, l, "passkey.removed", alice, adm.owner.ID) {
		t.Error("the removal is not audited with the administrator as actor")
	}
	if e := passkeyToken(t, l.h, l.client(t), "demo", cred); e.Status != 401 || e.WasSuccessful {
		t.Errorf("the removed passkey signed in: %+v", e)
	}
}
