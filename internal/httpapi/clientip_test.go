package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	s := &Server{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	cases := []struct {
		name, remote, xff, want string
	}{
		{"no proxy", "203.0.113.5:1234", "", "203.0.113.5"},
		{"untrusted peer ignores XFF", "203.0.113.5:1234", "198.51.100.1", "203.0.113.5"},
		{"trusted peer", "10.1.2.3:1234", "198.51.100.1", "198.51.100.1"},
		{"rightmost untrusted hop", "10.1.2.3:1234", "1.1.1.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"spoofed leftmost ignored", "10.1.2.3:1234", "6.6.6.6, 198.51.100.7", "198.51.100.7"},
		{"garbage hop", "10.1.2.3:1234", "not-an-ip", "10.1.2.3"},
		{"only proxies", "10.1.2.3:1234", "10.0.0.1", "10.1.2.3"},
		{"IPv6 proxy", "[::1]:80", "2001:db8::1", "2001:db8::1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := s.clientIP(r); got != c.want {
				t.Fatalf("clientIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	cases := []struct{ in, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not-an-ip", "not-an-ip"},
	}
	for _, c := range cases {
		if got := clientKey(c.in); got != c.want {
			t.Errorf("clientKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
