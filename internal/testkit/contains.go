package testkit

import (
	"strings"
	"testing"
)

// Contains checks that text holds every string of want and none of not;
// what names the text in the failures.
func Contains(t testing.TB, what, text string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
	for _, n := range not {
		if strings.Contains(text, n) {
			t.Errorf("%s has %q", what, n)
		}
	}
}
