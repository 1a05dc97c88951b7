package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/testkit"
)

// binary is the spaceauth executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spaceauth-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "spaceauth")
	build := exec.Command("go", "build", "-o", binary, "github.com/spaceauth/spaceauth/cmd/spaceauth")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs a spaceauth subcommand to completion.
func cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("spaceauth %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// proc is one running `spaceauth serve`.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	port string
	log  string
	done chan error
}

// freePort is testkit.FreePort as the string the command line takes.
func freePort(t *testing.T) string {
	t.Helper()
	return strconv.Itoa(testkit.FreePort(t))
}

// serve starts the binary and waits until /readyz answers 200.
func serve(t *testing.T, port string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "serve.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"serve", "--listen", "127.0.0.1:" + port, "--public-url", "http://localhost:" + port}, args...)
	cmd := exec.Command(binary, all...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, port: port, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); lf.Close() }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://127.0.0.1:" + port + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("spaceauth exited before ready: %v\n%s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("spaceauth not ready in 20s")
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// stop sends SIGTERM and waits for the process to exit: a graceful stop
// finishes the mail worker's sends in flight first.
func (p *proc) stop() {
	p.t.Helper()
	if p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err // the cleanup's kill finds it gone at once
	case <-time.After(30 * time.Second):
		p.t.Errorf("spaceauth did not stop in 30s after SIGTERM")
	}
}

// settleOutbox waits until the outbox on the database dsn holds no message
// still to send (every one sent or given up).
func settleOutbox(t *testing.T, dsn string, within time.Duration) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		var pending int
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM outbox WHERE sent_at = 0 AND NOT dead`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still pending", pending)
		}
	}
}

// rssKiB reads a field (VmRSS, VmHWM) of /proc/PID/status in KiB.
func (p *proc) rssKiB(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			var n int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, field+":"), "kB")), &n)
			return n
		}
	}
	return 0
}

// client talks to 127.0.0.1:port whatever host a URL names.
func client(port string, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, "127.0.0.1:"+port)
			},
			MaxIdleConnsPerHost: 256,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func drain(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}
