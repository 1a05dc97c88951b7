// Package golden compares test output with files under testdata, the one
// implementation of the -update convention for every package's golden
// tests (HTTP envelopes, portal pages, emails).
package golden

import (
	"os"
	"testing"
)

// Check compares got with the file at path, or rewrites the file when
// update is set (the test binary's -update flag).
func Check(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking):\ngot:  %s\nwant: %s", path, got, want)
	}
}
