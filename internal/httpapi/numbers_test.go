package httpapi_test

import (
	"encoding/json"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// maxAllocPerRequest bounds the bytes the whole process may allocate while
// answering one hostile number. The bomb of issue #18.1 needed ~270 MB;
// a refused request needs a few kilobytes, the rest is headroom for the
// race detector and the background mail worker.
const maxAllocPerRequest = 8 << 20

// TestNumberBombs (issue #18.1, SPEC §1): every numeric field, in a body or
// a query, is refused with 400 for that field when it is not at most 12
// characters of digits, before anything is parsed, and answering costs a
// bounded amount of memory. The first case is the 36-byte request of the
// report, unauthenticated.
func TestNumberBombs(t *testing.T) {
	h, _, c := seeded(t)
	sys := h.base()
	bombs := []string{"1e646456992", "1E646456992", "9e999999999", strings.Repeat("9", 5000), "1e400", "0x10", "1_000", "3e1", "1000000000000", "+1e9", "12.5", "١٢"}
	type endpoint struct {
		name, method, path, field string
		body                      func(field, v string) (ct, body string)
	}
	jsonStr := func(extra string) func(field, v string) (string, string) {
		return func(field, v string) (string, string) {
			return ctJSON, `{` + extra + `"` + field + `":"` + v + `"}`
		}
	}
	jsonNum := func(extra string) func(field, v string) (string, string) {
		return func(field, v string) (string, string) {
			return ctJSON, `{` + extra + `"` + field + `":` + v + `}`
		}
	}
	formBody := func(extra ...string) func(field, v string) (string, string) {
		return func(field, v string) (string, string) {
			return ctForm, form(append(extra, field, v)...)
		}
	}
	query := func(field, v string) (string, string) { return "", "" }
	creds := `"email":"alice@example.com","password":"x",`
	endpoints := []endpoint{
		{"impersonate query", "GET", "/api/sys/users/1/token/refresh", "validityInMinutes", query},
		{"impersonate json number", "POST", "/api/sys/users/1/token/refresh", "validityInMinutes", jsonNum("")},
		{"impersonate nested", "POST", "/api/sys/users/1/token/refresh", "auth.validityInMinutes", func(_, v string) (string, string) {
			return ctJSON, `{"auth":{"validityInMinutes":"` + v + `"}}`
		}},
		{"token json number", "POST", "/api/sys/users/token", "validityInMinutes", jsonNum(creds)},
		{"token json string", "POST", "/api/sys/users/token", "validityInMinutes", jsonStr(creds)},
		{"token form", "POST", "/api/sys/users/token", "validityInMinutes", formBody("email", "alice@example.com", "password", "x")},
		{"exchange json", "POST", "/api/sys/users/exchange", "validForInMinutes", jsonNum(`"token":"x",`)},
		{"exchange query", "POST", "/api/sys/users/exchange", "validForInMinutes", query},
		{"startPasswordReset", "POST", "/api/sys/users/startPasswordReset", "businessId", jsonNum(`"email":"alice@example.com",`)},
		{"completePasswordReset", "POST", "/api/sys/users/completePasswordReset", "businessId", jsonStr(`"token":"x","password":"a new passphrase here",`)},
		{"sendOtp query", "GET", "/api/sys/users/sendOtp", "businessId", query},
	}
	var before, after runtime.MemStats
	for _, ep := range endpoints {
		for _, bomb := range bombs {
			if strings.Contains(ep.name, "json number") || ep.name == "exchange json" || ep.name == "startPasswordReset" {
				if !json.Valid([]byte(bomb)) {
					continue // not a JSON number: the body itself is malformed
				}
			}
			t.Run(ep.name+"/"+bomb[:min(len(bomb), 16)], func(t *testing.T) {
				ct, body := ep.body(ep.field, bomb)
				path := ep.path
				if ct == "" && body == "" {
					field := ep.field
					if ep.name == "exchange query" {
						path += "?token=x&" + url.QueryEscape(field) + "=" + url.QueryEscape(bomb)
					} else if ep.name == "sendOtp query" {
						path += "?email=alice%40example.com&" + url.QueryEscape(field) + "=" + url.QueryEscape(bomb)
					} else {
						path += "?" + url.QueryEscape(field) + "=" + url.QueryEscape(bomb)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&before)
				status, _, resp := do(t, c, ep.method, sys+path, ct, body)
				runtime.ReadMemStats(&after)
				if status != 400 {
					t.Errorf("HTTP %d, want 400: %s", status, resp)
				}
				e := parseEnv(t, resp)
				if _, ok := e.Errors[ep.field]; !ok {
					t.Errorf("Errors %v lack %q", e.Errors, ep.field)
				}
				if grew := after.TotalAlloc - before.TotalAlloc; grew > maxAllocPerRequest {
					t.Errorf("answering allocated %d bytes (bound %d)", grew, maxAllocPerRequest)
				}
			})
		}
	}
}

// TestNumberShapes: what SPEC §1 accepts is still accepted — a JSON number,
// a numeric string, a sign and a ".0" fraction, up to 12 characters.
func TestNumberShapes(t *testing.T) {
	h, _, c := seeded(t)
	cases := []struct {
		name, v string
		want    int64
	}{
		{"number", `30`, 30},
		{"string", `"30"`, 30},
		{"plus sign", `"+30"`, 30},
		{"zero fraction", `30.0`, 30},
		{"zero fraction string", `"30.00"`, 30},
		{"twelve digits clamped", `999999999999`, 10080},
		{"padded string", `" 45 "`, 45},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
				`{"email":"alice@example.com","password":"`+pw+`","validityInMinutes":`+tc.v+`}`)
			e := parseEnv(t, body)
			if status != 200 || e.Status != 200 {
				t.Fatalf("HTTP %d: %s", status, body)
			}
			cl := claims(t, e.Value.(string))
			if got := (num(cl, "exp") - num(cl, "iat")) / 60; got != tc.want {
				t.Errorf("validity %d minutes, want %d", got, tc.want)
			}
		})
	}
}
