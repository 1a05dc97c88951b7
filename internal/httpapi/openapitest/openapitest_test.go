package openapitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/spaceauth/spaceauth/internal/httpapi"
)

const docPath = "../../../docs/openapi.yaml"

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// answer is one canned response of the test server.
type answer struct {
	status int
	header map[string]string
	body   string
}

const (
	jsonCT = "application/json; charset=utf-8"
	htmlCT = "text/html; charset=utf-8"
	jwt    = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
)

func envelope(status int, value string, ok bool) string {
	return fmt.Sprintf(`{"Status":%d,"Message":"m","Value":%s,"OpenInDialog":false,"OpenInWindow":false,"RedirectURL":null,`+
		`"JavaScript":null,"UpdatedOn":null,"UpdatedBy":null,"Errors":null,"WasSuccessful":%t}`, status, value, ok)
}

// userRecord is a conforming §5.8 user record with the given Businesses.
func userRecord(businesses string) string {
	return `{"Id":1,"UniqueId":null,"FullName":"A","Email":"a@b.c","AccessToken":"` + jwt + `","DefaultBusinessId":1,` +
		`"DefaultBusinessName":"Demo","Businesses":` + businesses + `,"UserRoles":["User-Edit"],"Active":true,"IsAdmin":false,` +
		`"Validated":false,"MustResetPassword":false,"LastAccess":null,"CreatedOn":"2026-01-02T03:04:05Z",` +
		`"UpdatedOn":"2026-01-02T03:04:05Z","UpdatedBy":null,"ToStringText":"A - a@b.c","TwoFactorEnabled":false,"Language":"en"}`
}

func TestCheckThroughClient(t *testing.T) {
	spec := Load(t, docPath)
	tokenOK := answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, envelope(200, `"`+jwt+`"`, true)}
	cases := []struct {
		name   string
		method string
		url    string // path and query
		host   string // Host header; "" for the system host
		answer answer
		bad    bool
	}{
		// Conforming answers.
		{name: "token success", method: "POST", url: "/api/sys/users/token", answer: tokenOK},
		{name: "seed spelling with trailing slash", method: "POST", url: "/sys/users/token/", host: "demo.localhost:8080", answer: tokenOK},
		{name: "credential failure under 200", method: "POST", url: "/api/sys/users/token",
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, envelope(500, "null", false)}},
		{name: "validation error", method: "POST", url: "/api/sys/users/token",
			answer: answer{400, map[string]string{"Content-Type": jsonCT},
				`{"Status":400,"Message":"m","Value":null,"OpenInDialog":false,"OpenInWindow":false,"RedirectURL":null,"JavaScript":null,"UpdatedOn":null,"UpdatedBy":null,"Errors":{"email":["required"]},"WasSuccessful":false}`}},
		{name: "impersonation without credentials", method: "GET", url: "/api/sys/users/abc/token/refresh",
			answer: answer{401, map[string]string{"Content-Type": jsonCT, "WWW-Authenticate": `Basic realm="spaceauth"`}, envelope(401, "null", false)}},
		{name: "portal sign-in redirect", method: "GET", url: "/en/user/login?t=x&redirectUrl=/a", host: "demo.localhost:8080",
			answer: answer{302, map[string]string{"Location": "/a"}, ""}},
		{name: "portal link invalid", method: "GET", url: "/en/user/login?t=x", host: "demo.localhost:8080",
			answer: answer{401, map[string]string{"Content-Type": htmlCT}, "<!doctype html><p>expired</p>"}},
		{name: "me", method: "GET", url: "/en/user/me", host: "demo.localhost:8080",
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, userRecord(`[1]`)}},
		{name: "me with business objects (before §5.8)", method: "GET", url: "/en/user/me", host: "demo.localhost:8080", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, userRecord(`[{"Id":1,"Name":"Demo"}]`)}},
		{name: "validate", method: "POST", url: "/api/sys/users/validate",
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, envelope(200, userRecord(`[1]`), true)}},
		{name: "validate failed", method: "POST", url: "/api/sys/users/validate",
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, envelope(500, "null", false)}},
		{name: "exists", method: "GET", url: "/en/user/exists?email=a@b.c", host: "demo.localhost:8080",
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, `true`}},
		{name: "exists not a boolean", method: "GET", url: "/en/user/exists?email=a@b.c", host: "demo.localhost:8080", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, `"yes"`}},
		{name: "getByHost", method: "GET", url: "/api/sys/businesses/getByHost?host=demo",
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, `{"Id":1,"Name":"Demo","WebAddress":"demo.localhost:8080"}`}},
		{name: "getByHost unknown", method: "GET", url: "/api/sys/businesses/getByHost?host=nowhere",
			answer: answer{404, map[string]string{"Content-Type": jsonCT}, envelope(404, "null", false)}},
		{name: "introspection inactive", method: "POST", url: "/api/oauth/introspect",
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, `{"active":false}`}},
		{name: "throttled", method: "POST", url: "/api/sys/users/token",
			answer: answer{429, map[string]string{"Content-Type": jsonCT, "Retry-After": "3"}, envelope(429, "null", false)}},
		{name: "unknown path", method: "GET", url: "/nope",
			answer: answer{404, map[string]string{"Content-Type": jsonCT}, envelope(404, "null", false)}},
		{name: "wrong method", method: "PUT", url: "/api/sys/users/token",
			answer: answer{405, map[string]string{"Content-Type": jsonCT, "Allow": "POST"}, envelope(405, "null", false)}},
		{name: "wrong method on a templated path", method: "PUT", url: "/fr/user/logout/", host: "demo.localhost:8080",
			answer: answer{405, map[string]string{"Content-Type": jsonCT, "Allow": "GET, HEAD, POST"}, envelope(405, "null", false)}},
		{name: "readyz", method: "GET", url: "/readyz", answer: answer{503, map[string]string{"Content-Type": jsonCT}, `{"status":"migrations pending"}`}},

		// Non-conforming answers.
		{name: "envelope without WasSuccessful", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, `{"Status":200,"Message":"OK","Value":"` + jwt + `","Errors":null}`}},
		{name: "undocumented status", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{418, map[string]string{"Content-Type": jsonCT}, envelope(418, "null", false)}},
		{name: "wrong content type", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{200, map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}, envelope(200, `"`+jwt+`"`, true)}},
		{name: "no charset", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{200, map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}, envelope(200, `"`+jwt+`"`, true)}},
		{name: "token not cacheable header missing", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, envelope(200, `"`+jwt+`"`, true)}},
		{name: "value not a token", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, envelope(200, `"hello"`, true)}},
		{name: "keys out of order", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{400, map[string]string{"Content-Type": jsonCT}, `{"Message":"m","Status":400,"Value":null,"OpenInDialog":false,"OpenInWindow":false,"RedirectURL":null,"JavaScript":null,"UpdatedOn":null,"UpdatedBy":null,"Errors":null,"WasSuccessful":false}`}},
		{name: "five-key envelope (before ActionConfirmation)", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{400, map[string]string{"Content-Type": jsonCT}, `{"Status":400,"Message":"m","Value":null,"Errors":null,"WasSuccessful":false}`}},
		{name: "status differs from HTTP", method: "GET", url: "/api/sys/users/7/token/refresh", bad: true,
			answer: answer{404, map[string]string{"Content-Type": jsonCT}, envelope(400, "null", false)}},
		{name: "redirect without Location", method: "GET", url: "/en/user/logout", host: "demo.localhost:8080", bad: true,
			answer: answer{302, nil, ""}},
		{name: "throttled without Retry-After", method: "POST", url: "/api/sys/users/token", bad: true,
			answer: answer{429, map[string]string{"Content-Type": jsonCT}, envelope(429, "null", false)}},
		{name: "401 without WWW-Authenticate", method: "POST", url: "/api/sys/users/9/token/refresh", bad: true,
			answer: answer{401, map[string]string{"Content-Type": jsonCT}, envelope(401, "null", false)}},
		{name: "unknown path answered 200", method: "GET", url: "/nope", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT}, envelope(200, "null", true)}},
		{name: "405 without Allow", method: "DELETE", url: "/healthz", bad: true,
			answer: answer{405, map[string]string{"Content-Type": jsonCT}, envelope(405, "null", false)}},
		{name: "Allow lacks the documented method", method: "GET", url: "/api/sys/users/token", bad: true,
			answer: answer{405, map[string]string{"Content-Type": jsonCT, "Allow": "PUT"}, envelope(405, "null", false)}},
		{name: "inactive introspection says more", method: "POST", url: "/api/oauth/introspect", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT, "Cache-Control": "no-store"}, `{"active":false,"sub":"1"}`}},
		{name: "me without Businesses", method: "GET", url: "/en/user/me", host: "demo.localhost:8080", bad: true,
			answer: answer{200, map[string]string{"Content-Type": jsonCT},
				`{"Id":1,"FullName":"A","Email":"a@b.c","DefaultBusinessId":1,"DefaultBusinessName":"Demo","IsAdmin":false,"TwoFactorEnabled":false,"Language":"en"}`}},
		{name: "empty HTML page", method: "GET", url: "/en/user/account", host: "demo.localhost:8080", bad: true,
			answer: answer{200, map[string]string{"Content-Type": htmlCT}, ""}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range cases {
			if c.name == r.Header.Get("X-Case") {
				for k, v := range c.answer.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.answer.status)
				io.WriteString(w, c.answer.body)
				return
			}
		}
		http.Error(w, "no such case", http.StatusTeapot)
	}))
	defer srv.Close()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			client := spec.Client(rec, srv.Client())
			req, err := http.NewRequest(c.method, srv.URL+c.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Case", c.name)
			if c.host != "" {
				req.Host = c.host
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.answer.status || string(body) != c.answer.body {
				t.Fatalf("the caller got %d %q, want %d %q (body not restored or redirect followed)",
					resp.StatusCode, body, c.answer.status, c.answer.body)
			}
			got := rec.failures()
			switch {
			case c.bad && len(got) == 0:
				t.Errorf("a non-conforming response was not reported")
			case !c.bad && len(got) > 0:
				t.Errorf("a conforming response was reported: %s", strings.Join(got, "\n"))
			case c.bad:
				t.Logf("reported: %s", got[0])
				for _, want := range []string{c.method, fmt.Sprint(c.answer.status)} {
					if !strings.Contains(got[0], want) {
						t.Errorf("the report %q does not name %q", got[0], want)
					}
				}
			}
		})
	}
}

func TestCheckHead(t *testing.T) {
	spec := Load(t, docPath)
	rec := &recorder{}
	req := httptest.NewRequest(http.MethodHead, "/healthz", nil)
	spec.Check(rec, req, http.StatusOK, http.Header{"Content-Type": {jsonCT}}, nil)
	if got := rec.failures(); len(got) > 0 {
		t.Errorf("HEAD with an empty body was reported: %v", got)
	}
	spec.Check(rec, req, http.StatusTeapot, http.Header{}, nil)
	if got := rec.failures(); len(got) != 1 {
		t.Errorf("HEAD with an undocumented status: %d reports, want 1", len(got))
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	docs := map[string]string{
		"not OpenAPI":  "hello: world\n",
		"bad ref":      "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
		"no refusals":  "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n",
		"missing file": "",
	}
	for name, text := range docs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			if text != "" {
				if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			rec := &recorder{}
			done := make(chan *Spec)
			go func() {
				defer close(done)
				done <- Load(rec, path)
			}()
			if s := <-done; s != nil {
				t.Errorf("Load accepted it")
			}
			if !rec.fatal {
				t.Errorf("Load did not fail the test")
			}
		})
	}
}

func TestCanonicalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/":                                "/",
		"/sys/users/token":                 "/api/sys/users/token",
		"/sys/users/token/":                "/api/sys/users/token",
		"/api/sys/users/5/token/refresh//": "/api/sys/users/5/token/refresh",
		"/en/user/login/":                  "/en/user/login",
		"/static/style.css/":               "/static/style.css/",
		"/system/x":                        "/system/x",
	} {
		if got := httpapi.CanonicalPath(in); got != want {
			t.Errorf("CanonicalPath(%q) = %q, want %q", in, got, want)
		}
	}
}
