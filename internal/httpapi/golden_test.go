package httpapi_test

import (
	"flag"
	"path/filepath"
	"testing"

	goldenfile "github.com/spaceauth/spaceauth/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

// TestEnvelopeGolden pins the bytes of the ActionConfirmation (SPEC §2):
// every Nexudus key, in order, for a success, a credential failure and a
// validation failure.
func TestEnvelopeGolden(t *testing.T) {
	h, _, c := seeded(t)
	cases := []struct {
		name, method, url, ct, body string
		status                      int
	}{
		{"envelope_reset_sent", "POST", h.base() + "/api/sys/users/resetPassword", ctJSON, `{"email":"alice@example.com"}`, 200},
		{"envelope_bad_credentials", "POST", h.base() + "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"wrong wrong"}`, 200},
		{"envelope_invalid_email", "POST", h.base() + "/api/sys/users/resetPassword", ctForm, "email=not-an-address", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, c, tc.method, tc.url, tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			golden(t, tc.name+".golden", body)
		})
	}
}
