package testkit

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestServerCertificateVerifies(t *testing.T) {
	ca := NewCA(t)
	cert := ca.ServerCertificate(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"localhost", true},
		{"example.com", false},
	}
	for _, tt := range tests {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tt.name})
		if (err == nil) != tt.ok {
			t.Errorf("verify for %s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: NewCA(t).Pool(), DNSName: "localhost"}); err == nil {
		t.Error("a certificate verified against another authority")
	}
}

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
		_ = b.String()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 10 {
		t.Errorf("%d lines, want 10", n)
	}
}

func TestFreePortListens(t *testing.T) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, r.Method+" "+r.URL.Path)
	}))
	defer srv.Close()
	if status, body := Get(t, srv.URL+"/x"); status != http.StatusTeapot || body != "GET /x" {
		t.Errorf("Get: %d %q", status, body)
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failures int
}

func (r *recorder) Errorf(string, ...any) { r.failures++ }
func (r *recorder) Helper()               {}

func TestContains(t *testing.T) {
	tests := []struct {
		name      string
		want, not []string
		failures  int
	}{
		{"all there, none forbidden", []string{"a", "b"}, []string{"z"}, 0},
		{"one missing", []string{"a", "x"}, nil, 1},
		{"one forbidden", nil, []string{"b", "z"}, 1},
		{"both", []string{"x"}, []string{"a"}, 2},
	}
	for _, tt := range tests {
		r := &recorder{TB: t}
		Contains(r, "text", "a b c", tt.want, tt.not)
		if r.failures != tt.failures {
			t.Errorf("%s: %d failures, want %d", tt.name, r.failures, tt.failures)
		}
	}
}
