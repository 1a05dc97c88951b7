package storetest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// outcomeTB records how a helper ended a test instead of ending this one.
type outcomeTB struct {
	testing.TB
	mu      sync.Mutex
	outcome string
	msg     string
}

func (o *outcomeTB) end(kind, format string, args ...any) {
	o.mu.Lock()
	o.outcome, o.msg = kind, fmt.Sprintf(format, args...)
	o.mu.Unlock()
	runtime.Goexit()
}

func (o *outcomeTB) Helper()                           {}
func (o *outcomeTB) Fatalf(format string, args ...any) { o.end("fatal", format, args...) }
func (o *outcomeTB) Skipf(format string, args ...any)  { o.end("skip", format, args...) }

// run calls postgresDSN on its own goroutine (the recorder's Fatalf/Skipf
// end that goroutine, as the testing package does) and reports the outcome.
func (o *outcomeTB) run(env map[string]string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		postgresDSN(o, func(k string) string { return env[k] })
		o.mu.Lock()
		o.outcome = "ran"
		o.mu.Unlock()
	}()
	<-done
}

// TestPostgresDSNTellsTheTruth: a configured but unreachable server, or CI
// without a server configured, fails the run; only a developer's run
// without the variable skips.
func TestPostgresDSNTellsTheTruth(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset", map[string]string{}, "skip"},
		{"unset under CI", map[string]string{CIEnv: "1"}, "fatal"},
		// Port 1 on loopback: nothing listens there, the connection is refused.
		{"unreachable", map[string]string{PostgresEnv: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5"}, "fatal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &outcomeTB{TB: t}
			o.run(tc.env)
			if o.outcome != tc.want {
				t.Fatalf("outcome = %s (%q), want %s", o.outcome, o.msg, tc.want)
			}
		})
	}
}
