package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/testkit"
)

func waitFor(t *testing.T, buf *testkit.Buffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never printed %v; output:\n%s", re, buf.String())
	return nil
}

// running is the command's run function started in the test process.
type running struct {
	cancel         context.CancelFunc // the stop signal (SIGTERM)
	stdout, stderr testkit.Buffer
	done           chan int // the exit code
}

// startRun runs the command line args (environment from getenv, nil for
// none) on its own goroutine; the test's end stops it.
func startRun(t *testing.T, getenv func(string) string, args ...string) *running {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan int, 1)}
	t.Cleanup(cancel)
	go func() { r.done <- run(ctx, args, getenv, strings.NewReader(""), &r.stdout, &r.stderr) }()
	return r
}

// stop signals the command to stop and returns its exit code.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		return code
	case <-time.After(20 * time.Second):
		t.Fatalf("did not stop in 20s; stderr:\n%s", r.stderr.String())
		return -1
	}
}

// TestDemo runs `spaceauth demo` on an empty directory: it prints how to
// try it, the printed password signs in, and SIGTERM (context cancel) stops
// it cleanly with exit code 0.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	// The metrics listener comes from the environment twin.
	getenv := func(k string) string {
		if k == "SPACEAUTH_METRICS_LISTEN" {
			return "127.0.0.1:0"
		}
		return ""
	}
	r := startRun(t, getenv, "demo", "--db", filepath.Join(dir, "data", "spaceauth.db"), "--listen", "127.0.0.1:0")
	stdout, stderr := &r.stdout, &r.stderr

	m := waitFor(t, stdout, regexp.MustCompile(`password: (\S+)`))
	password := m[1]
	port := waitFor(t, stdout, regexp.MustCompile(`http://demo\.localhost:(\d+)/en/user/login`))[1]
	if !strings.Contains(stdout.String(), "curl") {
		t.Errorf("demo output does not say how to try it:\n%s", stdout.String())
	}
	// A first run says what it is doing before it is ready (issue #15.2).
	for _, step := range []string{"spaceauth demo: opening", "spaceauth demo: making sure the demo business"} {
		if !strings.Contains(stderr.String(), step) {
			t.Errorf("demo does not report %q:\n%s", step, stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "/admin") {
		t.Errorf("demo output does not name the console:\n%s", stdout.String())
	}
	resp, err := http.PostForm("http://127.0.0.1:"+port+"/api/sys/users/token", url.Values{"email": {demoEmail}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Status int
		Value  string
	}
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if env.Status != 200 || env.Value == "" {
		t.Fatalf("demo credentials refused: %+v", env)
	}
	// /metrics carries what an operator watches (issue 5's list), on its
	// own listener only (issue #10.5: never on the API listener).
	if status, _ := testkit.Get(t, "http://127.0.0.1:"+port+"/metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics on the API listener: %d", status)
	}
	maddr := waitFor(t, stderr, regexp.MustCompile(`msg="metrics listener" addr=(\S+)`))[1]
	// The pruner ran at start-up: one line with the count per table.
	waitFor(t, stderr, regexp.MustCompile(`msg=pruned .*sessions=0 .*total=0`))
	_, mb := testkit.Get(t, "http://"+maddr+"/metrics")
	for _, want := range []string{
		`spaceauth_http_request_duration_seconds_bucket{method="POST",route="POST /api/sys/users/token",status="200"`,
		`spaceauth_security_events_total{type="signin.success"} 1`,
		"spaceauth_hash_queue 0", "spaceauth_outbox_pending ", "spaceauth_mail_failures_total 0",
		`spaceauth_pruned_rows_total{table="sessions"} 0`, `spaceauth_pruned_rows_total{table="audit_events"} 0`,
		`go_sql_open_connections{db_name="writer"}`, `go_sql_in_use_connections{db_name="reader"}`,
	} {
		if !strings.Contains(mb, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(stderr.String(), "request_id=") {
		t.Errorf("log lines of a request carry no request id:\n%s", stderr.String())
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no clean stop logged:\n%s", stderr.String())
	}
}

// TestGracefulShutdown: a request in flight when the stop signal arrives
// still gets its answer.
func TestGracefulShutdown(t *testing.T) {
	r := startRun(t, nil, "demo", "--db", filepath.Join(t.TempDir(), "spaceauth.db"), "--listen", "127.0.0.1:0")
	port := waitFor(t, &r.stdout, regexp.MustCompile(`http://demo\.localhost:(\d+)/`))[1]

	// A slow body keeps the request in flight while we cancel.
	pr, pw := io.Pipe()
	result := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://127.0.0.1:"+port+"/api/sys/users/token", pr)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	io.WriteString(pw, "email=nobody%40example.com&")
	time.Sleep(200 * time.Millisecond)
	r.cancel()
	// The shutdown has begun (and waits for the request) before the body ends.
	waitFor(t, &r.stderr, regexp.MustCompile(`msg="shutting down"`))
	io.WriteString(pw, "password=whatever")
	pw.Close()
	if code := <-result; code != http.StatusOK {
		t.Fatalf("in-flight request got %d, want 200 (a refused sign-in)", code)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, r.stderr.String())
	}
}
