package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/testkit"
)

// makeReadOnly makes path refuse writes for this process: immutable
// (chattr +i) when running as root, whom file modes do not stop, else mode
// 0444. The change is undone when the test ends.
func makeReadOnly(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, 0o600) })
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
}

// TestServeRefusesReadOnlyDatabase is issue #11.6: serve on a database it
// can read but not write stops at once with a one-line error, instead of
// starting and failing every sign-in and every mail.
func TestServeRefusesReadOnlyDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "spaceauth.db")
	var out, errOut testkit.Buffer
	getenv := func(string) string { return "" }
	if rc := run(context.Background(), []string{"business", "add", "--db", db, "--slug", "demo", "--name", "Demo"}, getenv, strings.NewReader(""), &out, &errOut); rc != 0 {
		t.Fatalf("business add: %d %s", rc, errOut.String())
	}
	makeReadOnly(t, db)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr testkit.Buffer
	rc := run(ctx, []string{"serve", "--db", db, "--mail-dir", filepath.Join(dir, "mail"), "--listen", "127.0.0.1:0"},
		getenv, strings.NewReader(""), &stdout, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("serve ran on a read-only database until stopped; stderr:\n%s", stderr.String())
	}
	msg := strings.TrimSpace(stderr.String())
	if rc == 0 || !strings.Contains(msg, "does not take writes") || strings.Count(msg, "\n") != 0 {
		t.Errorf("exit %d, stderr %q: want a non-zero exit and one line saying the database does not take writes", rc, msg)
	}
}
