package pages

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStatic(t *testing.T) {
	h := newRenderer(t).Static()
	get := func(method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	first := get("GET", "/static/style.css", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		ctype              string
	}{
		{"mounted path", "GET", "/static/style.css", nil, 200, "text/css; charset=utf-8"},
		{"stripped path", "GET", "/style.css", nil, 200, "text/css; charset=utf-8"},
		{"head", "HEAD", "/static/style.css", nil, 200, "text/css; charset=utf-8"},
		{"revalidate", "GET", "/static/style.css", map[string]string{"If-None-Match": etag}, 304, ""},
		{"unknown file", "GET", "/static/nope.css", nil, 404, ""},
		{"directory", "GET", "/static/", nil, 404, ""},
		{"traversal", "GET", "/static/../templates/layout.html", nil, 404, ""},
		{"post", "POST", "/static/style.css", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.method, tt.path, tt.hdr)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.ctype != "" && rec.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.ctype)
			}
		})
	}
	if !strings.Contains(first.Body.String(), "body {") {
		t.Error("stylesheet body looks wrong")
	}
	if got := get("POST", "/static/style.css", nil).Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow = %q", got)
	}
	if first.Code != http.StatusOK {
		t.Fatal(first.Code)
	}
}
