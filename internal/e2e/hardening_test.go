package e2e

import (
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBinaryHardening runs the real binary with a key-encryption key and
// the debug and metrics listeners, and checks issues #18.1, #18.6 and
// #10.5 as an attacker and an operator would see them.
func TestBinaryHardening(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "spaceauth.db")
	port, debugPort, metricsPort := freePort(t), freePort(t), freePort(t)
	const kek = "e2e-kek-do-not-show"
	p := serve(t, port, "--db", db, "--mail-dir", filepath.Join(dir, "mail"), "--key-encryption-key", kek,
		"--debug-listen", "127.0.0.1:"+debugPort, "--metrics-listen", "127.0.0.1:"+metricsPort, "--log-level", "warn")
	c := client(port, 30*time.Second)

	t.Run("number bomb", func(t *testing.T) {
		// Issue #18.1: six concurrent 36-byte requests took the process
		// to 1.07 GB. Each is now a 400, and the peak resident memory
		// hardly moves.
		before := p.rssKiB("VmHWM")
		var wg sync.WaitGroup
		codes := make([]int, 6)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get("http://localhost:" + port + "/api/sys/users/1/token/refresh?validityInMinutes=1e646456992")
				if err != nil {
					t.Error(err)
					return
				}
				drain(resp)
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusBadRequest {
				t.Errorf("request %d: HTTP %d, want 400", i, code)
			}
		}
		if grew := p.rssKiB("VmHWM") - before; grew > 64<<10 {
			t.Errorf("peak RSS grew by %d KiB answering six number bombs", grew)
		}
	})

	t.Run("debug cmdline redacted", func(t *testing.T) {
		resp, err := http.Get("http://127.0.0.1:" + debugPort + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		body := drain(resp)
		if strings.Contains(body, kek) || !strings.Contains(body, "REDACTED") {
			t.Errorf("/debug/pprof/cmdline = %q", body)
		}
	})

	t.Run("metrics only on their listener", func(t *testing.T) {
		resp, err := c.Get("http://localhost:" + port + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if body := drain(resp); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "spaceauth_") {
			t.Errorf("API listener /metrics: %d", resp.StatusCode)
		}
		resp, err = http.Get("http://127.0.0.1:" + metricsPort + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if body := drain(resp); resp.StatusCode != 200 || !strings.Contains(body, "spaceauth_http_request_duration_seconds") {
			t.Errorf("metrics listener: %d", resp.StatusCode)
		}
	})

	t.Run("database files 0600", func(t *testing.T) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			fi, err := os.Stat(db + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s%s is %o", filepath.Base(db), suffix, fi.Mode().Perm())
			}
		}
	})

	t.Run("first key sealed", func(t *testing.T) {
		out := cli(t, "", "keys", "list", "--db", db)
		if !strings.Contains(out, "signing") || !strings.Contains(out, "true") {
			t.Errorf("keys list:\n%s", out)
		}
		out2, err := osexec.Command(binary, "keys", "rotate", "--db", db, "--key-encryption-key", "wrong").CombinedOutput()
		if err == nil || !strings.Contains(string(out2), "wrong key-encryption key") {
			t.Errorf("keys rotate with a wrong key: %v\n%s", err, out2)
		}
	})
}
