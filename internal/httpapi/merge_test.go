package httpapi_test

import (
	"net/url"
	"testing"
	"time"
)

// TestQueryAndBodyMerge is SPEC §5.8's rule for a field sent in the query
// and in the body, through POST /api/sys/users/resetPassword: a value valid
// after one URL-decoding is accepted, the valid one of two different values
// wins, and two valid different values are refused.
func TestQueryAndBodyMerge(t *testing.T) {
	h, _, c := seeded(t)
	cases := []struct {
		name   string
		query  string // raw query string
		ct     string
		body   string
		status int
		mailTo string // "" when nothing may be sent
		errKey string // expected Errors.email message, for 400s
	}{
		{"PHP client: encoded in the JSON body, raw in the query", "email=alice%40example.com", ctJSON, `{"email":"alice%40example.com"}`, 200, "alice@example.com", ""},
		{"encoded in the body only", "", ctJSON, `{"Email":"editor%40example.com"}`, 200, "editor@example.com", ""},
		{"encoded twice in a form body", "", ctForm, "email=alice%2540example.com", 200, "alice@example.com", ""},
		{"same address in another case", "EMAIL=Editor@Example.com", ctJSON, `{"email":"editor@example.com"}`, 200, "editor@example.com", ""},
		{"valid body wins over a broken query", "email=not-an-address", ctJSON, `{"email":"alice@example.com"}`, 200, "alice@example.com", ""},
		{"valid query wins over a broken body", "email=editor%40example.com", ctJSON, `{"email":"editor"}`, 200, "editor@example.com", ""},
		{"two valid, different addresses", "email=alice%40example.com", ctJSON, `{"email":"editor@example.com"}`, 400, "", "This field was given twice with two different values."},
		{"both invalid", "email=nobody", ctJSON, `{"email":"nobody%40"}`, 400, "", "Enter a valid email address."},
		{"a literal plus is not a space", "", ctJSON, `{"email":"a+b%40example.com"}`, 404, "", ""},
	}
	sent := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := h.base() + "/api/sys/users/resetPassword"
			if tc.query != "" {
				u += "?" + tc.query
			}
			status, _, body := do(t, c, "POST", u, tc.ct, tc.body)
			e := parseEnv(t, body)
			if status != tc.status || e.Status != tc.status {
				t.Fatalf("HTTP %d Status %d, want %d: %s", status, e.Status, tc.status, body)
			}
			if tc.errKey != "" {
				if got := e.Errors["email"]; len(got) != 1 || got[0] != tc.errKey {
					t.Fatalf("Errors.email = %q, want %q", got, tc.errKey)
				}
			}
			if tc.mailTo == "" {
				return
			}
			sent++
			msgs := h.smtp.WaitFor(sent, 10*time.Second)
			if len(msgs) != sent || msgs[sent-1].To[0] != tc.mailTo {
				t.Fatalf("mail %d: %+v, want one to %s", sent, msgs, tc.mailTo)
			}
		})
	}
	// Nothing else went out: the refused rows sent no mail.
	outboxDrained(t, h)
	if n := len(h.smtp.Messages()); n != sent {
		t.Errorf("%d messages, want %d", n, sent)
	}
}

// TestQueryMergeOnlyWhereAllowed: §3.2 takes its validity from the query
// but never the caller's password.
func TestQueryMergeOnlyWhereAllowed(t *testing.T) {
	h, f, c := seeded(t)
	q := url.Values{"email": {"admin@example.com"}, "password": {pw}}.Encode()
	status, hdr, body := do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh?"+q, "", "")
	if status != 401 || hdr.Get("WWW-Authenticate") == "" {
		t.Fatalf("credentials in the query: HTTP %d %s, want 401", status, body)
	}
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh?validityInMinutes=7", ctJSON,
		`{"email":"admin@example.com","password":"`+pw+`","validityInMinutes":"7"}`)
	e := parseEnv(t, body)
	if status != 200 || !e.WasSuccessful {
		t.Fatalf("same validity in query and body: HTTP %d %s", status, body)
	}
	cl := claims(t, e.Value.(string))
	if got := num(cl, "exp") - num(cl, "iat"); got != 7*60 {
		t.Errorf("token lives %ds, want 420", got)
	}
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh?validityInMinutes=7", ctJSON,
		`{"email":"admin@example.com","password":"`+pw+`","auth":{"validityInMinutes":9}}`)
	e = parseEnv(t, body)
	if status != 200 || !e.WasSuccessful {
		t.Fatalf("auth.validityInMinutes and a query validity: HTTP %d %s", status, body)
	}
	if cl := claims(t, e.Value.(string)); num(cl, "exp")-num(cl, "iat") != 9*60 {
		t.Errorf("token lives %ds, want 540 (the body's auth.validityInMinutes ranks above the query)", num(cl, "exp")-num(cl, "iat"))
	}
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh?validityInMinutes=7", ctJSON,
		`{"email":"admin@example.com","password":"`+pw+`","validityInMinutes":8}`)
	if e := parseEnv(t, body); status != 400 || len(e.Errors["validityInMinutes"]) != 1 {
		t.Fatalf("different validities: HTTP %d %s, want 400 naming validityInMinutes", status, body)
	}
}
