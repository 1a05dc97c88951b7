package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// record is the §5.8 user record as a client decodes it.
type record struct {
	Id                  int64
	UniqueId            *string
	FullName            string
	Email               string
	AccessToken         string
	DefaultBusinessId   *int64
	DefaultBusinessName *string
	Businesses          []int64
	UserRoles           []string
	Active              bool
	IsAdmin             bool
	Validated           bool
	MustResetPassword   bool
	ToStringText        string
	TwoFactorEnabled    bool
	Language            string
}

func parseRecord(t *testing.T, raw string) record {
	t.Helper()
	return parseJSON[record](t, "a user record", raw)
}

// validated posts to the validate endpoint and returns HTTP status, envelope
// and, on success, the record in Value.
func validated(t *testing.T, c *http.Client, rawURL, ct, body string) (int, env, record) {
	t.Helper()
	status, _, raw := do(t, c, "POST", rawURL, ct, body)
	e := parseJSON[struct {
		env
		Value json.RawMessage
	}](t, "an envelope", raw)
	var rec record
	if e.WasSuccessful {
		rec = parseRecord(t, string(e.Value))
	}
	return status, parseEnv(t, raw), rec
}

// portalSignIn spends tok on the demo portal and returns the HTTP status.
func portalSignIn(t *testing.T, h *harness, tok string) int {
	t.Helper()
	c := h.client()
	status, _, _ := do(t, c, "GET", h.tenant("demo")+"/en/user/login?t="+url.QueryEscape(tok)+"&redirectUrl=/en/user/account", "", "")
	return status
}

var envelopeKeyOrder = []string{"Status", "Message", "Value", "OpenInDialog", "OpenInWindow", "RedirectURL",
	"JavaScript", "UpdatedOn", "UpdatedBy", "Errors", "WasSuccessful"}

// topKeys lists a JSON object's keys in order.
func topKeys(t *testing.T, raw string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestNexudusClients replays, per client of issue #12, the requests it
// sends to Nexudus with only the base URL changed, and checks the branch it
// would take on the answer.
func TestNexudusClients(t *testing.T) {
	cases := []struct {
		client string
		run    func(t *testing.T, h *harness, f fixture, c *http.Client)
	}{
		{"UniFi hotspot portal (TypeScript)", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Finds the space by its portal host, then checks the guest's
			// credentials and that they are a member there.
			status, _, body := do(t, c, "GET", h.base()+"/api/sys/businesses/getByHost?host="+url.QueryEscape("demo.localhost"), "", "")
			var biz struct {
				Id         int64
				Name       string
				WebAddress string
			}
			if err := json.Unmarshal([]byte(body), &biz); err != nil || status != 200 || biz.Id != f.demo.ID {
				t.Fatalf("getByHost: %d %s", status, body)
			}
			status, e, rec := validated(t, c, h.base()+"/api/sys/users/validate", ctJSON, `{"Email":"alice@example.com","Password":"`+pw+`"}`)
			if status != 200 || !e.WasSuccessful || rec.Email != "alice@example.com" || !rec.Active || !slices.Contains(rec.Businesses, biz.Id) {
				t.Fatalf("validate: %d %+v %+v", status, e, rec)
			}
			status, e, _ = validated(t, c, h.base()+"/api/sys/users/validate", ctJSON, `{"Email":"alice@example.com","Password":"guessing wrong"}`)
			if status != 200 || e.Status != 500 || e.WasSuccessful || e.Message != "The email address or password you entered is not valid." {
				t.Fatalf("wrong password: %d %+v", status, e)
			}
		}},
		{"PHP app framework", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Sends the email raw in the query and URL-encoded in the JSON
			// body, and reports success whatever the answer: the mail must go.
			status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/resetPassword?email=alice%40example.com", ctJSON, `{"email":"alice%40example.com"}`)
			if e := parseEnv(t, body); status != 200 || !e.WasSuccessful || e.Message != resetSent {
				t.Fatalf("reset: %d %s", status, body)
			}
			if _, m := resetLink(t, h, 1); m.To[0] != "alice@example.com" {
				t.Fatalf("reset mail to %v", m.To)
			}
			// Its sign-in: seed spelling, trailing slash, capitalised form keys, string number.
			status, _, body = do(t, c, "POST", h.base()+"/sys/users/token/", ctForm, form("Email", "alice@example.com", "Password", pw, "ValidityInMinutes", "30"))
			if e := parseEnv(t, body); status != 200 || !e.WasSuccessful {
				t.Fatalf("token: %d %s", status, body)
			}
		}},
		{"Discourse plugin (Ruby)", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Reads the user with Basic credentials, maps roles and
			// businesses, then sends the browser through AccessToken once.
			status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", basic("editor@example.com", pw))
			rec := parseRecord(t, body)
			if status != 200 || rec.Id != f.editor.ID || rec.ToStringText != "Eddie Editor - editor@example.com" ||
				!slices.Equal(rec.UserRoles, []string{"User-Edit"}) || !slices.Equal(rec.Businesses, []int64{f.demo.ID}) || rec.AccessToken == "" {
				t.Fatalf("me: %d %s", status, body)
			}
			if s := portalSignIn(t, h, rec.AccessToken); s != http.StatusFound {
				t.Fatalf("AccessToken on the portal: %d", s)
			}
			if s := portalSignIn(t, h, rec.AccessToken); s != http.StatusUnauthorized {
				t.Fatalf("AccessToken used twice: %d", s)
			}
		}},
		{"TypeScript CLI", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Matches /api/token's error description and asks for a code
			// on two_factor_auth_check.
			status, _, body := do(t, c, "POST", h.base()+"/api/token", ctForm, form("grant_type", "password", "username", "alice@example.com", "password", "not it at all"))
			if status != 400 || body != `{"error":"invalid_grant","error_description":"The email or password is incorrect."}`+"\n" {
				t.Fatalf("wrong password: %d %s", status, body)
			}
			secret, _ := enrol(t, h, c, "editor@example.com")
			h.clock.Add(90 * time.Second)
			status, _, body = do(t, c, "POST", h.base()+"/api/token", ctForm, form("grant_type", "password", "username", "editor@example.com", "password", pw))
			if status != 400 || body != `{"error":"two_factor_auth_check"}`+"\n" {
				t.Fatalf("two-factor: %d %s", status, body)
			}
			status, _, body = do(t, c, "POST", h.base()+"/api/token", ctForm, form("grant_type", "password", "username", "editor@example.com", "password", pw, "totp", code(t, secret, h.clock.Now())))
			if status != 200 || !strings.Contains(body, `"access_token"`) {
				t.Fatalf("with the code: %d %s", status, body)
			}
		}},
		{"PHP CMS plugin", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Seed spelling with a trailing slash and an upper-case form body;
			// asks whether an address has an account before offering sign-up.
			status, e, rec := validated(t, c, h.base()+"/sys/users/validate/", ctForm, form("EMAIL", "alice@example.com", "PASSWORD", pw))
			if status != 200 || !e.WasSuccessful || rec.Id != f.alice.ID {
				t.Fatalf("validate: %d %+v", status, e)
			}
			for email, want := range map[string]string{"alice@example.com": "true", "nobody@example.com": "false", "bob@example.com": "false"} {
				status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/exists?email="+url.QueryEscape(email), "", "")
				if status != 200 || strings.TrimSpace(body) != want {
					t.Errorf("exists %s: %d %s, want %s", email, status, body, want)
				}
			}
		}},
		{"Python tool", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Resolves the tenant, takes a token with a JSON string number,
			// reads the user with Bearer.
			status, _, body := do(t, c, "GET", h.base()+"/api/sys/businesses/getByHost?host=demo", "", "")
			if status != 200 || body != `{"Id":`+itoa(f.demo.ID)+`,"Name":"Demo Space","WebAddress":"demo.localhost:`+h.port+`"}`+"\n" {
				t.Fatalf("getByHost: %d %s", status, body)
			}
			tok := signIn(t, h, c, "alice@example.com", 30)
			status, _, body = do(t, c, "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", "Bearer "+tok)
			if rec := parseRecord(t, body); status != 200 || rec.Id != f.alice.ID || rec.DefaultBusinessId == nil || *rec.DefaultBusinessId != f.demo.ID || rec.UserRoles == nil {
				t.Fatalf("me: %d %s", status, body)
			}
		}},
		{"Electron app", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// The portal's own calls: GET token/refresh, GET exchange.
			bearer := signIn(t, h, c, "alice@example.com", 30)
			status, _, body := do(t, c, "GET", h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+bearer)
			link, _ := parseEnv(t, body).Value.(string)
			if status != 200 || link == "" {
				t.Fatalf("GET token/refresh: %d %s", status, body)
			}
			u := h.base() + "/api/sys/users/exchange?token=" + url.QueryEscape(link) + "&validForInMinutes=60"
			status, _, body = do(t, c, "GET", u, "", "")
			var pair struct {
				Token        string `json:"token"`
				ExpiresIn    int64  `json:"expires_in"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal([]byte(body), &pair); err != nil || status != 200 || pair.Token == "" || pair.ExpiresIn != 3600 || pair.RefreshToken == "" {
				t.Fatalf("GET exchange: %d %s", status, body)
			}
			if status, _, _ := do(t, c, "GET", u, "", ""); status != 401 {
				t.Fatalf("second GET exchange: %d", status)
			}
		}},
		{"MCP server", func(t *testing.T, h *harness, f fixture, c *http.Client) {
			// Deserializes the whole ActionConfirmation, and signs a user
			// with two-factor in through validate with the code.
			secret, _ := enrol(t, h, c, "alice@example.com")
			h.clock.Add(90 * time.Second)
			_, _, raw := do(t, c, "POST", h.base()+"/api/sys/users/validate", ctJSON, `{"email":"alice@example.com","password":"`+pw+`"}`)
			if keys := topKeys(t, raw); !slices.Equal(keys, envelopeKeyOrder) {
				t.Fatalf("envelope keys %v", keys)
			}
			if e := parseEnv(t, raw); e.Status != 500 || e.Message != "Enter the code from your authenticator app." {
				t.Fatalf("without the code: %s", raw)
			}
			status, e, rec := validated(t, c, h.base()+"/api/sys/users/validate", ctJSON,
				`{"email":"alice@example.com","password":"`+pw+`","totp":"`+code(t, secret, h.clock.Now())+`"}`)
			if status != 200 || !e.WasSuccessful || !rec.TwoFactorEnabled || rec.Id != f.alice.ID {
				t.Fatalf("with the code: %d %+v %+v", status, e, rec)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.client, func(t *testing.T) {
			h, f, c := seeded(t)
			tc.run(t, h, f, c)
		})
	}
}

var (
	jwtRE  = regexp.MustCompile(`"AccessToken":"[A-Za-z0-9_.-]+"`)
	timeRE = regexp.MustCompile(`"(CreatedOn|UpdatedOn)":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"`)
)

// scrub replaces what changes from run to run (the token, the times).
func scrub(body string) string {
	body = jwtRE.ReplaceAllString(body, `"AccessToken":"<jwt>"`)
	return timeRE.ReplaceAllString(body, `"$1":"<time>"`)
}

// TestUserRecordGolden pins the §5.8 user record's bytes, from /user/me and
// inside validate's envelope.
func TestUserRecordGolden(t *testing.T) {
	h, _, c := seeded(t)
	status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", basic("editor@example.com", pw))
	if status != 200 {
		t.Fatalf("me: %d %s", status, body)
	}
	golden(t, "user_record.golden", scrub(body))
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/validate", ctJSON, `{"email":"admin@example.com","password":"`+pw+`"}`)
	if status != 200 {
		t.Fatalf("validate: %d %s", status, body)
	}
	golden(t, "validate_admin.golden", scrub(body))
}

// TestValidate is §5.8's validate failing as §3.1 fails: the same answers,
// the same throttle (shared with §3.1), the same must-reset refusal.
func TestValidate(t *testing.T) {
	h, _, c := seeded(t)
	if _, err := h.svc.RequireReset(t.Context(), "editor@example.com"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ct, body    string
		status, envStatus int
		message           string
		errField          string
	}{
		{"wrong password", ctJSON, `{"Email":"alice@example.com","Password":"nope nope"}`, 200, 500, "The email address or password you entered is not valid.", ""},
		{"unknown email", ctJSON, `{"email":"nobody@example.com","password":"` + pw + `"}`, 200, 500, "The email address or password you entered is not valid.", ""},
		{"disabled user", ctForm, form("email", "carl@example.com", "password", pw), 200, 500, "The email address or password you entered is not valid.", ""},
		{"must reset", ctJSON, `{"email":"editor@example.com","password":"` + pw + `"}`, 200, 500, "You must reset your password before signing in.", ""},
		{"no password", ctJSON, `{"email":"alice@example.com"}`, 400, 400, "", "password"},
		{"no email", ctForm, form("password", pw), 400, 400, "", "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, e, _ := validated(t, c, h.base()+"/api/sys/users/validate", tc.ct, tc.body)
			if status != tc.status || e.Status != tc.envStatus || e.WasSuccessful || e.Value != nil {
				t.Fatalf("HTTP %d %+v, want %d/%d", status, e, tc.status, tc.envStatus)
			}
			if tc.message != "" && e.Message != tc.message {
				t.Errorf("message %q, want %q", e.Message, tc.message)
			}
			if tc.errField != "" && len(e.Errors[tc.errField]) == 0 {
				t.Errorf("Errors %v, want %s named", e.Errors, tc.errField)
			}
		})
	}
	t.Run("throttle shared with the token endpoint", func(t *testing.T) {
		bad := `{"email":"alice@example.com","password":"wrong guess"}`
		// One failure above plus five here: the account is then locked
		// for validate and for §3.1 alike, even with the right password.
		for i := 0; i < 5; i++ {
			do(t, c, "POST", h.base()+"/api/sys/users/validate", ctJSON, bad)
		}
		good := `{"email":"alice@example.com","password":"` + pw + `"}`
		for _, path := range []string{"/api/sys/users/validate", "/api/sys/users/token"} {
			status, hdr, body := do(t, c, "POST", h.base()+path, ctJSON, good)
			if status != 429 || hdr.Get("Retry-After") == "" || parseEnv(t, body).Status != 429 {
				t.Errorf("%s while locked: %d %s", path, status, body)
			}
		}
	})
}

// TestMeBasicSecondFactor: Basic credentials stand for a user with
// two-factor on only with the code (§6 matrix), and the record's
// AccessToken is a one-time portal token.
func TestMeBasicSecondFactor(t *testing.T) {
	h, _, c := seeded(t)
	secret, _ := enrol(t, h, c, "alice@example.com")
	h.clock.Add(90 * time.Second)
	me := h.tenant("demo") + "/en/user/me"
	status, hdr, body := do(t, c, "GET", me, "", "", "Authorization", basic("alice@example.com", pw))
	if e := parseEnv(t, body); status != 401 || hdr.Get("WWW-Authenticate") == "" || e.Message != "Enter the code from your authenticator app." {
		t.Fatalf("Basic without the code: %d %s", status, body)
	}
	if status, _, body := do(t, c, "GET", me+"?totp=000000", "", "", "Authorization", basic("alice@example.com", pw)); status != 401 {
		t.Fatalf("Basic with a wrong code: %d %s", status, body)
	}
	status, _, body = do(t, c, "GET", me+"?totp="+code(t, secret, h.clock.Now()), "", "", "Authorization", basic("alice@example.com", pw))
	rec := parseRecord(t, body)
	if status != 200 || !rec.TwoFactorEnabled || rec.AccessToken == "" {
		t.Fatalf("Basic with the code: %d %s", status, body)
	}
	if cl := claims(t, rec.AccessToken); num(cl, "exp")-num(cl, "iat") != 300 {
		t.Errorf("AccessToken lives %ds, want 300", num(cl, "exp")-num(cl, "iat"))
	}
	if s := portalSignIn(t, h, rec.AccessToken); s != http.StatusFound {
		t.Fatalf("AccessToken on the portal: %d", s)
	}
	if s := portalSignIn(t, h, rec.AccessToken); s != http.StatusUnauthorized {
		t.Fatalf("AccessToken twice: %d", s)
	}
}

// TestUserExists covers §5.8's /user/exists: the reset request's test of
// membership, its per-email limit, and no endpoint at all for a business
// that hides unknown emails.
func TestUserExists(t *testing.T) {
	h, _, c := seeded(t)
	exists := func(host, email string) (int, string) {
		status, _, body := do(t, c, "GET", host+"/en/user/exists?email="+url.QueryEscape(email), "", "")
		return status, strings.TrimSpace(body)
	}
	cases := []struct {
		name, host, email string
		status            int
		body              string
	}{
		{"member", h.tenant("demo"), "alice@example.com", 200, "true"},
		{"other case", h.tenant("demo"), "ALICE@example.com", 200, "true"},
		{"administrator", h.tenant("demo"), "admin@example.com", 200, "true"},
		{"member elsewhere", h.tenant("demo"), "bob@example.com", 200, "false"},
		{"disabled", h.tenant("demo"), "carl@example.com", 200, "false"},
		{"unknown", h.tenant("demo"), "nobody@example.com", 200, "false"},
		{"hide-unknown-emails business", h.tenant("other"), "bob@example.com", 404, ""},
		{"system host", h.base(), "alice@example.com", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := exists(tc.host, tc.email)
			if status != tc.status || tc.body != "" && body != tc.body {
				t.Fatalf("%d %s, want %d %s", status, body, tc.status, tc.body)
			}
		})
	}
	if status, body := exists(h.tenant("demo"), "not-an-address"); status != 400 || len(parseEnv(t, body).Errors["email"]) != 1 {
		t.Fatalf("bad address: %d %s", status, body)
	}
	// Counted per email like reset requests: alice has been asked about twice.
	for i := 3; i <= 5; i++ {
		if status, body := exists(h.tenant("demo"), "alice@example.com"); status != 200 {
			t.Fatalf("question %d: %d %s", i, status, body)
		}
	}
	status, hdr, body := do(t, c, "GET", h.tenant("demo")+"/en/user/exists?email=alice@example.com", "", "")
	if status != 429 || hdr.Get("Retry-After") == "" || parseEnv(t, body).Status != 429 {
		t.Fatalf("6th question: %d %s", status, body)
	}
	h.clock.Add(61 * time.Minute)
	if status, body := exists(h.tenant("demo"), "alice@example.com"); status != 200 || body != "true" {
		t.Fatalf("after the window: %d %s", status, body)
	}
}

// TestBusinessByHost covers §5.8's getByHost for every way a client names a
// business.
func TestBusinessByHost(t *testing.T) {
	h, f, c := seeded(t)
	all := func(string) bool { return true }
	custom, err := h.svc.CreateBusiness(t.Context(), authBusiness("north", "North Hub", "coworking.example.org"), all)
	if err != nil {
		t.Fatal(err)
	}
	demo := `{"Id":` + itoa(f.demo.ID) + `,"Name":"Demo Space","WebAddress":"demo.localhost:` + h.port + `"}`
	north := `{"Id":` + itoa(custom.ID) + `,"Name":"North Hub","WebAddress":"coworking.example.org:` + h.port + `"}`
	cases := []struct {
		name, path, host string
		status           int
		body             string
	}{
		{"slug", "/api/sys/businesses/getByHost", "demo", 200, demo},
		{"tenant host", "/api/sys/businesses/getByHost", "demo.localhost", 200, demo},
		{"tenant host with port, other case", "/api/sys/businesses/getByHost", "DEMO.localhost:8080", 200, demo},
		{"portal URL", "/api/sys/businesses/getByHost", "http://demo.localhost:" + h.port + "/en/user/login", 200, demo},
		{"custom domain", "/api/sys/businesses/getByHost", "coworking.example.org", 200, north},
		{"seed spelling, trailing slash", "/sys/businesses/getByHost/", "north", 200, north},
		{"unknown slug", "/api/sys/businesses/getByHost", "nowhere", 404, ""},
		{"unknown host", "/api/sys/businesses/getByHost", "demo.elsewhere.example", 404, ""},
		{"empty", "/api/sys/businesses/getByHost", "", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, c, "GET", h.base()+tc.path+"?host="+url.QueryEscape(tc.host), "", "")
			if status != tc.status {
				t.Fatalf("%d %s, want %d", status, body, tc.status)
			}
			if tc.body != "" && body != tc.body+"\n" {
				t.Fatalf("body %s, want %s", body, tc.body)
			}
			if tc.status != 200 && parseEnv(t, body).Status != tc.status {
				t.Fatalf("envelope %s", body)
			}
		})
	}
}

// TestExchangeHeadSpendsNothing: GET exchange exists for the portal, but a
// HEAD (a link checker) must not spend the one-time token.
func TestExchangeHeadSpendsNothing(t *testing.T) {
	h, _, c := seeded(t)
	bearer := signIn(t, h, c, "alice@example.com", 30)
	_, _, body := do(t, c, "GET", h.base()+"/api/sys/users/token/refresh/", "", "", "Authorization", "Bearer "+bearer)
	link, _ := parseEnv(t, body).Value.(string)
	u := h.base() + "/sys/users/exchange?token=" + url.QueryEscape(link)
	status, hdr, _ := do(t, c, "HEAD", u, "", "")
	if status != 405 || !strings.Contains(hdr.Get("Allow"), "GET") {
		t.Fatalf("HEAD: %d %q", status, hdr.Get("Allow"))
	}
	if status, _, body := do(t, c, "GET", u, "", ""); status != 200 {
		t.Fatalf("GET after HEAD: %d %s", status, body)
	}
}

func authBusiness(slug, name, domain string) auth.NewBusiness {
	return auth.NewBusiness{Slug: slug, Name: name, Language: "en", Domain: domain}
}
