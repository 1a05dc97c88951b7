package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spaceauth/spaceauth/internal/password"
)

// passwordScenarios runs the two password paths, each next to the raw
// Argon2id ceiling measured just before it (with the server idle, so that
// both figures see the machine in the same state): "password sign-in"
// (POST /api/sys/users/token, SPEC §3.1) and "password grant" (POST
// /api/token grant_type=password with a client_id, SPEC §5.1), which also
// writes a refresh-token family.
func (b *bencher) passwordScenarios(out []result) []result {
	scenarios := []struct {
		name string
		path string
		form func(email string) url.Values
		ok   func(status int, body []byte) bool
	}{
		{"password sign-in", "/api/sys/users/token",
			func(email string) url.Values { return url.Values{"email": {email}, "password": {benchPW}} },
			func(st int, _ []byte) bool { return st == http.StatusOK }},
		{"password grant", "/api/token",
			func(email string) url.Values {
				return url.Values{"grant_type": {"password"}, "username": {email}, "password": {benchPW}, "client_id": {"bench-app"}}
			},
			func(st int, body []byte) bool {
				return st == http.StatusOK && strings.Contains(string(body), `"refresh_token":"`)
			}},
	}
	for _, sc := range scenarios {
		if b.only != "" && !strings.Contains(sc.name, b.only) {
			continue
		}
		before := b.ceiling("before")
		out = b.run(out, sc.name, func(rc *rawConn, w, i int) bool {
			body := sc.form(fmt.Sprintf("u%d@bench.test", rand.IntN(b.users))).Encode()
			st, resp, err := rc.do(request("POST", "localhost", sc.path, formHeaders, body))
			return err == nil && sc.ok(st, resp)
		})
		// The machine's speed drifts by tens of percent within minutes
		// (BENCHMARKS.md): the ceiling is measured on both sides of the
		// scenario, and the ratio is taken to their mean.
		after := b.ceiling("after")
		r := &out[len(out)-1]
		r.ceiling, r.ceilingBefore, r.ceilingAfter = (before+after)/2, before, after
	}
	return out
}

// ceiling measures the raw Argon2id ceiling with the server idle and
// prints it with its CPU per hash, which is steadier than hashes/s on a
// shared machine: set against the server's CPU per request it tells the
// overhead.
func (b *bencher) ceiling(when string) float64 {
	cpu0 := selfCPU()
	c := argonCeiling(password.DefaultParams(), 3*time.Second)
	fmt.Printf("[%s] raw Argon2id ceiling on %d CPUs (%s): %.1f hashes/s (%.2f ms CPU per hash)\n", b.db, runtime.NumCPU(), when, c,
		1000*(selfCPU()-cpu0)/(c*3))
	return c
}

// selfCPU is the harness's own CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakWatch measures one scenario's peak RSS and its page faults. VmHWM is
// the process's lifetime peak, so it is reset at the start (writing 5 to
// /proc/PID/clear_refs, Linux ≥ 4.0, the server's owner or root); where
// that is refused, VmRSS is sampled every 10 ms instead (a sample can miss
// a short spike, so the note says which was used).
type peakWatch struct {
	pid     int
	reset   bool
	faults0 int64
	stop    chan struct{}
	done    sync.WaitGroup
	sampled float64
}

func startPeak(pid int) *peakWatch {
	p := &peakWatch{pid: pid, faults0: minorFaults(pid), stop: make(chan struct{})}
	p.reset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	if !p.reset {
		p.done.Go(func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				p.sampled = max(p.sampled, rss(pid, "VmRSS"))
				select {
				case <-p.stop:
					return
				case <-t.C:
				}
			}
		})
	}
	return p
}

// end returns the peak RSS in MB since startPeak and the minor page faults
// taken meanwhile.
func (p *peakWatch) end() (peakMB float64, faults int64) {
	close(p.stop)
	p.done.Wait()
	faults = minorFaults(p.pid) - p.faults0
	if p.reset {
		return rss(p.pid, "VmHWM"), faults
	}
	return max(p.sampled, rss(p.pid, "VmRSS")), faults
}

// minorFaults reads the process's minor page faults (/proc/PID/stat field
// 10): memory the kernel mapped in on first touch, such as heap pages the
// Go scavenger gave back and an Argon2id buffer touches again.
func minorFaults(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var n int64
	fmt.Sscan(f[7], &n) // field 10 overall; f starts at field 3
	return n
}
