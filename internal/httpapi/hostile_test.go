package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// snapshot is the state no hostile request may change.
type snapshot struct {
	Users      []store.User
	Businesses []store.Business
	Sessions   map[int64]int
	Pending    int64
	Keys       int
}

func takeSnapshot(t *testing.T, h *harness) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Users, err = h.store.ListUsers(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if s.Businesses, err = h.store.ListBusinesses(ctx); err != nil {
		t.Fatal(err)
	}
	s.Sessions = map[int64]int{}
	for _, u := range s.Users {
		list, err := h.store.UserSessions(ctx, u.ID, h.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		s.Sessions[u.ID] = len(list)
	}
	if s.Pending, err = h.store.PendingMail(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := h.store.SigningKeys(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s.Keys = len(keys)
	return s
}

type hostile struct {
	name, method, url, ct, body string
	hdr                         []string
	status                      int
}

// TestHostileInput sends a catalogue of hostile requests to every endpoint.
// Each gets its documented status and never a 500; afterwards the server is
// healthy and no user, business, session, key or mail changed.
func TestHostileInput(t *testing.T) {
	h := newHarness(t)
	h.seed()
	admin := basic("admin@example.com", pw)
	sys, demo := h.base(), h.tenant("demo")
	tok := "/api/sys/users/token"
	big := strings.Repeat("x", 10000)
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	manyKeys := func() string {
		var b strings.Builder
		for i := range 3000 {
			fmt.Fprintf(&b, "k%d=v&", i)
		}
		return b.String()
	}()
	cases := []hostile{
		// §3.1: types, numbers, encodings, sizes, duplicates, content types.
		{"email is a number", "POST", sys + tok, ctJSON, `{"email":42,"password":"x"}`, nil, 200},
		{"email is an object", "POST", sys + tok, ctJSON, `{"email":{"a":1},"password":"x"}`, nil, 400},
		{"email is null", "POST", sys + tok, ctJSON, `{"email":null,"password":"x"}`, nil, 400},
		{"password is bool", "POST", sys + tok, ctJSON, `{"email":"a@b.co","password":true}`, nil, 400},
		{"validity huge negative", "POST", sys + tok, ctJSON, `{"email":"h1@x.co","password":"x","validityInMinutes":-99999999999999999999}`, nil, 400},
		{"validity overflowing", "POST", sys + tok, ctJSON, `{"email":"h2@x.co","password":"x","validityInMinutes":1e400}`, nil, 400},
		{"validity hex", "POST", sys + tok, ctForm, form("email", "h3@x.co", "password", "x", "validityInMinutes", "0x10"), nil, 400},
		{"validity empty string", "POST", sys + tok, ctJSON, `{"email":"h4@x.co","password":"x","validityInMinutes":""}`, nil, 400},
		{"validity array", "POST", sys + tok, ctJSON, `{"email":"h5@x.co","password":"x","validityInMinutes":[30]}`, nil, 400},
		{"invalid UTF-8 JSON", "POST", sys + tok, ctJSON, "{\"email\":\"\xff\xfe@x.co\",\"password\":\"x\"}", nil, 400},
		{"invalid UTF-8 form", "POST", sys + tok, ctForm, "email=%ff%fe%40x.co&password=x", nil, 400},
		{"NUL in email", "POST", sys + tok, ctJSON, `{"email":"a\u0000@x.co","password":"x"}`, nil, 400},
		{"NUL in form password", "POST", sys + tok, ctForm, "email=a%40x.co&password=a%00b", nil, 400},
		{"SQL in email", "POST", sys + tok, ctJSON, `{"email":"' OR 1=1 --@x.co","password":"x"}`, nil, 200},
		{"SQL in password", "POST", sys + tok, ctJSON, `{"email":"alice@example.com","password":"' OR '1'='1"}`, nil, 200},
		{"HTML in email", "POST", sys + tok, ctJSON, `{"email":"<script>alert(1)</script>@x.co","password":"x"}`, nil, 200},
		{"10000-char email", "POST", sys + tok, ctJSON, `{"email":"` + big + `@x.co","password":"x"}`, nil, 200},
		{"10000-char password", "POST", sys + tok, ctJSON, `{"email":"h6@x.co","password":"` + big + `"}`, nil, 200},
		{"duplicate JSON keys", "POST", sys + tok, ctJSON, `{"email":"a@x.co","email":"b@x.co","password":"x"}`, nil, 400},
		{"duplicate keys other case", "POST", sys + tok, ctJSON, `{"email":"a@x.co","EMAIL":"b@x.co","password":"x"}`, nil, 400},
		{"duplicate form keys", "POST", sys + tok, ctForm, "email=a%40x.co&email=b%40x.co&password=x", nil, 400},
		{"xml content type", "POST", sys + tok, "text/xml", `<email>a@x.co</email>`, nil, 415},
		{"garbage content type", "POST", sys + tok, ";;;", `{"email":"a@x.co"}`, nil, 415},
		{"multipart content type", "POST", sys + tok, "multipart/form-data; boundary=x", "--x--", nil, 415},
		{"missing content type JSON", "POST", sys + tok, "", `{"email":"h7@x.co","password":"x"}`, nil, 200},
		{"missing content type form", "POST", sys + tok, "", "email=h8%40x.co&password=x", nil, 200},
		{"truncated JSON", "POST", sys + tok, ctJSON, `{"email":"a@x.co","pass`, nil, 400},
		{"trailing garbage", "POST", sys + tok, ctJSON, `{"email":"a@x.co","password":"x"} {}`, nil, 400},
		{"deeply nested JSON", "POST", sys + tok, ctJSON, deep, nil, 400},
		{"JSON array", "POST", sys + tok, ctJSON, `[{"email":"a@x.co"}]`, nil, 400},
		{"JSON null", "POST", sys + tok, ctJSON, `null`, nil, 400},
		{"empty body", "POST", sys + tok, ctJSON, ``, nil, 400},
		{"bad percent escape", "POST", sys + tok, ctForm, "email=%zz&password=x", nil, 400},
		{"thousands of keys", "POST", sys + tok, ctForm, manyKeys, nil, 400},
		{"100 KiB body", "POST", sys + tok, ctJSON, `{"email":"a@x.co","password":"` + strings.Repeat("p", 100<<10) + `"}`, nil, 413},
		{"wrong method", "DELETE", sys + tok, "", "", nil, 405},
		{"OPTIONS", "OPTIONS", sys + tok, "", "", nil, 405},
		// §3.2
		{"id with SQL", "POST", sys + "/api/sys/users/" + url.PathEscape("1;DROP TABLE users") + "/token/refresh", "", "", []string{"Authorization", admin}, 404},
		{"id with 40 digits", "POST", sys + "/api/sys/users/" + strings.Repeat("9", 40) + "/token/refresh", "", "", []string{"Authorization", admin}, 404},
		{"id with leading zeros", "POST", sys + "/api/sys/users/0001/token/refresh", "", "", []string{"Authorization", admin}, 404},
		{"basic not base64", "POST", sys + "/api/sys/users/1/token/refresh", "", "", []string{"Authorization", "Basic %%%"}, 200},
		{"basic without colon", "POST", sys + "/api/sys/users/1/token/refresh", "", "", []string{"Authorization", "Basic YWRtaW4="}, 200},
		{"10000-char bearer", "POST", sys + "/api/sys/users/1/token/refresh", "", "", []string{"Authorization", "Bearer " + big}, 200},
		{"unknown auth scheme", "POST", sys + "/api/sys/users/1/token/refresh", "", "", []string{"Authorization", "Digest x"}, 200},
		{"alg none bearer", "POST", sys + "/api/sys/users/1/token/refresh", "", "", []string{"Authorization", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0."}, 200},
		{"validity query text", "GET", sys + "/api/sys/users/1/token/refresh?validityInMinutes=abc", "", "", []string{"Authorization", admin}, 400},
		{"nested validity negative", "POST", sys + "/api/sys/users/1/token/refresh", ctJSON, `{"auth":{"validityInMinutes":-1}}`, []string{"Authorization", admin}, 400},
		{"impersonation PUT", "PUT", sys + "/api/sys/users/1/token/refresh", "", "", nil, 405},
		// §3.3
		{"10000-char t", "GET", demo + "/en/user/login?t=" + big, "", "", nil, 401},
		{"NUL in t", "GET", demo + "/en/user/login?t=a%00b", "", "", nil, 401},
		{"alg none t", "GET", demo + "/en/user/login?t=eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.", "", "", nil, 401},
		{"CRLF redirect with bad t", "GET", demo + "/en/user/login?t=x&redirectUrl=%0d%0aSet-Cookie:%20a=b", "", "", nil, 401},
		{"uppercase language", "GET", demo + "/EN/user/login?t=x", "", "", nil, 404},
		{"dangling region", "GET", demo + "/en-/user/login?t=x", "", "", nil, 404},
		{"long language", "GET", demo + "/" + strings.Repeat("e", 300) + "/user/login?t=x", "", "", nil, 404},
		// §3.4
		{"reset email with CRLF", "POST", demo + "/en/user/resetPassword", ctJSON, `{"email":"a@x.co\r\nBcc: all@x.co"}`, nil, 400},
		{"reset 10000-char email", "GET", demo + "/en/user/resetPassword?email=" + big + "@x.co", "", "", nil, 400},
		{"reset SQL quote email", "GET", demo + "/en/user/resetPassword?email=" + url.QueryEscape("o'brien@x.co"), "", "", nil, 404},
		{"reset quoted HTML local part", "GET", demo + "/en/user/resetPassword?email=" + url.QueryEscape(`"<b>"@x.co`), "", "", nil, 400},
		{"reset duplicate query", "GET", demo + "/en/user/resetPassword?email=a%40x.co&Email=b%40x.co", "", "", nil, 400},
		{"reset email as number", "POST", sys + "/api/sys/users/resetPassword", ctJSON, `{"email":12345}`, nil, 400},
		{"reset email as array", "POST", sys + "/api/sys/users/resetPassword", ctJSON, `{"email":["a@x.co"]}`, nil, 400},
		{"new password page no token", "GET", demo + "/en/user/newPassword", "", "", nil, 400},
		{"new password page long token", "GET", demo + "/en/user/newPassword?token=" + big, "", "", nil, 400},
		{"new password POST no CSRF", "POST", demo + "/en/user/newPassword", ctForm, form("token", "x", "password", "a long password", "confirm", "a long password"), nil, 403},
		{"new password POST bad UTF-8", "POST", demo + "/en/user/newPassword", ctForm, "token=%ff", nil, 400},
		{"login form no CSRF", "POST", demo + "/en/user/login", ctForm, form("email", "alice@example.com", "password", pw), nil, 403},
		{"login form cross-site", "POST", demo + "/en/user/login", ctForm, form("email", "alice@example.com"), []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		// SPEC §5: the rest of the sign-in surface.
		{"token endpoint JSON body", "POST", sys + "/api/token", ctJSON, `{"grant_type":"password"}`, nil, 400},
		{"token endpoint bad escape", "POST", sys + "/api/token", ctForm, "grant_type=%zz", nil, 400},
		{"token endpoint 10000-char refresh", "POST", sys + "/api/token", ctForm, form("grant_type", "refresh_token", "refresh_token", big), nil, 400},
		{"token endpoint 100 KiB", "POST", sys + "/api/token", ctForm, "a=" + strings.Repeat("b", 100<<10), nil, 413},
		{"exchange garbage", "POST", sys + "/api/sys/users/exchange?token=" + big, "", "", nil, 401},
		{"exchange bad validity", "POST", sys + "/api/sys/users/exchange?token=x&validForInMinutes=-3", "", "", nil, 400},
		{"link token garbage bearer", "POST", sys + "/api/sys/users/token/refresh", "", "", []string{"Authorization", "Bearer " + big}, 401},
		{"start reset array email", "POST", sys + "/api/sys/users/startPasswordReset", ctJSON, `{"Email":["a@x.co"]}`, nil, 400},
		{"start reset bad business", "POST", sys + "/api/sys/users/startPasswordReset", ctJSON, `{"Email":"a@x.co","BusinessId":"abc"}`, nil, 400},
		{"complete reset NUL token", "POST", sys + "/api/sys/users/completePasswordReset", ctJSON, `{"Token":"a\u0000b","Password":"x"}`, nil, 400},
		{"complete reset unknown token", "POST", sys + "/api/sys/users/completePasswordReset", ctJSON, `{"Token":"nope","Password":"a long passphrase"}`, nil, 400},
		{"verify code huge", "POST", sys + "/api/sys/users/verifyOtp", ctJSON, `{"email":"a@x.co","code":"` + big + `"}`, nil, 401},
		{"totp start no bearer", "POST", sys + "/api/sys/users/me/totp", "", "", nil, 401},
		{"totp confirm garbage bearer", "POST", sys + "/api/sys/users/me/totp/confirm", ctJSON, `{"code":"1"}`, []string{"Authorization", "Bearer x.y.z"}, 401},
		{"introspect no token", "POST", sys + "/api/oauth/introspect", ctForm, "", []string{"Authorization", admin}, 400},
		{"revoke no credentials", "POST", sys + "/api/oauth/revoke", ctForm, form("token", "x"), nil, 401},
		{"me garbage bearer", "GET", demo + "/en/user/me", "", "", []string{"Authorization", "Bearer " + big}, 401},
		// Elsewhere.
		{"unknown API path", "GET", sys + "/api/nothing/here", "", "", nil, 404},
		{"unknown tenant path", "GET", demo + "/en/user/nothing", "", "", nil, 404},
		{"jwks with odd Accept", "GET", sys + "/.well-known/jwks.json", "", "", []string{"Accept", "text/x-nonsense;;q=abc"}, 200},
		{"healthz long query", "GET", sys + "/healthz?" + big, "", "", nil, 200},
		{"impersonation 100 KiB body", "POST", sys + "/api/sys/users/1/token/refresh", ctJSON, `{"a":"` + strings.Repeat("b", 100<<10) + `"}`, []string{"Authorization", admin}, 413},
	}
	before := takeSnapshot(t, h)
	c := h.client()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, c, tc.method, tc.url, tc.ct, tc.body, tc.hdr...)
			if status != tc.status {
				t.Errorf("HTTP %d, want %d: %.300s", status, tc.status, body)
			}
			if status >= 500 || strings.TrimSpace(body) == "" && tc.method != "HEAD" {
				t.Errorf("HTTP %d with body %q", status, body)
			}
		})
	}
	t.Run("truncated body", func(t *testing.T) {
		resp := rawRequest(t, h, "POST "+tok+" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"email\":", nil)
		if resp.StatusCode != 400 {
			t.Errorf("HTTP %d, want 400", resp.StatusCode)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		chunks := []string{`{"email":"slow@x.co",`, `"password":`, `"x"}`}
		resp := rawRequest(t, h, "POST "+tok+" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "+fmt.Sprint(len(strings.Join(chunks, "")))+"\r\nConnection: close\r\n\r\n", chunks)
		if resp.StatusCode != 200 {
			t.Errorf("HTTP %d, want 200 (a refused sign-in)", resp.StatusCode)
		}
	})
	t.Run("header injection in request id", func(t *testing.T) {
		status, hdr, _ := do(t, c, "GET", sys+"/healthz", "", "", "X-Request-Id", "abc<script>")
		if status != 200 || strings.Contains(hdr.Get("X-Request-Id"), "<") {
			t.Errorf("request id echoed unsanitised: %q", hdr.Get("X-Request-Id"))
		}
	})
	if len(cases) < 60 {
		t.Fatalf("catalogue has %d cases, want at least 60", len(cases))
	}
	if status, _, _ := do(t, c, "GET", sys+"/healthz", "", ""); status != 200 {
		t.Fatalf("unhealthy after the catalogue: %d", status)
	}
	if status, _, _ := do(t, c, "GET", sys+"/readyz", "", ""); status != 200 {
		t.Fatalf("not ready after the catalogue: %d", status)
	}
	after := takeSnapshot(t, h)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed:\nbefore %+v\nafter  %+v", before, after)
	}
	signIn(t, h, c, "alice@example.com", 5) // still serving real users
}

// rawRequest writes head and then each chunk 150 ms apart on a raw
// connection, and reads the response.
func rawRequest(t *testing.T, h *harness, head string, chunks []string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:"+h.port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, head)
	for _, c := range chunks {
		time.Sleep(150 * time.Millisecond)
		io.WriteString(conn, c)
	}
	if chunks == nil {
		conn.(*net.TCPConn).CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
