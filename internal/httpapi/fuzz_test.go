package httpapi

import (
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseBody: whatever arrives, the parser answers fields or an
// inputError with a documented status, and never panics.
func FuzzParseBody(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"application/json", `{"email":"a@b.c","password":"x","validityInMinutes":30}`},
		{"application/json", `{"auth":{"validityInMinutes":"30"},"Email":"a@b.c"}`},
		{"application/json", `{"a":[1,{"b":[2]}],"c":null,"d":true}`},
		{"application/json", `{"email":"a","EMAIL":"b"}`},
		{"application/json; charset=utf-8", "{\"e\":\"\xff\"}"},
		{"application/x-www-form-urlencoded", "email=a%40b.c&password=x"},
		{"application/x-www-form-urlencoded", "email=a&email=b"},
		{"application/x-www-form-urlencoded", "%zz"},
		{"", `{"email":"a@b.c"}`},
		{"", "email=a"},
		{"text/plain", "x"},
		{"application/json", strings.Repeat("{\"a\":", 20)},
		{"multipart/form-data; boundary=x", "--x--"},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		fs, err := parseBody(ct, body)
		if err != nil {
			ie, ok := err.(*inputError)
			if !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ie.status != 400 && ie.status != 415 && ie.status != 413 {
				t.Fatalf("status %d", ie.status)
			}
			return
		}
		for k, v := range fs {
			if k != strings.ToLower(k) {
				t.Fatalf("key %q not lower-cased", k)
			}
			if !utf8.ValidString(v.text) {
				t.Fatalf("invalid UTF-8 passed through in %q", k)
			}
			if s, err := fs.str(k); err == nil && strings.ContainsRune(s, 0) {
				t.Fatalf("NUL passed through in %q", k)
			}
			if n, err := fs.minutes(k); err == nil && n < 0 {
				t.Fatalf("negative minutes %d", n)
			}
		}
	})
}

// FuzzSafeRedirect: the redirect is either the fallback or a same-site
// relative path that no browser reads as another origin.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/", "/en/home", "//evil", "/\\evil", "https://evil", "javascript:x", "/%2F%2Fevil",
		"/%5Cevil", "/a\r\nb", "/\t/evil", "\\\\evil", "/.//evil", "/%252F%252Fevil", "/a?b=//c", "/%E2%80%A8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		got := safeRedirect(target, "en")
		if got == "/en/user/account" {
			return
		}
		if got != target {
			t.Fatalf("rewrote %q to %q", target, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") || len(got) > 2048 {
			t.Fatalf("unsafe redirect allowed: %q", got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("redirect %q parses to host %q scheme %q", got, u.Host, u.Scheme)
		}
		dec, err := url.PathUnescape(got)
		if err == nil && (strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\")) {
			t.Fatalf("redirect %q decodes to %q", got, dec)
		}
	})
}

// FuzzCallerCredentials: any Authorization header gives either no
// credentials (only when absent) or something Authenticate can refuse.
func FuzzCallerCredentials(f *testing.F) {
	for _, s := range []string{"", "Basic YTpi", "Basic !!!", "Bearer x.y.z", "bearer ", "Digest a", "Basic " + strings.Repeat("A", 100), "Basic YTo="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		c := callerCredentials(r)
		if strings.TrimSpace(h) != "" && c.Email == "" && c.Password == "" && c.Bearer == "" {
			t.Fatalf("header %q read as no credentials", h)
		}
		if c.Email != "" && c.Password == "" || c.Email == "" && c.Password != "" {
			t.Fatalf("half a credential from %q: %+v", h, c)
		}
	})
}

// numericFields are every numeric field a client may send (SPEC §1).
var numericFields = []string{"validityInMinutes", "auth.validityInMinutes", "validForInMinutes", "businessId"}

// FuzzNumber (issue #18.1): every numeric field, as a JSON number, a JSON
// string, a form value or a query parameter, parses to a positive integer
// or is refused, and no input makes the parser allocate more than a small
// bound (the old parser built a 2^31-bit integer from "1e646456992").
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"30", "+30", "30.0", "-5", "0", "999999999999", "1000000000000", "1e646456992", "9e999999999",
		"1e400", "3e1", "0x10", " 45 ", "1.5", "", ".0", "+", "-0.0", strings.Repeat("9", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A bound per input, independent of the machine: the input's own
		// size a few times over plus a fixed allowance for the decoder.
		bound := uint64(256<<10 + 16*len(s))
		var before, after runtime.MemStats
		for _, name := range numericFields {
			lk := strings.ToLower(name)
			last := name[strings.LastIndexByte(name, '.')+1:]
			bodies := []struct{ ct, body string }{
				{"application/json", `{"` + name + `":` + s + `}`},
				{"application/json", `{"` + name + `":"` + s + `"}`},
				{"application/x-www-form-urlencoded", url.Values{name: {s}}.Encode()},
			}
			if name != last { // the nested spelling
				bodies = append(bodies, struct{ ct, body string }{"application/json", `{"auth":{"` + last + `":` + s + `}}`})
			}
			for _, b := range bodies {
				runtime.ReadMemStats(&before)
				fs, err := parseBody(b.ct, []byte(b.body))
				var n int64
				var nerr error
				if err == nil {
					n, nerr = fs.minutes(name)
				}
				runtime.ReadMemStats(&after)
				if grew := after.TotalAlloc - before.TotalAlloc; grew > bound {
					t.Fatalf("%s %q: %d bytes allocated (bound %d)", b.ct, b.body, grew, bound)
				}
				if err == nil && nerr == nil {
					if _, given := fs[lk]; given && (n <= 0 || n > 999_999_999_999) {
						t.Fatalf("%q parsed to %d", b.body, n)
					}
				}
			}
			runtime.ReadMemStats(&before)
			fs, err := fields{}.withQuery(url.Values{name: {s}})
			if err == nil {
				fs.minutes(name)
			}
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > bound {
				t.Fatalf("query %q: %d bytes allocated (bound %d)", s, grew, bound)
			}
		}
		if n, err := parseMinutes(strings.TrimSpace(s), errBadMinutes); err == nil {
			if n <= 0 || len(strings.TrimSpace(s)) > maxNumberLen {
				t.Fatalf("%q accepted as %d", s, n)
			}
		}
	})
}
