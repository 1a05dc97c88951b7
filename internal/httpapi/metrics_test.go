package httpapi_test

import (
	"strings"
	"testing"
)

// TestMetricsNotOnAPIListener (issue #10.5, SPEC §6 "Metrics"): the counters
// move only for existing emails (reset.requested, code.requested, mail
// sent), so /metrics on the API listener told an attacker which emails have
// accounts. No host of the API listener serves them.
func TestMetricsNotOnAPIListener(t *testing.T) {
	h, _, c := seeded(t)
	do(t, c, "POST", h.base()+"/api/sys/users/resetPassword", ctJSON, `{"email":"alice@example.com"}`)
	for _, base := range []string{h.base(), h.tenant("demo"), h.tenant("other")} {
		for _, path := range []string{"/metrics", "/metrics/", "/api/metrics"} {
			status, _, body := do(t, c, "GET", base+path, "", "", "Accept", "application/json")
			if status != 404 || strings.Contains(body, "spaceauth_") {
				t.Errorf("GET %s%s: HTTP %d, body %.120q", base, path, status, body)
			}
		}
	}
}
