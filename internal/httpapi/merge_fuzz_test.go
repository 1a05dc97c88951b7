package httpapi

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzQueryMerge: whatever body and query arrive, the §5.8 merge answers
// fields or a 400, never panics, never lets invalid UTF-8 through, and a
// merged email that is a valid address was valid in (or one URL-decoding
// of) what the client sent.
func FuzzQueryMerge(f *testing.F) {
	seeds := []struct{ body, query string }{
		{`{"email":"ana%40example.com"}`, "email=ana%40example.com"},
		{`{"email":"ana@example.com"}`, "email=bob%40example.com"},
		{`{"email":"ana%2540example.com"}`, ""},
		{`{"email":null}`, "Email=a@b.c"},
		{`{"validityInMinutes":30}`, "validityinminutes=30.0"},
		{`{"token":"a.b.c"}`, "token=a.b.d"},
		{`{"email":"%zz"}`, "email=%25zz"},
		{`{}`, "email=a&EMAIL=b"},
	}
	for _, s := range seeds {
		f.Add(s.body, s.query)
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		fs, err := parseJSON([]byte(body))
		if err != nil {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		out, err := fs.withQuery(q)
		if err != nil {
			if ie, ok := err.(*inputError); !ok || ie.status != 400 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		for k, v := range out {
			if !utf8.ValidString(v.text) {
				t.Fatalf("invalid UTF-8 in %q", k)
			}
		}
		got, ok := out["email"]
		if !ok || !validInput("email", got.text) {
			return
		}
		sent := []string{fs["email"].text}
		for k, vs := range q {
			if strings.EqualFold(k, "email") {
				sent = append(sent, vs...)
			}
		}
		for _, s := range sent {
			if s == got.text {
				return
			}
			if d, err := url.PathUnescape(s); err == nil && d == got.text {
				return
			}
		}
		t.Fatalf("email %q came from none of %q", got.text, sent)
	})
}
