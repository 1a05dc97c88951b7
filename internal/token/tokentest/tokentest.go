// Package tokentest reads the parts of a JWT in tests, without verifying
// it: the tests verify through the service itself, and look inside only to
// check what went on the wire.
package tokentest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// Segment decodes part i of the compact JWT raw (0: the header, 1: the
// claims) as a JSON object, failing the test when raw is not a JWT.
func Segment(t testing.TB, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
	return m
}

// Claims is Segment(t, raw, 1).
func Claims(t testing.TB, raw string) map[string]any {
	t.Helper()
	return Segment(t, raw, 1)
}
