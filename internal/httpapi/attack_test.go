package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
)

// The attacker's tests of SPEC §6: per flow, what an attacker tries —
// 20 parallel uses of one credential, a replay, a credential of business A
// on business B's host, one user's credential for another user, a
// privileged target and a throttled account. Each runs against the real
// server on SQLite and, with SPACEAUTH_TEST_POSTGRES, on PostgreSQL.

// parallelUses runs use n times at once, each with its own browser and
// client address, and returns how many succeeded.
func parallelUses(t *testing.T, l *lab, n int, use func(c *http.Client) bool) int {
	t.Helper()
	clients := make([]*http.Client, n)
	for i := range clients {
		clients[i] = l.client(t)
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	start := make(chan struct{})
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if use(c) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

// attackStep is one attack on a flow; it fails t when the attack works.
type attackStep struct {
	name string
	run  func(t *testing.T, l *lab)
}

// flowAttacks are the attacks per flow. Each step builds its own users, so
// steps do not share throttles or credentials.
func flowAttacks() map[string][]attackStep {
	return map[string][]attackStep{
		"sign-in":       signInAttacks(),
		"second factor": secondFactorAttacks(),
		"impersonation": impersonationAttacks(),
		"portal link":   portalLinkAttacks(),
		"reset":         resetAttacks(),
		"passwordless":  passwordlessAttacks(),
		"refresh":       refreshAttacks(),
		"exchange":      exchangeAttacks(),
	}
}

// TestAttacks runs every flow's attacks on every backend.
func TestAttacks(t *testing.T) {
	labBackends(t, func(t *testing.T, l *lab) {
		for flow, steps := range flowAttacks() {
			t.Run(flow, func(t *testing.T) {
				for _, s := range steps {
					t.Run(s.name, func(t *testing.T) { s.run(t, l) })
				}
			})
		}
	})
}

// TestAttackFlowsComplete: each flow has each kind of attack.
func TestAttackFlowsComplete(t *testing.T) {
	kinds := []string{"20 parallel", "replay", "cross-tenant", "cross-user", "privileged target", "throttled account"}
	for flow, steps := range flowAttacks() {
		for _, k := range kinds {
			found := false
			for _, s := range steps {
				found = found || strings.HasPrefix(s.name, k)
			}
			if !found {
				t.Errorf("flow %q has no %q attack", flow, k)
			}
		}
	}
}

// wrongPassword is one §3.1 sign-in with a wrong password; it reports
// whether the password was checked (anything but 429 and 503).
func wrongPassword(t *testing.T, l *lab, c *http.Client, email string) bool {
	a := send(t, c, "POST", l.h.base()+"/api/sys/users/token", ctJSON, `{"email":`+jsonStr(email)+`,"password":"not the password"}`)
	if a.envStatus == 200 {
		t.Errorf("wrong password accepted: %s", a)
	}
	return a.status != 429 && a.status != 503
}

// lockAccount spends the account allowance with wrong passwords from
// fresh addresses, so that only the account key is locked.
func lockAccount(t *testing.T, l *lab, email string) {
	t.Helper()
	for range 6 {
		wrongPassword(t, l, l.client(t), email)
	}
}

func signInAttacks() []attackStep {
	return []attackStep{
		{"20 parallel wrong passwords check at most the allowance", func(t *testing.T, l *lab) {
			u := l.user(t, false)
			checked := parallelUses(t, l, 20, func(c *http.Client) bool { return wrongPassword(t, l, c, u.Email) })
			if checked > 5 {
				t.Errorf("%d of 20 concurrent wrong passwords were checked; the allowance is 5 (SPEC §6 throttle accounting)", checked)
			}
			if tok := l.signIn(t, l.client(t), u.Email, pw, ""); tok != "" {
				t.Error("the right password succeeded right after 20 wrong ones")
			}
		}},
		{"replay: a signed-in token opens the portal once", func(t *testing.T, l *lab) {
			u := l.user(t, false)
			tok := l.signIn(t, l.client(t), u.Email, pw, "")
			for i, want := range []int{302, 401} {
				if a := send(t, l.client(t), "GET", l.demo("login?t="+tok), "", ""); a.status != want {
					t.Errorf("use %d: %s, want %d", i+1, a, want)
				}
			}
		}},
		{"replay: a token is refused as soon as the revocation or the disable has answered", func(t *testing.T, l *lab) {
			// Each round warms the server's caches with a bearer use first,
			// as a client polling /me would.
			for i := range 15 {
				u := l.user(t, false)
				tok := l.signIn(t, l.client(t), u.Email, pw, "")
				if a := send(t, l.client(t), "GET", l.demo("me"), "", "", "Authorization", "Bearer "+tok); a.status != 200 {
					t.Fatalf("fresh token refused: %s", a)
				}
				if i%2 == 0 {
					if _, err := l.h.svc.SetActive(t.Context(), u.Email, false); err != nil {
						t.Fatal(err)
					}
				} else if a := send(t, l.client(t), "POST", l.h.base()+"/api/oauth/revoke", ctForm, form("token", tok), "Authorization", basic("admin@example.com", pw)); a.status != 200 {
					t.Fatalf("revoke: %s", a)
				}
				if a := send(t, l.client(t), "GET", l.demo("me"), "", "", "Authorization", "Bearer "+tok); a.status == 200 {
					t.Errorf("round %d: token still read me right after its revocation", i)
				}
			}
		}},
		{"cross-tenant: a member of demo cannot sign in on other's portal", func(t *testing.T, l *lab) {
			u := l.user(t, false)
			b := l.client(t)
			_, _, page := do(t, b, "GET", l.h.tenant("other")+"/en/user/login", "", "")
			m := csrfRE.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no CSRF on other's sign-in form")
			}
			a := send(t, b, "POST", l.h.tenant("other")+"/en/user/login", ctForm, form("csrf", m[1], "email", u.Email, "password", pw))
			if a.session || a.status == 302 {
				t.Errorf("member of demo signed in at other: %s", a)
			}
			tok := l.signIn(t, l.client(t), u.Email, pw, "")
			if a := send(t, l.client(t), "GET", l.h.tenant("other")+"/en/user/login?t="+tok, "", ""); a.status != 401 || a.session {
				t.Errorf("demo member's token opened other's portal: %s", a)
			}
		}},
		{"cross-user: one user's password does not open another's account", func(t *testing.T, l *lab) {
			a, b := l.user(t, false), l.user(t, false)
			if err := setPassword(t, l, b.Email, "b's own passphrase"); err != nil {
				t.Fatal(err)
			}
			if tok := l.signIn(t, l.client(t), b.Email, pw, ""); tok != "" {
				t.Errorf("%s's password opened %s's account", a.Email, b.Email)
			}
		}},
		{"privileged target: an administrator is locked like anyone", func(t *testing.T, l *lab) {
			admin := l.user(t, true)
			lockAccount(t, l, admin.Email)
			a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/token", ctJSON, `{"email":`+jsonStr(admin.Email)+`,"password":`+jsonStr(pw)+`}`)
			if a.status != 429 {
				t.Errorf("locked administrator's right password: %s, want 429", a)
			}
			// Nor through §3.2's caller credentials.
			a = send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/"+itoa(l.f.alice.ID)+"/token/refresh", "", "", "Authorization", basic(admin.Email, pw))
			if a.envStatus == 200 {
				t.Errorf("locked administrator impersonated by Basic: %s", a)
			}
		}},
		{"throttled account: the right password is refused while locked, on every password path", func(t *testing.T, l *lab) {
			u := l.user(t, false)
			lockAccount(t, l, u.Email)
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/token", ctJSON, `{"email":`+jsonStr(u.Email)+`,"password":`+jsonStr(pw)+`}`); a.status != 429 {
				t.Errorf("§3.1: %s, want 429", a)
			}
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/token", ctForm, form("grant_type", "password", "username", u.Email, "password", pw)); a.status == 200 {
				t.Errorf("§5.1 password grant of a locked account: %s", a)
			}
			if a := send(t, l.client(t), "GET", l.demo("me"), "", "", "Authorization", basic(u.Email, pw)); a.status == 200 {
				t.Errorf("me Basic of a locked account: %s", a)
			}
		}},
		{"throttled account: wrong passwords count on every password path", func(t *testing.T, l *lab) {
			// Every slot of the credential matrix that takes a password: six
			// wrong ones there lock the account for §3.1 too.
			for _, s := range matrixSlots() {
				if !slices.Contains(matrixAccepts[kindPassword], s.name) || !l.served(t, s.route) {
					continue
				}
				t.Run(s.name, func(t *testing.T) {
					c := &cred{kind: kindPassword, owner: l.user(t, false), password: pw}
					for range 6 {
						if a := s.send(t, l, c, "not the password"); s.ok(a) {
							t.Fatalf("wrong password accepted: %s", a)
						}
					}
					if a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/token", ctJSON,
						`{"email":`+jsonStr(c.owner.Email)+`,"password":`+jsonStr(pw)+`}`); a.status != 429 {
						t.Errorf("six wrong passwords on %s did not lock the account: §3.1 answered %s", s.name, a)
					}
				})
			}
		}},
	}
}

// setPassword changes a password as the operator would (CLI).
func setPassword(t *testing.T, l *lab, email, password string) error {
	_, err := l.h.svc.SetPassword(t.Context(), email, password)
	return err
}

// tokenWithCode is §3.1 with a TOTP or recovery code.
func tokenWithCode(t *testing.T, l *lab, c *http.Client, email, code string) answer {
	return send(t, c, "POST", l.h.base()+"/api/sys/users/token", ctJSON,
		`{"email":`+jsonStr(email)+`,"password":`+jsonStr(pw)+`,"totp":`+jsonStr(code)+`}`)
}

// labPendingStep starts a portal sign-in of an enrolled user on host and
// returns the browser, its CSRF value and the pending token.
func labPendingStep(t *testing.T, l *lab, host, email string) (*http.Client, string, string) {
	t.Helper()
	b := l.client(t)
	_, _, page := do(t, b, "GET", host+"/en/user/login", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF on %s", host)
	}
	_, _, page = do(t, b, "POST", host+"/en/user/login", ctForm, form("csrf", m[1], "email", email, "password", pw))
	p := pendingRE.FindStringSubmatch(page)
	if p == nil {
		t.Fatalf("no TOTP step for %s on %s", email, host)
	}
	return b, m[1], p[1]
}

func secondFactorAttacks() []attackStep {
	enrolled := func(t *testing.T, l *lab, admin bool) *cred {
		c := l.mint(t, kindRecovery, admin)
		return c
	}
	return []attackStep{
		{"20 parallel uses of one TOTP code: one sign-in", func(t *testing.T, l *lab) {
			c := enrolled(t, l, false)
			codeV := c.totpCode(t, l)
			n := parallelUses(t, l, 20, func(cl *http.Client) bool { return tokenWithCode(t, l, cl, c.owner.Email, codeV).envStatus == 200 })
			if n != 1 {
				t.Errorf("one TOTP code signed in %d times", n)
			}
			// A fresh account: the 19 replays above count as failed second
			// factors and may have locked the first one.
			r := enrolled(t, l, false)
			n = parallelUses(t, l, 20, func(cl *http.Client) bool { return tokenWithCode(t, l, cl, r.owner.Email, r.secret).envStatus == 200 })
			if n != 1 {
				t.Errorf("one recovery code signed in %d times", n)
			}
		}},
		{"replay: a pending step finishes once", func(t *testing.T, l *lab) {
			c := enrolled(t, l, false)
			b, csrf, pending := labPendingStep(t, l, l.h.tenant("demo"), c.owner.Email)
			first := send(t, b, "POST", l.demo("login"), ctForm, form("csrf", csrf, "email", c.owner.Email, "token", pending, "totp", c.totpCode(t, l)))
			if !first.session {
				t.Fatalf("pending step refused: %s", first)
			}
			again := send(t, b, "POST", l.demo("login"), ctForm, form("csrf", csrf, "email", c.owner.Email, "token", pending, "totp", c.recovery[0]))
			if again.session {
				t.Errorf("pending step finished twice: %s", again)
			}
		}},
		{"cross-tenant: a pending step of demo does not finish on other", func(t *testing.T, l *lab) {
			c := enrolled(t, l, true) // an admin may sign in at other, so only the binding refuses
			b, csrf, pending := labPendingStep(t, l, l.h.tenant("demo"), c.owner.Email)
			a := send(t, b, "POST", l.h.tenant("other")+"/en/user/login", ctForm, form("csrf", csrf, "email", c.owner.Email, "token", pending, "totp", c.totpCode(t, l)))
			if a.session {
				t.Errorf("demo's pending step finished on other: %s", a)
			}
		}},
		{"cross-user: a pending step, a code and another browser belong to their user", func(t *testing.T, l *lab) {
			a, b := enrolled(t, l, false), enrolled(t, l, false)
			_, _, pending := labPendingStep(t, l, l.h.tenant("demo"), a.owner.Email)
			// Another browser (the attacker saw the hidden field).
			other := l.client(t)
			csrf := l.formCSRF(t, other)
			if r := send(t, other, "POST", l.demo("login"), ctForm, form("csrf", csrf, "email", a.owner.Email, "token", pending, "totp", a.totpCode(t, l))); r.session {
				t.Errorf("pending step finished from another browser: %s", r)
			}
			// The pending step of a with b's email and b's code.
			br, csrfB, pendingA := labPendingStep(t, l, l.h.tenant("demo"), a.owner.Email)
			if r := send(t, br, "POST", l.demo("login"), ctForm, form("csrf", csrfB, "email", b.owner.Email, "token", pendingA, "totp", b.totpCode(t, l))); r.session {
				t.Errorf("a's pending step finished as b: %s", r)
			}
			// a's recovery code for b.
			if r := tokenWithCode(t, l, l.client(t), b.owner.Email, a.secret); r.envStatus == 200 {
				t.Errorf("a's recovery code signed b in: %s", r)
			}
			// The pending token is no sign-in code (issue #10.1).
			if r := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/verifyOtp", ctJSON,
				`{"email":`+jsonStr(a.owner.Email)+`,"code":`+jsonStr("pending:"+pending)+`}`); r.envStatus == 200 {
				t.Errorf("pending step accepted as a sign-in code: %s", r)
			}
		}},
		{"privileged target: an enrolled administrator's password alone opens nothing", func(t *testing.T, l *lab) {
			c := enrolled(t, l, true)
			for _, r := range []answer{
				send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/"+itoa(l.f.alice.ID)+"/token/refresh", "", "", "Authorization", basic(c.owner.Email, pw)),
				send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/"+itoa(l.f.alice.ID)+"/token/refresh", ctJSON, `{"email":`+jsonStr(c.owner.Email)+`,"password":`+jsonStr(pw)+`}`),
				send(t, l.client(t), "GET", l.demo("me"), "", "", "Authorization", basic(c.owner.Email, pw)),
				send(t, l.client(t), "POST", l.h.base()+"/api/oauth/introspect", ctForm, form("token", "x"), "Authorization", basic(c.owner.Email, pw)),
			} {
				if r.status == 200 && (r.envStatus == 200 || r.envStatus == 0) {
					t.Errorf("enrolled administrator's bare password accepted: %s", r)
				}
			}
		}},
		{"throttled account: wrong codes lock the account, then the right code is refused", func(t *testing.T, l *lab) {
			c := enrolled(t, l, false)
			for range 6 {
				if r := tokenWithCode(t, l, l.client(t), c.owner.Email, "000000"); r.envStatus == 200 {
					t.Fatalf("wrong code accepted: %s", r)
				}
			}
			if r := tokenWithCode(t, l, l.client(t), c.owner.Email, c.totpCode(t, l)); r.status != 429 {
				t.Errorf("right code after 6 wrong ones: %s, want 429 (SPEC §6 second factors)", r)
			}
			events, err := l.h.store.ListAudit(t.Context(), store.AuditFilter{Type: "signin.failure"})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range events {
				if e.UserID == c.owner.ID {
					n++
				}
			}
			if n < 5 {
				t.Errorf("%d audited failures for 6 wrong codes", n)
			}
		}},
		{"throttled account: wrong codes count on every second-factor sign-in path", func(t *testing.T, l *lab) {
			for _, s := range matrixSlots() {
				if !s.needsTOTP || !slices.Contains(matrixAccepts[kindRecovery], s.name) || strings.Contains(s.name, "removal") {
					continue
				}
				t.Run(s.name, func(t *testing.T) {
					// The console's form takes administrators only (SPEC §10).
					c := enrolled(t, l, strings.HasPrefix(s.name, "console"))
					for range 6 {
						if a := s.send(t, l, c, "000000"); s.ok(a) {
							t.Fatalf("wrong code accepted: %s", a)
						}
					}
					if a := tokenWithCode(t, l, l.client(t), c.owner.Email, c.totpCode(t, l)); a.status != 429 {
						t.Errorf("six wrong codes on %s did not lock the account: §3.1 answered %s", s.name, a)
					}
				})
			}
		}},
	}
}

// impersonate is §3.2 with Basic caller credentials.
func impersonate(t *testing.T, l *lab, c *http.Client, callerEmail string, target int64) answer {
	return send(t, c, "POST", l.h.base()+"/api/sys/users/"+itoa(target)+"/token/refresh", "", "", "Authorization", basic(callerEmail, pw))
}

func impersonationAttacks() []attackStep {
	return []attackStep{
		{"20 parallel exchanges of one impersonation token: one, and it keeps act", func(t *testing.T, l *lab) {
			target := l.user(t, false)
			tok := impersonate(t, l, l.client(t), "editor@example.com", target.ID).value
			if tok == "" {
				t.Fatal("editor could not impersonate a member of demo")
			}
			var mu sync.Mutex
			var got []exchangeAnswer
			n := parallelUses(t, l, 20, func(c *http.Client) bool {
				x, ok := labExchange(t, l, c, tok)
				if ok {
					mu.Lock()
					got = append(got, x)
					mu.Unlock()
				}
				return ok
			})
			if n > 1 {
				t.Errorf("one impersonation token exchanged %d times", n)
			}
			for _, x := range got {
				checkActor(t, x.Token, target.ID, l.f.editor.ID)
			}
		}},
		{"replay: an impersonation token opens the portal once", func(t *testing.T, l *lab) {
			target := l.user(t, false)
			tok := impersonate(t, l, l.client(t), "admin@example.com", target.ID).value
			for i, want := range []int{302, 401} {
				if a := send(t, l.client(t), "GET", l.demo("login?t="+tok), "", ""); a.status != want {
					t.Errorf("use %d: %s, want %d", i+1, a, want)
				}
			}
		}},
		{"cross-tenant: a User-Edit of demo cannot act for a member of other", func(t *testing.T, l *lab) {
			if a := impersonate(t, l, l.client(t), "editor@example.com", l.f.bob.ID); a.status != 404 {
				t.Errorf("editor of demo impersonated bob of other: %s, want 404", a)
			}
			tok := impersonate(t, l, l.client(t), "editor@example.com", l.f.alice.ID).value
			if a := send(t, l.client(t), "GET", l.h.tenant("other")+"/en/user/login?t="+tok, "", ""); a.session {
				t.Errorf("impersonation token of a demo member opened other's portal: %s", a)
			}
		}},
		{"cross-user: a User-Edit cannot act for a user holding a role it lacks", func(t *testing.T, l *lab) {
			n := l.n.Add(1)
			u, err := l.h.svc.CreateUser(t.Context(), auth.NewUser{Email: "roles" + itoa(n) + "@example.com", Name: "Role Holder",
				Password: pw, BusinessSlugs: []string{"demo"}, Roles: []string{auth.RoleUserEdit, "Billing-Admin"}})
			if err != nil {
				t.Fatal(err)
			}
			if a := impersonate(t, l, l.client(t), "editor@example.com", u.ID); a.status != 403 {
				t.Errorf("editor acted for a user with a role it lacks: %s, want 403", a)
			}
		}},
		{"privileged target: a User-Edit cannot act for an administrator with a profile in its business", func(t *testing.T, l *lab) {
			admin := l.user(t, true)
			if a := impersonate(t, l, l.client(t), "editor@example.com", admin.ID); a.status != 403 {
				t.Errorf("editor minted a token for an administrator: %s, want 403 (issue #10.2)", a)
			}
			// An administrator's own impersonation token is no one-time token:
			// its act survives the link token and the exchange.
			target := l.user(t, false)
			tok := impersonate(t, l, l.client(t), "admin@example.com", target.ID).value
			link := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+tok)
			if link.value == "" {
				t.Fatalf("link token from an impersonation token: %s", link)
			}
			checkActor(t, link.value, target.ID, l.f.admin.ID)
			x, ok := labExchange(t, l, l.client(t), link.value)
			if !ok {
				t.Fatal("link token refused by exchange")
			}
			checkActor(t, x.Token, target.ID, l.f.admin.ID)
			st, r := refresh(t, l.h, l.client(t), x.RefreshToken, "")
			if st != 200 {
				t.Fatalf("refresh of an impersonation pair: %d %+v", st, r)
			}
			checkActor(t, r.AccessToken, target.ID, l.f.admin.ID)
			events, err := l.h.store.ListAudit(t.Context(), store.AuditFilter{Type: "token.refreshed"})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if e.UserID == target.ID && e.ActorID != l.f.admin.ID {
					t.Errorf("refresh of an impersonation audited with actor %d, want %d", e.ActorID, l.f.admin.ID)
				}
			}
		}},
		{"throttled account: a locked User-Edit cannot impersonate", func(t *testing.T, l *lab) {
			n := l.n.Add(1)
			ed, err := l.h.svc.CreateUser(t.Context(), auth.NewUser{Email: "ed" + itoa(n) + "@example.com", Name: "Locked Editor",
				Password: pw, BusinessSlugs: []string{"demo"}, Roles: []string{auth.RoleUserEdit}})
			if err != nil {
				t.Fatal(err)
			}
			lockAccount(t, l, ed.Email)
			if a := impersonate(t, l, l.client(t), ed.Email, l.f.alice.ID); a.envStatus == 200 {
				t.Errorf("locked editor impersonated: %s", a)
			}
		}},
	}
}

type exchangeAnswer struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
}

// labExchange is §5.3's exchange; ok when it answered a pair.
// exchangedImpersonation is the §5.3 pair of an impersonation token that
// caller got for target.
func exchangedImpersonation(t *testing.T, l *lab, caller string, target int64) exchangeAnswer {
	t.Helper()
	tok := impersonate(t, l, l.client(t), caller, target).value
	x, ok := labExchange(t, l, l.client(t), tok)
	if !ok {
		t.Fatal("exchange of an impersonation token refused")
	}
	return x
}

func labExchange(t *testing.T, l *lab, c *http.Client, tok string) (exchangeAnswer, bool) {
	status, _, body := do(t, c, "POST", l.h.base()+"/api/sys/users/exchange?token="+url.QueryEscape(tok), "", "")
	var x exchangeAnswer
	if status != 200 || json.Unmarshal([]byte(body), &x) != nil || x.Token == "" {
		return exchangeAnswer{}, false
	}
	return x, true
}

// checkActor: the token is for sub and records actor in act.
func checkActor(t *testing.T, jwt string, sub, actor int64) {
	t.Helper()
	m := claims(t, jwt)
	act, _ := m["act"].(map[string]any)
	if m["sub"] != itoa(sub) || act == nil || act["sub"] != itoa(actor) {
		t.Errorf("claims %v: want sub %d acted for by %d", m, sub, actor)
	}
}

func portalLinkAttacks() []attackStep {
	return []attackStep{
		{"20 parallel uses of one link token: one session", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeLink, false)
			n := parallelUses(t, l, 20, func(cl *http.Client) bool {
				return send(t, cl, "GET", l.demo("login?t="+c.secret), "", "").session
			})
			if n != 1 {
				t.Errorf("one link token opened %d sessions", n)
			}
		}},
		{"replay: a link token works once, and mints nothing", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeLink, false)
			if a := send(t, l.client(t), "GET", l.demo("login?t="+c.secret), "", ""); !a.session {
				t.Fatalf("link token refused: %s", a)
			}
			if a := send(t, l.client(t), "GET", l.demo("login?t="+c.secret), "", ""); a.session {
				t.Errorf("link token used twice: %s", a)
			}
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+c.secret); a.envStatus == 200 {
				t.Errorf("spent link token minted another (issue #18.4): %s", a)
			}
		}},
		{"cross-tenant: a session cookie of demo is no session on other", func(t *testing.T, l *lab) {
			c := l.mint(t, kindSession, true) // an administrator may open other's portal, so only the cookie's binding refuses
			if a := send(t, l.client(t), "GET", l.h.tenant("other")+"/en/user/account", "", "", "Cookie", "spaceauth_session="+c.secret); a.status == 200 {
				t.Errorf("demo's session opened other's account page: %s", a)
			}
			bob := signIn(t, l.h, l.client(t), "bob@example.com", 30)
			if a := send(t, l.client(t), "GET", l.demo("login?t="+bob), "", ""); a.session {
				t.Errorf("other's member opened demo's portal: %s", a)
			}
		}},
		{"cross-user: signing out one session leaves another user's alone", func(t *testing.T, l *lab) {
			a, b := l.mint(t, kindSession, false), l.mint(t, kindSession, false)
			csrf := strings.Repeat("c", 43)
			send(t, l.client(t), "POST", l.demo("logout"), ctForm, form("csrf", csrf, "everywhere", "1"), "Cookie", "spaceauth_session="+a.secret+"; spaceauth_csrf="+csrf)
			if r := send(t, l.client(t), "GET", l.demo("account"), "", "", "Cookie", "spaceauth_session="+b.secret); r.status != 200 {
				t.Errorf("another user's session ended: %s", r)
			}
			if r := send(t, l.client(t), "GET", l.demo("account"), "", "", "Cookie", "spaceauth_session="+a.secret); r.status == 200 {
				t.Errorf("signed-out session still open: %s", r)
			}
		}},
		{"privileged target: an administrator's link token is one-time too", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeLink, true)
			if a := send(t, l.client(t), "GET", l.demo("me"), "", "", "Authorization", "Bearer "+c.secret); a.status == 200 {
				t.Errorf("administrator's link token read me as a bearer: %s", a)
			}
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/"+itoa(l.f.alice.ID)+"/token/refresh", "", "", "Authorization", "Bearer "+c.secret); a.envStatus == 200 {
				t.Errorf("administrator's link token impersonated: %s", a)
			}
		}},
		{"throttled account: a flood of made-up links opens nothing and does not lock the member out", func(t *testing.T, l *lab) {
			attacker := l.client(t)
			c := l.mint(t, kindOneTimeLink, false)
			for range 60 {
				if a := send(t, attacker, "GET", l.demo("login?t="+scramble(c.secret)), "", ""); a.session {
					t.Fatalf("made-up link opened a session: %s", a)
				}
			}
			if a := send(t, l.client(t), "GET", l.demo("login?t="+c.secret), "", ""); !a.session {
				t.Errorf("member's own link refused after a flood from elsewhere: %s", a)
			}
		}},
	}
}

// completeReset is §5.4's completion; ok when it answered a one-time token.
func completeReset(t *testing.T, l *lab, c *http.Client, tok, password string) answer {
	return send(t, c, "POST", l.h.base()+"/api/sys/users/completePasswordReset", ctJSON,
		`{"Token":`+jsonStr(tok)+`,"Password":`+jsonStr(password)+`}`)
}

func resetAttacks() []attackStep {
	return []attackStep{
		{"20 parallel completions of one reset token: one", func(t *testing.T, l *lab) {
			c := l.mint(t, kindResetToken, false)
			n := parallelUses(t, l, 20, func(cl *http.Client) bool {
				return completeReset(t, l, cl, c.secret, "a parallel passphrase").envStatus == 200
			})
			if n != 1 {
				t.Errorf("one reset token completed %d times", n)
			}
		}},
		{"replay: a spent reset token opens neither the page nor the API", func(t *testing.T, l *lab) {
			c := l.mint(t, kindResetToken, false)
			if a := completeReset(t, l, l.client(t), c.secret, "the first new phrase"); a.envStatus != 200 {
				t.Fatalf("completion refused: %s", a)
			}
			if a := completeReset(t, l, l.client(t), c.secret, "the second new phrase"); a.envStatus == 200 {
				t.Errorf("reset token completed twice: %s", a)
			}
			if a := send(t, l.client(t), "GET", l.demo("newPassword?token="+url.QueryEscape(c.secret)), "", ""); a.status == 200 {
				t.Errorf("spent reset token opened the page: %s", a)
			}
		}},
		{"cross-tenant: demo's reset link does not open other's page, nor complete with other's id", func(t *testing.T, l *lab) {
			c := l.mint(t, kindResetToken, true)
			if a := send(t, l.client(t), "GET", l.h.tenant("other")+"/en/user/newPassword?token="+url.QueryEscape(c.secret), "", ""); a.status == 200 {
				t.Errorf("demo's reset link opened other's page: %s", a)
			}
			a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/completePasswordReset", ctJSON,
				`{"Token":`+jsonStr(c.secret)+`,"Password":"moved to another business","BusinessId":`+itoa(l.f.other.ID)+`}`)
			if a.envStatus == 200 {
				t.Errorf("demo's reset token completed with other's BusinessId: %s", a)
			}
		}},
		{"cross-user: no reset mail for a user outside the business", func(t *testing.T, l *lab) {
			n := l.n.Add(1)
			o, err := l.h.svc.CreateUser(t.Context(), auth.NewUser{Email: "o" + itoa(n) + "@example.com", Name: "Other Member",
				Password: pw, BusinessSlugs: []string{"other"}})
			if err != nil {
				t.Fatal(err)
			}
			if a := send(t, l.client(t), "GET", l.demo("resetPassword?email="+url.QueryEscape(o.Email)), "", ""); a.status == 200 {
				t.Errorf("reset of other's member on demo: %s", a)
			}
			send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/startPasswordReset", ctJSON, `{"Email":`+jsonStr(o.Email)+`,"BusinessId":`+itoa(l.f.demo.ID)+`}`)
			l.onlyMail(t, o.Email, func() {
				send(t, l.client(t), "GET", l.h.tenant("other")+"/en/user/resetPassword?email="+url.QueryEscape(o.Email), "", "")
			}, mailResetRE)
		}},
		{"privileged target: an administrator's reset yields a one-time token, no bearer", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeReset, true)
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/"+itoa(l.f.alice.ID)+"/token/refresh", "", "", "Authorization", "Bearer "+c.secret); a.envStatus == 200 {
				t.Errorf("administrator's reset completion token impersonated: %s", a)
			}
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/oauth/introspect", ctForm, form("token", "x"), "Authorization", "Bearer "+c.secret); a.status == 200 {
				t.Errorf("administrator's reset completion token introspected: %s", a)
			}
		}},
		{"throttled account: the sixth reset request of an hour is refused and sends nothing", func(t *testing.T, l *lab) {
			u := l.user(t, false)
			for i := range 5 {
				if a := send(t, l.client(t), "GET", l.demo("resetPassword?email="+url.QueryEscape(u.Email)), "", ""); a.status != 200 {
					t.Fatalf("request %d: %s", i+1, a)
				}
			}
			if a := send(t, l.client(t), "GET", l.demo("resetPassword?email="+url.QueryEscape(u.Email)), "", ""); a.status != 429 {
				t.Errorf("sixth request: %s, want 429", a)
			}
			for range 5 {
				l.mail(t, u.Email, mailResetRE)
			}
		}},
	}
}

// verify is §5.5's verify; the answer's value is the one-time token.
func verify(t *testing.T, l *lab, c *http.Client, email, codeV string) answer {
	return send(t, c, "POST", l.h.base()+"/api/sys/users/verifyOtp", ctJSON, `{"email":`+jsonStr(email)+`,"code":`+jsonStr(codeV)+`}`)
}

func passwordlessAttacks() []attackStep {
	return []attackStep{
		{"20 parallel verifications of one code: one", func(t *testing.T, l *lab) {
			c := l.mint(t, kindEmailCode, false)
			n := parallelUses(t, l, 20, func(cl *http.Client) bool { return verify(t, l, cl, c.owner.Email, c.secret).envStatus == 200 })
			if n != 1 {
				t.Errorf("one code verified %d times", n)
			}
		}},
		{"replay: a magic link signs in once and is no bearer after", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeMagic, false)
			if a := send(t, l.client(t), "GET", l.demo("login?t="+url.QueryEscape(c.secret)), "", ""); !a.session {
				t.Fatalf("magic link refused: %s", a)
			}
			if a := send(t, l.client(t), "GET", l.demo("login?t="+url.QueryEscape(c.secret)), "", ""); a.session {
				t.Errorf("magic link used twice: %s", a)
			}
			if a := send(t, l.client(t), "GET", l.demo("me"), "", "", "Authorization", "Bearer "+c.secret); a.status == 200 {
				t.Errorf("spent magic link read me (issue #18.4): %s", a)
			}
		}},
		{"cross-tenant: demo's magic link does not open other's portal; no code for a business without a profile", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeMagic, false)
			if a := send(t, l.client(t), "GET", l.h.tenant("other")+"/en/user/login?t="+url.QueryEscape(c.secret), "", ""); a.session {
				t.Errorf("demo member's magic link opened other: %s", a)
			}
			u := l.user(t, false)
			send(t, l.client(t), "GET", l.h.base()+"/api/sys/users/sendOtp?email="+url.QueryEscape(u.Email)+"&businessId="+itoa(l.f.other.ID), "", "")
			l.onlyMail(t, u.Email, func() {
				send(t, l.client(t), "GET", l.demo("resetPassword?email="+url.QueryEscape(u.Email)), "", "")
			}, mailResetRE)
		}},
		{"cross-user: one user's code does not verify for another", func(t *testing.T, l *lab) {
			a, b := l.mint(t, kindEmailCode, false), l.mint(t, kindEmailCode, false)
			if r := verify(t, l, l.client(t), b.owner.Email, a.secret); r.envStatus == 200 && a.secret != b.secret {
				t.Errorf("a's code verified for b: %s", r)
			}
		}},
		{"privileged target: an administrator's code yields a one-time token, no bearer", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeOTP, true)
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/"+itoa(l.f.alice.ID)+"/token/refresh", "", "", "Authorization", "Bearer "+c.secret); a.envStatus == 200 {
				t.Errorf("administrator's code token impersonated: %s", a)
			}
		}},
		{"throttled account: five wrong codes, then the right one is refused", func(t *testing.T, l *lab) {
			c := l.mint(t, kindEmailCode, false)
			wrong := "000000"
			if c.secret == wrong {
				wrong = "111111"
			}
			for range 5 {
				verify(t, l, l.client(t), c.owner.Email, wrong)
			}
			if a := verify(t, l, l.client(t), c.owner.Email, c.secret); a.envStatus == 200 {
				t.Errorf("right code after five wrong ones: %s", a)
			}
		}},
	}
}

func refreshAttacks() []attackStep {
	return []attackStep{
		{"20 parallel refreshes of one token: one", func(t *testing.T, l *lab) {
			c := l.mint(t, kindRefresh, false)
			n := parallelUses(t, l, 20, func(cl *http.Client) bool {
				st, _ := refresh(t, l.h, cl, c.secret, matrixClientID)
				return st == 200
			})
			if n != 1 {
				t.Errorf("one refresh token rotated %d times", n)
			}
		}},
		{"replay: a rotated token is refused and kills its family", func(t *testing.T, l *lab) {
			c := l.mint(t, kindRefresh, false)
			st, next := refresh(t, l.h, l.client(t), c.secret, matrixClientID)
			if st != 200 {
				t.Fatalf("rotation: %d %+v", st, next)
			}
			if st, _ := refresh(t, l.h, l.client(t), c.secret, matrixClientID); st == 200 {
				t.Error("rotated token accepted again")
			}
			if st, _ := refresh(t, l.h, l.client(t), next.RefreshToken, matrixClientID); st == 200 {
				t.Error("family survived the replay")
			}
		}},
		{"cross-tenant: another client id cannot use the token", func(t *testing.T, l *lab) {
			c := l.mint(t, kindRefresh, false)
			if st, _ := refresh(t, l.h, l.client(t), c.secret, "someone-else"); st == 200 {
				t.Error("refresh token used by another client id")
			}
		}},
		{"cross-user: a User-Edit of other neither sees nor revokes a demo member's token", func(t *testing.T, l *lab) {
			c := l.mint(t, kindRefresh, false)
			ed := basic("editor2@example.com", pw)
			if a := send(t, l.client(t), "POST", l.h.base()+"/api/oauth/introspect", ctForm, form("token", c.secret), "Authorization", ed); a.active == "true" {
				t.Errorf("other's editor introspected a demo member's refresh token: %s", a)
			}
			send(t, l.client(t), "POST", l.h.base()+"/api/oauth/revoke", ctForm, form("token", c.secret), "Authorization", ed)
			if st, _ := refresh(t, l.h, l.client(t), c.secret, matrixClientID); st != 200 {
				t.Error("other's editor revoked a demo member's refresh token")
			}
		}},
		{"privileged target: a refresh token of an impersonation keeps act", func(t *testing.T, l *lab) {
			target := l.user(t, false)
			x := exchangedImpersonation(t, l, "admin@example.com", target.ID)
			st, r := refresh(t, l.h, l.client(t), x.RefreshToken, "")
			if st != 200 {
				t.Fatalf("refresh: %d %+v", st, r)
			}
			checkActor(t, r.AccessToken, target.ID, l.f.admin.ID)
		}},
		{"throttled account: a refresh token dies when the account is disabled, and enabling brings none back", func(t *testing.T, l *lab) {
			c := l.mint(t, kindRefresh, false)
			for _, active := range []bool{false, true} {
				if _, err := l.h.svc.SetActive(t.Context(), c.owner.Email, active); err != nil {
					t.Fatal(err)
				}
			}
			if st, _ := refresh(t, l.h, l.client(t), c.secret, matrixClientID); st == 200 {
				t.Error("refresh token revived by disable and enable")
			}
		}},
	}
}

func exchangeAttacks() []attackStep {
	return []attackStep{
		{"20 parallel exchanges of one one-time token: one", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeOTP, false)
			n := parallelUses(t, l, 20, func(cl *http.Client) bool { _, ok := labExchange(t, l, cl, c.secret); return ok })
			if n != 1 {
				t.Errorf("one one-time token exchanged %d times", n)
			}
		}},
		{"replay: a one-time token is exchanged once, and the portal refuses it after", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeReset, false)
			if _, ok := labExchange(t, l, l.client(t), c.secret); !ok {
				t.Fatal("exchange refused")
			}
			if _, ok := labExchange(t, l, l.client(t), c.secret); ok {
				t.Error("exchanged twice")
			}
			if a := send(t, l.client(t), "GET", l.demo("login?t="+c.secret), "", ""); a.session {
				t.Errorf("exchanged token then opened the portal: %s", a)
			}
		}},
		{"cross-tenant: a pair exchanged from other's member opens no demo session", func(t *testing.T, l *lab) {
			tok := signIn(t, l.h, l.client(t), "bob@example.com", 30)
			link := send(t, l.client(t), "POST", l.h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+tok).value
			x, ok := labExchange(t, l, l.client(t), link)
			if !ok {
				t.Fatal("exchange of bob's link token refused")
			}
			if a := send(t, l.client(t), "GET", l.demo("login?t="+x.Token), "", ""); a.session {
				t.Errorf("bob's exchanged token opened demo: %s", a)
			}
		}},
		{"cross-user: the pair is for the token's user", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeMagic, false)
			x, ok := labExchange(t, l, l.client(t), c.secret)
			if !ok {
				t.Fatal("exchange refused")
			}
			if m := claims(t, x.Token); m["sub"] != itoa(c.owner.ID) {
				t.Errorf("exchanged token for %v, want %d", m["sub"], c.owner.ID)
			}
		}},
		{"privileged target: an exchanged impersonation token keeps act and its audit actor", func(t *testing.T, l *lab) {
			target := l.user(t, false)
			x := exchangedImpersonation(t, l, "editor@example.com", target.ID)
			checkActor(t, x.Token, target.ID, l.f.editor.ID)
			events, err := l.h.store.ListAudit(context.Background(), store.AuditFilter{Type: "signin.success"})
			if err != nil {
				t.Fatal(err)
			}
			seen := false
			for _, e := range events {
				if e.UserID == target.ID {
					seen = true
					if e.ActorID != l.f.editor.ID {
						t.Errorf("exchange audited with actor %d, want %d (issue #10.7)", e.ActorID, l.f.editor.ID)
					}
				}
			}
			if !seen {
				t.Error("exchange of an impersonation token not audited")
			}
		}},
		{"throttled account: a must-reset user's one-time token is not exchanged", func(t *testing.T, l *lab) {
			c := l.mint(t, kindOneTimeLink, false)
			if _, err := l.h.svc.RequireReset(t.Context(), c.owner.Email); err != nil {
				t.Fatal(err)
			}
			if _, ok := labExchange(t, l, l.client(t), c.secret); ok {
				t.Error("must-reset user's one-time token exchanged")
			}
		}},
	}
}
