package tokentest

import (
	"encoding/base64"
	"testing"
)

func TestSegment(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	raw := enc([]byte(`{"alg":"EdDSA","kid":"k1"}`)) + "." + enc([]byte(`{"sub":"42"}`)) + ".sig"
	if got := Segment(t, raw, 0)["kid"]; got != "k1" {
		t.Errorf("header kid %v, want k1", got)
	}
	if got := Claims(t, raw)["sub"]; got != "42" {
		t.Errorf("claims sub %v, want 42", got)
	}
}
