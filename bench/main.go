// Command bench measures spaceauth: it builds the real binary, starts it on
// a fresh database (SQLite, and PostgreSQL when -postgres is given),
// prepares users and tokens, and drives each scenario with a fixed number
// of keep-alive connections for a fixed time. It prints a table (and, with
// -append, adds it to BENCHMARKS.md with the machine and the command).
// The server runs with its default security parameters; the harness prints
// them. Traffic goes to 127.0.0.1 only and every run stops by itself.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/third_party/argon2"
)

const benchPW = "bench passphrase 42"

type result struct {
	db, scenario                string
	n, errs                     int64
	dur                         time.Duration
	p50, p99                    time.Duration
	cpu                         float64 // server CPU seconds per wall second
	clientCPU                   float64 // the load generator's (this process's) CPU seconds per wall second
	rssMB                       float64 // peak RSS during the scenario
	faults                      int64   // minor page faults during the scenario
	ceiling                     float64 // password paths: the mean of the raw Argon2id ceilings measured just before and just after
	ceilingBefore, ceilingAfter float64
}

func main() {
	dur := flag.Duration("duration", 8*time.Second, "time per scenario")
	conns := flag.Int("conns", 32, "concurrent connections")
	users := flag.Int("users", 20000, "users to prepare (the reset scenario needs more than its requests / 5: a mail gets 5 resets an hour)")
	pg := flag.String("postgres", os.Getenv("SPACEAUTH_TEST_POSTGRES"), "admin URL of a PostgreSQL server (also run there)")
	appendTo := flag.String("append", "", "append the results to this Markdown file (e.g. BENCHMARKS.md)")
	o := opts{}
	flag.StringVar(&o.only, "only", "", "run only the scenarios whose name contains this")
	flag.StringVar(&o.dbs, "db", "all", "sqlite, postgres or all (postgres needs -postgres)")
	flag.StringVar(&o.profile, "profile", "", "save CPU and allocation profiles of each scenario into this directory")
	o.soak.register(flag.CommandLine)
	flag.Func("server-env", "KEY=VALUE added to the server's environment only (repeatable), e.g. GOGC=50 or SPACEAUTH_MEMORY_LIMIT=off", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want KEY=VALUE")
		}
		o.serverEnv = append(o.serverEnv, s)
		return nil
	})
	flag.Parse()
	o.soak.parsed(flag.CommandLine, o.only)
	o.dur, o.conns, o.users = *dur, *conns, *users
	if err := run(o, *pg, *appendTo); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// opts are the harness's settings.
type opts struct {
	dur          time.Duration
	conns, users int
	only, dbs    string
	profile      string
	soak         soakOpts // soak.go
	serverEnv    []string
}

func run(o opts, pg, appendTo string) error {
	dur, conns, users := o.dur, o.conns, o.users
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "spaceauth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "spaceauth")
	build := exec.Command("go", "build", "-o", bin, "./cmd/spaceauth")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	p := password.DefaultParams()
	params := fmt.Sprintf("Security parameters: Argon2id m=%d KiB t=%d p=%d (password.DefaultParams, the binary's own); EdDSA tokens; default throttling.", p.Memory, p.Time, p.Threads)
	fmt.Println(params)
	notes := []string{params}

	var all []result
	var dbs []string
	if o.dbs != "postgres" {
		dbs = append(dbs, "sqlite")
	}
	if pg != "" && o.dbs != "sqlite" {
		dbs = append(dbs, "postgres")
	}
	o.soak.env = o.serverEnv
	if o.soak.alone {
		return runSoaks(bin, work, pg, dbs, users, o.soak, appendTo)
	}
	for _, kind := range dbs {
		dsn, cleanup, err := freshDB(kind, work, pg)
		if err != nil {
			return err
		}
		rs, note, err := benchOne(bin, kind, dsn, work, o)
		notes = append(notes, note)
		cleanup()
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		all = append(all, rs...)
	}
	table := render(all) + "\n" + strings.Join(notes, " ") + "\n"
	fmt.Print(table)
	if appendTo != "" {
		if err := appendResults(appendTo, table, dur, conns, users, pg != ""); err != nil {
			return err
		}
	}
	if o.soak.wanted(o.only) {
		return runSoaks(bin, work, pg, dbs, users, o.soak, appendTo)
	}
	return nil
}

// argonCeiling hashes with p on every CPU for d and returns hashes/s. Each
// goroutine reuses one buffer, as the server's hashing slots do: x/crypto's
// IDKey allocates one per hash and costs about 10% more CPU in the
// collector, a ceiling the server would beat.
func argonCeiling(p password.Params, d time.Duration) float64 {
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			salt := make([]byte, p.SaltLen)
			buf := argon2.NewBuffer(p.Memory, p.Threads)
			for time.Now().Before(stop) {
				argon2.IDKeyInto(buf, []byte(benchPW), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

func freshDB(kind, work, pgAdmin string) (string, func(), error) {
	if kind == "sqlite" {
		return filepath.Join(work, "bench.db"), func() {}, nil
	}
	admin, err := sql.Open("pgx", pgAdmin)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("spaceauth_bench_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, _ := url.Parse(pgAdmin)
	u.Path = "/" + name
	return u.String(), func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	}, nil
}

func cli(bin, stdin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("spaceauth %s: %v: %s", args[0], err, out)
	}
	return nil
}

// benchOne prepares kind's database and runs every scenario against it.
func benchOne(bin, kind, dsn, work string, o opts) ([]result, string, error) {
	dur, conns, users := o.dur, o.conns, o.users
	if err := prepareUsers(bin, dsn, users); err != nil {
		return nil, "", err
	}
	var extra []string
	debug := ""
	if o.profile != "" {
		dl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		debug = dl.Addr().String()
		dl.Close()
		extra = []string{"--debug-listen", debug}
	}
	srv, err := startServer(bin, dsn, filepath.Join(work, "mail-"+kind), extra, o.serverEnv)
	if err != nil {
		return nil, "", err
	}
	defer srv.stop()
	port := srv.port
	c := newClient(port, conns)
	note := fmt.Sprintf("[%s] ready in %v; idle RSS %.1f MB.", kind, srv.ready.Round(time.Millisecond), rss(srv.pid, "VmRSS"))
	fmt.Println(note)
	b := &bencher{c: c, addr: "127.0.0.1:" + port, pid: srv.pid, db: kind, dur: dur, conns: conns, users: users,
		only: o.only, profile: o.profile, debug: debug}
	adminTok, ok := b.token("admin@bench.test")
	if !ok {
		return nil, "", errors.New("admin sign-in failed")
	}
	var out []result
	out = b.passwordScenarios(out)
	if o.only == "" || strings.Contains("starvation", o.only) {
		out = append(out, b.starvation())
	}
	// Portal tokens are made beforehand by impersonation (no hashing).
	tokens := b.prepareTokens(adminTok, int(dur.Seconds()*8000))
	var next atomic.Int64
	out = b.run(out, "portal sign-in by token", func(rc *rawConn, w, i int) bool {
		k := int(next.Add(1)) - 1
		if k >= len(tokens) {
			return false
		}
		st, _, err := rc.do(request("GET", "demo.localhost", "/en/user/login?t="+url.QueryEscape(tokens[k]), nil, ""))
		return err == nil && st == http.StatusFound
	})
	me := request("GET", "demo.localhost", "/en/user/me", map[string]string{"Authorization": "Bearer " + adminTok}, "")
	out = b.run(out, "bearer check (/en/user/me)", func(rc *rawConn, w, i int) bool {
		st, _, err := rc.do(me)
		return err == nil && st == http.StatusOK
	})
	// Passkey sign-in verifies one signature: no Argon2id, so it must not
	// queue behind the password hashing pool.
	if o.only == "" || strings.Contains("passkey sign-in", o.only) {
		origin := "http://demo.localhost:" + port
		creds, err := b.preparePasskeys(conns, origin)
		if err != nil {
			return nil, "", fmt.Errorf("passkeys: %w", err)
		}
		clients := make([]*passkeyClient, len(creds))
		for w, c := range creds {
			clients[w] = newPasskeyClient(c, origin, "demo.localhost")
		}
		var refused atomic.Int64
		out = b.run(out, "passkey sign-in", func(rc *rawConn, w, i int) bool {
			return clients[w].signIn(rc, &refused)
		})
	}
	refresh := make([]string, conns)
	for w := range conns {
		refresh[w] = b.passwordGrant(fmt.Sprintf("u%d@bench.test", w))
	}
	out = b.run(out, "refresh grant", func(rc *rawConn, w, i int) bool {
		st, body, err := rc.do(request("POST", "localhost", "/api/token", formHeaders,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh[w]}}.Encode()))
		if err != nil || st != http.StatusOK {
			return false
		}
		var g struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &g) != nil || g.RefreshToken == "" {
			return false
		}
		refresh[w] = g.RefreshToken
		return true
	})
	// Last: its mail is delivered in the background, and the worker's
	// file writes would otherwise be measured in the scenarios after it.
	var resetN atomic.Int64
	out = b.run(out, "reset request", func(rc *rawConn, w, i int) bool {
		k := resetN.Add(1)
		st, _, err := rc.do(request("GET", "demo.localhost", fmt.Sprintf("/en/user/resetPassword?email=u%d@bench.test", k%int64(users)),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("198.18.%d.%d", (k/250)%250, k%250+1)}, ""))
		return err == nil && st == http.StatusOK
	})
	return out, note, nil
}

var formHeaders = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// run measures one scenario when the -only filter admits it.
func (b *bencher) run(out []result, name string, op func(rc *rawConn, worker, i int) bool) []result {
	if b.only != "" && !strings.Contains(name, b.only) {
		return out
	}
	return append(out, b.scenario(name, op))
}

type bencher struct {
	c       *http.Client
	addr    string
	pid     int
	only    string
	profile string // directory for pprof profiles, or ""
	debug   string // the server's --debug-listen address
	db      string
	dur     time.Duration
	conns   int
	users   int
}

func newClient(port string, conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, "127.0.0.1:"+port)
			},
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     conns * 2,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (b *bencher) token(email string) (string, bool) {
	body := url.Values{"email": {email}, "password": {benchPW}}.Encode()
	req, _ := http.NewRequest("POST", "http://localhost/api/sys/users/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		return "", false
	}
	var env struct {
		Status int
		Value  string
	}
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	return env.Value, resp.StatusCode == 200 && env.Status == 200
}

func (b *bencher) passwordGrant(email string) string {
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {benchPW}}
	req, _ := http.NewRequest("POST", "http://localhost/api/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		return ""
	}
	var g struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	return g.RefreshToken
}

// prepareTokens makes n portal tokens through impersonation.
func (b *bencher) prepareTokens(admin string, n int) []string {
	out := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range b.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				req, _ := http.NewRequest("POST", fmt.Sprintf("http://localhost/api/sys/users/%d/token/refresh", 2+k%b.users), nil)
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := b.c.Do(req)
				if err != nil {
					continue
				}
				var env struct{ Value string }
				json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
				out[k] = env.Value
			}
		}()
	}
	wg.Wait()
	return out
}

// scenario runs op on conns workers (one connection each) for the
// duration, collecting CPU and allocation profiles meanwhile with -profile.
func (b *bencher) scenario(name string, op func(rc *rawConn, worker, i int) bool) result {
	var profWG sync.WaitGroup
	if b.profile != "" {
		secs := int(b.dur.Seconds())
		base := filepath.Join(b.profile, b.db+"-"+strings.Fields(name)[0]+"-"+strings.Fields(name)[1])
		// The load generator's own CPU profile beside the server's: both
		// share the cores, so the client's cost is the server's loss.
		if f, err := os.Create(base + ".client.cpu.pprof"); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			f.Close()
		} else {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		for _, p := range []struct{ kind, file string }{{"profile", base + ".cpu.pprof"}, {"allocs", base + ".allocs.pprof"}} {
			profWG.Add(1)
			go func() {
				defer profWG.Done()
				if err := fetch(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", b.debug, p.kind, secs), p.file); err != nil {
					fmt.Fprintln(os.Stderr, "profile:", err)
				}
			}()
		}
	}
	cpu0 := cpuSeconds(b.pid)
	self0 := selfCPUSeconds()
	peak := startPeak(b.pid)
	start := time.Now()
	stop := start.Add(b.dur)
	lats := make([][]time.Duration, b.conns)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for w := range b.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := newRawConn(b.addr)
			for i := 0; time.Now().Before(stop); i++ {
				t0 := time.Now()
				if !op(rc, w, i) {
					errs.Add(1)
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
			if rc.c != nil {
				rc.c.Close()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := result{db: b.db, scenario: name, n: int64(len(all)), errs: errs.Load(), dur: wall,
		cpu: (cpuSeconds(b.pid) - cpu0) / wall.Seconds(), clientCPU: (selfCPUSeconds() - self0) / wall.Seconds()}
	r.rssMB, r.faults = peak.end()
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	perReq := func(cores float64) float64 { return 1000 * cores * wall.Seconds() / float64(max(r.n, 1)) }
	fmt.Printf("[%s] %-28s %8.0f req/s  p50 %-9v p99 %-9v errors %d  cpu %.2f (%.3f ms/req)  client cpu %.2f (%.3f ms/req)  peak RSS %.1f MB  faults/req %.0f\n", b.db, name, float64(r.n)/wall.Seconds(),
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs, r.cpu, perReq(r.cpu), r.clientCPU, perReq(r.clientCPU), r.rssMB, float64(r.faults)/float64(max(r.n, 1)))
	profWG.Wait()
	return r
}

// starvation is issue 10.10's attack: 40 workers send wrong passwords for
// random accounts from a rotating pool of 64 addresses (each address soon
// has failures), while one real user signs in with the right password from
// a clean address every 100 ms, after the first third of the run. The result row is the real user's: errors
// are its sign-ins that did not succeed (503 from a full hashing queue);
// the attackers' figures are printed.
func (b *bencher) starvation() result {
	const attackers, addresses = 40, 64
	peak := startPeak(b.pid)
	start := time.Now()
	stop := start.Add(b.dur)
	var wg sync.WaitGroup
	var attempts, refused atomic.Int64
	for a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := newRawConn(b.addr)
			for i := 0; time.Now().Before(stop); i++ {
				hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded",
					"X-Forwarded-For": fmt.Sprintf("198.19.0.%d", 1+(a*7+i)%addresses)}
				st, _, err := rc.do(request("POST", "localhost", "/api/sys/users/token", hdr,
					url.Values{"email": {fmt.Sprintf("u%d@bench.test", 100+rand.IntN(b.users-100))}, "password": {"wrong guess"}}.Encode()))
				attempts.Add(1)
				if err != nil || st != http.StatusOK {
					refused.Add(1)
				}
			}
			if rc.c != nil {
				rc.c.Close()
			}
		}()
	}
	// The attack builds up first: each address has failed once or more by
	// the time the real user starts (the steady state of a long attack).
	time.Sleep(b.dur / 3)
	rc := newRawConn(b.addr)
	var lats []time.Duration
	var fails int64
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.18.255.1"}
	body := url.Values{"email": {"u1@bench.test"}, "password": {benchPW}}.Encode()
	for time.Now().Before(stop) {
		t0 := time.Now()
		st, resp, err := rc.do(request("POST", "localhost", "/api/sys/users/token", hdr, body))
		lats = append(lats, time.Since(t0))
		if err != nil || st != http.StatusOK || !bytes.Contains(resp, []byte(`"Status":200`)) {
			fails++
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rc.c != nil {
		rc.c.Close()
	}
	wg.Wait()
	wall := time.Since(start)
	slices.Sort(lats)
	r := result{db: b.db, scenario: "starvation: real user under 40 attackers", n: int64(len(lats)), errs: fails, dur: wall}
	r.rssMB, r.faults = peak.end()
	if len(lats) > 0 {
		r.p50, r.p99 = lats[len(lats)/2], lats[len(lats)*99/100]
	}
	fmt.Printf("[%s] starvation: real user %d sign-ins, %d failed, p50 %v p99 %v; attackers %d attempts, %d refused (429/503)\n",
		b.db, len(lats), fails, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), attempts.Load(), refused.Load())
	return r
}

// fetch saves the body of a GET to path.
func fetch(u, path string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// selfCPUSeconds is the CPU time (user and system) of this process, the
// load generator, so far.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100 // clock ticks (USER_HZ = 100 on Linux)
}

func rss(pid int, field string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, field+":"), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

func render(rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| database | scenario | req/s | p50 | p99 | errors | server CPU (cores) | server CPU/req | load generator CPU/req | peak RSS | page faults/req | Argon2id ceiling (%d CPUs) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n", runtime.NumCPU())
	for _, r := range rs {
		rate := float64(r.n) / r.dur.Seconds()
		vs := ""
		if r.ceiling > 0 {
			vs = fmt.Sprintf("%.1f/s before, %.1f/s after; req/s = %.0f%% of their mean", r.ceilingBefore, r.ceilingAfter, 100*rate/r.ceiling)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %v | %v | %d | %.2f | %.3f ms | %.3f ms | %.1f MB | %.0f | %s |\n", r.db, r.scenario, rate,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs, r.cpu, 1000*r.cpu/max(rate, 1e-9), 1000*r.clientCPU/max(rate, 1e-9),
			r.rssMB, float64(r.faults)/float64(max(r.n, 1)), vs)
	}
	return b.String()
}

func appendResults(path, table string, dur time.Duration, conns, users int, pg bool) error {
	host, _ := os.Hostname()
	// The command as given (go run passes the flags through unchanged).
	cmd := strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " ")
	if pg {
		cmd += " (with SPACEAUTH_TEST_POSTGRES set)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s — harness run\n\nCommand: `%s`; %d connections, %v per scenario, %d users; machine: %d CPUs, %s, %s (%s).\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), cmd, conns, dur, users, runtime.NumCPU(), runtime.GOOS, runtime.Version(), host)
	b.WriteString(table)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return err
}
