package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	r := &recorder{TB: t}
	Check(r, path, "a", false)
	if !r.failed {
		t.Error("a missing golden file passed")
	}
	Check(t, path, "a", true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "a" {
		t.Fatalf("update wrote %q, %v", b, err)
	}
	Check(t, path, "a", false)
	r = &recorder{TB: t}
	Check(r, path, "b", false)
	if !r.failed {
		t.Error("different output passed")
	}
}
