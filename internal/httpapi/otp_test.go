package httpapi_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	codeRE  = regexp.MustCompile(`\b(\d{6})\b`)
	magicRE = regexp.MustCompile(`https?://[^\s"<>]+/user/login\?t=[A-Za-z0-9._%-]+`)
)

const otpSent = "If this address has an account, we have sent it a sign-in code."

// TestSignInCode covers SPEC §5.5: code and magic link by email, a code
// works once, 5 tries, 10 minutes, and the same answer for unknown emails.
func TestSignInCode(t *testing.T) {
	h, _, c := seeded(t)
	send := func(email string) (int, env) {
		status, _, body := do(t, c, "GET", h.base()+"/api/sys/users/sendOtp?email="+url.QueryEscape(email), "", "")
		return status, parseEnv(t, body)
	}
	verify := func(email, code string) (int, env) {
		status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/verifyOtp", ctJSON, `{"email":"`+email+`","code":"`+code+`"}`)
		return status, parseEnv(t, body)
	}
	// Unknown and known emails get the same answer; only the known one gets mail.
	for _, email := range []string{"nobody@example.com", "alice@example.com"} {
		if status, e := send(email); status != 200 || e.Message != otpSent || !e.WasSuccessful {
			t.Fatalf("sendOtp %s: %d %+v", email, status, e)
		}
	}
	h.smtp.WaitFor(1, 10*time.Second)
	outboxDrained(t, h)
	msgs := h.smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "alice@example.com" {
		t.Fatalf("messages %+v", msgs)
	}
	code := codeRE.FindStringSubmatch(msgs[0].Text)
	link := magicRE.FindString(msgs[0].Text)
	if code == nil || !strings.HasPrefix(link, "http://demo.localhost:"+h.port+"/en/user/login?t=") {
		t.Fatalf("no code or link in %q", msgs[0].Text)
	}
	// The magic link is a §3.3 sign-in link.
	if status, _, _ := do(t, h.client(), "GET", link, "", ""); status != http.StatusFound {
		t.Fatalf("magic link: %d", status)
	}
	if status, e := verify("alice@example.com", "000000"); status != 401 || e.Status != 401 {
		t.Fatalf("wrong code: %d %+v", status, e)
	}
	status, e := verify("ALICE@example.com", code[1])
	tok, _ := e.Value.(string)
	if status != 200 || tok == "" {
		t.Fatalf("right code: %d %+v", status, e)
	}
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", ""); status != http.StatusFound {
		t.Fatalf("token from a code refused on the portal: %d", status)
	}
	if status, _ := verify("alice@example.com", code[1]); status != 401 {
		t.Fatalf("code accepted twice: %d", status)
	}
	if status, _ := verify("nobody@example.com", "123456"); status != 401 {
		t.Fatalf("unknown email: %d", status)
	}
}

func TestSignInCodeTriesAndExpiry(t *testing.T) {
	h, _, c := seeded(t)
	latestCode := func(n int) string {
		msgs := h.smtp.WaitFor(n, 10*time.Second)
		if len(msgs) < n {
			t.Fatalf("%d messages, want %d", len(msgs), n)
		}
		return codeRE.FindStringSubmatch(msgs[n-1].Text)[1]
	}
	verify := func(code string) int {
		status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/verifyOtp", ctForm, form("email", "editor@example.com", "code", code))
		return status
	}
	do(t, c, "GET", h.base()+"/api/sys/users/sendOtp?email=editor@example.com", "", "")
	code := latestCode(1)
	wrong := "999999"
	if code == wrong {
		wrong = "999998"
	}
	for i := range 5 {
		if status := verify(wrong); status != 401 {
			t.Fatalf("wrong try %d: %d", i+1, status)
		}
	}
	// Out of tries: even the right code fails now (the account's sign-in
	// throttle may answer 429 first, which refuses it too).
	if status := verify(code); status != 401 && status != 429 {
		t.Fatalf("right code after 5 wrong tries: %d", status)
	}
	h.clock.Add(20 * time.Minute) // past the code and the lock
	do(t, c, "GET", h.base()+"/api/sys/users/sendOtp?email=editor@example.com", "", "")
	code = latestCode(2)
	h.clock.Add(11 * time.Minute)
	if status := verify(code); status != 401 {
		t.Fatalf("expired code: %d", status)
	}
}

func TestSignInCodeLimitsAndInput(t *testing.T) {
	h, _, c := seeded(t)
	for i := range 5 {
		if status, _, _ := do(t, c, "GET", h.base()+"/api/sys/users/sendOtp?email=bob@example.com", "", ""); status != 200 {
			t.Fatalf("request %d: %d", i+1, status)
		}
	}
	status, hdr, _ := do(t, c, "GET", h.base()+"/api/sys/users/sendOtp?email=bob@example.com", "", "")
	if status != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("6th code request: %d %q", status, hdr.Get("Retry-After"))
	}
	cases := []struct{ name, method, url, ct, body string }{
		{"no email", "GET", "/api/sys/users/sendOtp", "", ""},
		{"bad email", "GET", "/api/sys/users/sendOtp?email=nope", "", ""},
		{"bad business id", "GET", "/api/sys/users/sendOtp?email=a%40b.co&businessId=-4", "", ""},
		{"verify without code", "POST", "/api/sys/users/verifyOtp", ctJSON, `{"email":"a@b.co"}`},
		{"verify code as array", "POST", "/api/sys/users/verifyOtp", ctJSON, `{"email":"a@b.co","code":[1]}`},
	}
	for _, tc := range cases {
		if status, _, body := do(t, c, tc.method, h.base()+tc.url, tc.ct, tc.body); status != 400 {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
}
