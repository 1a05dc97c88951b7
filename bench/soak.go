package main

// The soak scenario (issue 17): mixed traffic at fixed rates for a long
// time against a fresh database, reporting per minute each path's count,
// errors, p50 and p99, the server's RSS and CPU, and the row count of every
// table, then a verdict on the three "flat lines" criteria.
//
// The load is open-loop: every request has a scheduled time on a fixed
// timeline, and its latency is measured from that time, not from when a
// worker got round to sending it. A server that stalls therefore shows the
// stall in the latency of every request that should have gone out
// meanwhile, instead of the load generator quietly slowing down with it
// (coordinated omission).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite"
)

// soakOpts are the soak's flags.
type soakOpts struct {
	dur       time.Duration
	rate      float64
	serveArgs string
	window    time.Duration
	exempt    string
	alone     bool     // -soak was given (non-zero) or -only soak: run nothing else
	env       []string // -server-env, for the soak's server too
	warmup    time.Duration
}

func (s *soakOpts) register(fs *flag.FlagSet) {
	fs.DurationVar(&s.dur, "soak", 3*time.Minute, "soak duration in whole minutes; given alone (e.g. -soak 30m) only the soak runs; 0 skips it; the default run ends with a 3-minute soak")
	fs.Float64Var(&s.rate, "soak-rate", 1, "scale of the soak's request rates (1 = per second 5 sign-ins, 5 password grants, 50 refresh grants, 200 bearer checks, 20 portal links, 5 resets)")
	fs.StringVar(&s.serveArgs, "serve-args", "--session-ttl 5m --reset-ttl 5m --prune-interval 1m --prune-grace 1m --outbox-retention 5m", "extra flags for the soak's `spaceauth serve` (space-separated), e.g. short retentions and --prune-interval")
	fs.DurationVar(&s.window, "soak-window", 10*time.Minute, "time after which every table must have stopped growing: the longest retention that applies to the soak's rows plus the prune interval")
	fs.DurationVar(&s.warmup, "soak-warmup", time.Minute, "traffic at the soak's rates before its first minute, not judged: connection pools, caches and the database's first pages are made then, as in a service that has run for a while (0: none)")
	fs.StringVar(&s.exempt, "soak-exempt", "audit_events,throttle", "tables whose retention is longer than any soak (audit: 400 days; throttle rows: their 1-hour windows), reported but not judged")
}

// parsed finishes the options once fs is parsed.
func (s *soakOpts) parsed(fs *flag.FlagSet, only string) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "soak" && s.dur > 0 {
			s.alone = true
		}
	})
	if only == "soak" {
		s.alone = true
	}
}

// wanted says whether this run includes the soak.
func (s *soakOpts) wanted(only string) bool {
	return s.dur > 0 && (s.alone || only == "")
}

// The soak's paths, in the order of the report.
const (
	pSignIn = iota
	pGrant
	pRefresh
	pBearer
	pImperson
	pPortal
	pReset
	nPaths
)

// soakMix is the traffic at scale 1: names and requests per second. The
// mix keeps a 2-core machine well below saturation: the 10 Argon2id hashes
// a second take about 0.2 of a core. The grant runs as often as the
// sign-in so that a minute's p99 is the third-slowest of 300, not the
// slowest of 60.
func soakMix() [nPaths]struct {
	name string
	rate float64
} {
	return [nPaths]struct {
		name string
		rate float64
	}{
		pSignIn:   {"password sign-in", 5},
		pGrant:    {"password grant, one user+client", 5},
		pRefresh:  {"refresh grant (chains)", 50},
		pBearer:   {"bearer check", 200},
		pImperson: {"impersonation (link)", 20},
		pPortal:   {"portal sign-in by link", 20},
		pReset:    {"reset request", 5},
	}
}

// refreshPerChain is how often one refresh chain rotates per second.
const refreshPerChain = 5

// pathRec collects one path's latencies and errors per minute.
type pathRec struct {
	mu   sync.Mutex
	lats [][]time.Duration
	errs []int
}

func newPathRec(minutes int) *pathRec {
	return &pathRec{lats: make([][]time.Duration, minutes), errs: make([]int, minutes)}
}

func (r *pathRec) add(minute int, d time.Duration, ok bool) {
	if minute < 0 {
		return // the warm-up
	}
	r.mu.Lock()
	r.lats[minute] = append(r.lats[minute], d)
	if !ok {
		r.errs[minute]++
	}
	r.mu.Unlock()
}

// pathMinute is one path's figures for one minute.
type pathMinute struct {
	n, errs  int
	p50, p99 time.Duration
}

func (r *pathRec) minute(m int) pathMinute {
	r.mu.Lock()
	l := slices.Clone(r.lats[m])
	e := r.errs[m]
	r.mu.Unlock()
	slices.Sort(l)
	pm := pathMinute{n: len(l), errs: e}
	if len(l) > 0 {
		pm.p50, pm.p99 = l[len(l)/2], l[len(l)*99/100]
	}
	return pm
}

// soakMinute is the server side of one minute; minute 0 holds the tables
// before the traffic.
type soakMinute struct {
	rssMax float64          // MB, the highest of the once-a-second VmRSS samples
	load   float64          // the machine's 1-minute load average at the minute's end
	cpu    float64          // server CPU seconds per wall second
	tables map[string]int64 // row counts at the minute's end
}

// tokenPool holds recent access tokens from the sign-ins for the bearer
// checks: the pool turns over as sign-ins go on, as a client population
// does.
type tokenPool struct {
	mu   sync.Mutex
	toks []string
	next int
}

func (p *tokenPool) put(t string) {
	p.mu.Lock()
	p.toks[p.next%len(p.toks)] = t
	p.next++
	p.mu.Unlock()
}

func (p *tokenPool) pick(k int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.toks[k%len(p.toks)]
}

// tableCounter counts the rows of every table through its own read-only
// connection, reading the table names from the catalogue each time so that
// tables added by other work are counted too.
type tableCounter struct {
	db   *sql.DB
	list string
}

func openCounter(kind, dsn string) (*tableCounter, error) {
	if kind == "sqlite" {
		db, err := sql.Open("sqlite", "file:"+dsn+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return &tableCounter{db: db, list: `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`}, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("default_transaction_read_only", "on") // pgx passes it as a run-time parameter
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &tableCounter{db: db, list: `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`}, nil
}

func (c *tableCounter) count(ctx context.Context) (map[string]int64, error) {
	rows, err := c.db.QueryContext(ctx, c.list)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(names))
	for _, n := range names {
		var k int64
		if err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM "`+n+`"`).Scan(&k); err != nil {
			return nil, fmt.Errorf("count %s: %w", n, err)
		}
		out[n] = k
	}
	return out, nil
}

// soakResult is one database's soak.
type soakResult struct {
	db      string
	opts    soakOpts
	chains  int
	paths   [nPaths][]pathMinute // [path][minute]
	lag     []pathMinute         // how late requests went out, per minute
	control []pathMinute         // the host control's time per minute (see controlJob)
	minutes []soakMinute         // len = minutes+1, [0] before the traffic
	hwm     float64              // the server's VmHWM at the end, MB
	note    string
}

// runSoak runs the soak on a fresh database of kind.
func runSoak(bin, kind, work, pgAdmin string, users int, so soakOpts) (soakResult, error) {
	res := soakResult{db: kind, opts: so}
	if so.dur < time.Minute || so.dur%time.Minute != 0 {
		return res, errors.New("-soak must be whole minutes (its figures are per minute)")
	}
	if so.rate <= 0 {
		return res, errors.New("-soak-rate must be positive")
	}
	mix := soakMix()
	rate := func(p int) float64 { return mix[p].rate * so.rate }
	chains := max(1, int(math.Round(rate(pRefresh)/refreshPerChain)))
	res.chains = chains
	// Users u0..u{chains-1} hold the refresh chains, u{chains} the repeated
	// password grant; the rest sign in, get links and ask for resets.
	firstFree := chains + 1
	if users < firstFree+10 {
		return res, fmt.Errorf("the soak needs at least %d users (-users)", firstFree+10)
	}
	if per := rate(pReset) * min(so.dur.Hours(), 1) * 3600 / float64(users-firstFree); per > 5 {
		fmt.Fprintf(os.Stderr, "bench: warning: %.1f reset requests per email in an hour exceed the limit of 5 (429s will count as errors): use more -users\n", per)
	}

	dsn := filepath.Join(work, "soak.db")
	cleanup := func() {}
	if kind == "postgres" {
		var err error
		if dsn, cleanup, err = freshDB(kind, work, pgAdmin); err != nil {
			return res, err
		}
	}
	defer cleanup()
	if err := prepareUsers(bin, dsn, users); err != nil {
		return res, err
	}
	srv, err := startServer(bin, dsn, filepath.Join(work, "mail-soak-"+kind), strings.Fields(so.serveArgs), so.env)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	counter, err := openCounter(kind, dsn)
	if err != nil {
		return res, fmt.Errorf("table counter: %w", err)
	}
	defer counter.db.Close()
	res.note = fmt.Sprintf("[%s] soak server ready in %v; idle RSS %.1f MB; server flags: %s.", kind, srv.ready.Round(time.Millisecond), rss(srv.pid, "VmRSS"), so.serveArgs)
	fmt.Println(res.note)

	addr := "127.0.0.1:" + srv.port
	setup := newRawConn(addr)
	signIn := func(rc *rawConn, email string, validity int) (string, bool) {
		form := url.Values{"email": {email}, "password": {benchPW}}
		if validity > 0 {
			form.Set("validityInMinutes", fmt.Sprint(validity))
		}
		st, body, err := rc.do(request("POST", "localhost", "/api/sys/users/token", formHeaders, form.Encode()))
		if err != nil || st != http.StatusOK {
			return "", false
		}
		var env struct {
			Status int
			Value  string
		}
		if json.Unmarshal(body, &env) != nil || env.Status != http.StatusOK || env.Value == "" {
			return "", false
		}
		return env.Value, true
	}
	// refreshOf reads the refresh token of a successful /api/token answer.
	refreshOf := func(st int, body []byte, err error) (string, bool) {
		if err != nil || st != http.StatusOK {
			return "", false
		}
		var g struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &g) != nil || g.RefreshToken == "" {
			return "", false
		}
		return g.RefreshToken, true
	}
	passwordGrant := func(rc *rawConn, email, client string) (string, bool) {
		form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {benchPW}}
		if client != "" {
			form.Set("client_id", client)
		}
		return refreshOf(rc.do(request("POST", "localhost", "/api/token", formHeaders, form.Encode())))
	}
	admin, ok := signIn(setup, "admin@bench.test", int(so.dur.Minutes())+30)
	if !ok {
		return res, errors.New("admin sign-in failed")
	}
	// The bearer tokens' sign-ins go several at once, so that every hashing
	// slot hashes at least once and holds its kept buffer from the start, as
	// in any server that has had concurrent sign-ins (the buffers are made on
	// a slot's first hash; otherwise the first overlap of two hashes, at a
	// random minute, adds 19 MiB to the RSS line).
	pool := &tokenPool{toks: make([]string, 64)}
	var prep sync.WaitGroup
	prepErr := make(chan error, 8)
	for w := range 8 {
		prep.Add(1)
		go func() {
			defer prep.Done()
			rc := newRawConn("127.0.0.1:" + srv.port)
			defer rc.close()
			for i := w; i < len(pool.toks); i += 8 {
				t, ok := signIn(rc, fmt.Sprintf("u%d@bench.test", firstFree+i), 0)
				if !ok {
					prepErr <- errors.New("preparing bearer tokens: sign-in failed")
					return
				}
				pool.put(t)
			}
		}()
	}
	prep.Wait()
	close(prepErr)
	if err := <-prepErr; err != nil {
		return res, err
	}
	chainTok := make([]string, chains)
	for c := range chains {
		if chainTok[c], ok = passwordGrant(setup, fmt.Sprintf("u%d@bench.test", c), ""); !ok {
			return res, errors.New("starting a refresh chain: password grant failed")
		}
	}
	setup.close()

	free := users - firstFree
	ops := [nPaths]func(rc *rawConn, k int) bool{
		pSignIn: func(rc *rawConn, k int) bool {
			t, ok := signIn(rc, fmt.Sprintf("u%d@bench.test", firstFree+(k*7919)%free), 0)
			if ok {
				pool.put(t)
			}
			return ok
		},
		pGrant: func(rc *rawConn, k int) bool {
			_, ok := passwordGrant(rc, fmt.Sprintf("u%d@bench.test", chains), "soak-app")
			return ok
		},
		pBearer: func(rc *rawConn, k int) bool {
			st, _, err := rc.do(request("GET", "demo.localhost", "/en/user/me", map[string]string{"Authorization": "Bearer " + pool.pick(k)}, ""))
			return err == nil && st == http.StatusOK
		},
		pReset: func(rc *rawConn, k int) bool {
			// Consecutive emails spread the per-email limit; every request
			// has its own client address (see the README on the proxy).
			st, _, err := rc.do(request("GET", "demo.localhost", fmt.Sprintf("/en/user/resetPassword?email=u%d@bench.test", firstFree+k%free),
				map[string]string{"X-Forwarded-For": fmt.Sprintf("198.18.%d.%d", (k/250)%250, k%250+1)}, ""))
			return err == nil && st == http.StatusOK
		},
	}

	minutes := int(so.dur / time.Minute)
	// recs[nPaths] holds how late each request went out after its scheduled
	// time: a load generator starved of CPU, or all of a path's connections
	// (a chain's one) still waiting on the server. It is part of every
	// latency, and tells a busy machine from a slow server.
	recs := make([]*pathRec, nPaths+2)
	for p := range recs {
		recs[p] = newPathRec(minutes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res.minutes = make([]soakMinute, minutes+1)
	fmt.Printf("[%s] soak: %v, %d minutes, rates ×%g: per second %.3g sign-ins, %.3g password grants, %.3g refresh grants on %d chains, %.3g bearer checks, %.3g portal links, %.3g resets\n",
		kind, so.dur, minutes, so.rate, rate(pSignIn), rate(pGrant), rate(pRefresh), chains, rate(pBearer), rate(pPortal), rate(pReset))

	// The traffic begins at begin; the judged minutes at start, after the
	// warm-up (requests scheduled before it are not recorded).
	begin := time.Now().Add(100 * time.Millisecond)
	start := begin.Add(so.warmup)
	end := start.Add(so.dur)
	if so.warmup > 0 {
		fmt.Printf("[%s] soak: warming up for %v at the same rates (not judged)\n", kind, so.warmup)
	}
	minuteOf := func(at time.Time) int {
		if at.Before(start) {
			return -1
		}
		return min(int(at.Sub(start)/time.Minute), minutes-1)
	}
	var wg sync.WaitGroup

	// serve runs path p's schedule: one scheduler feeding a few workers
	// with their own connections. The channel holds stamped jobs, so a
	// backlog is measured, not hidden; a job's lateness is recorded before
	// work does it.
	type job struct {
		k  int
		at time.Time
	}
	// Each path's timeline starts at its own phase of the sign-in period T
	// (200 ms at rate ×1), so that no two paths fire at the same instant:
	// sign-ins at 0, resets at 0.3 T, password grants at 0.5 T, portal links
	// at 0.125 T + k T/4, bearer checks at T/80 + k T/40, refresh chains at
	// T/20 + c T/10. With every path starting at 0, a sign-in, a reset, an
	// impersonation, bearer checks and (each second) a grant all went out
	// together, and a minute's p99 measured how those bursts happened to
	// collide with the server's other work rather than the server.
	period := time.Duration(float64(time.Second) / rate(pSignIn))
	phase := map[int]time.Duration{pSignIn: 0, pReset: period * 3 / 10, pGrant: period / 2, pPortal: period / 8, pBearer: period / 80}
	serve := func(p int, work func(rc *rawConn, j job)) {
		jobs := make(chan job, 1024)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(jobs)
			schedule(ctx, begin, end, phase[p], rate(p), func(k int, at time.Time) { jobs <- job{k, at} })
		}()
		for range 2 + int(math.Ceil(rate(p)/10)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rc := newRawConn(addr)
				defer rc.close()
				for j := range jobs {
					recs[nPaths].add(minuteOf(j.at), time.Since(j.at), true)
					work(rc, j)
				}
			}()
		}
	}
	// The independent paths.
	for _, p := range []int{pSignIn, pGrant, pBearer, pReset} {
		serve(p, func(rc *rawConn, j job) {
			ok := ops[p](rc, j.k)
			recs[p].add(minuteOf(j.at), time.Since(j.at), ok)
		})
	}
	// Portal links: an administrator impersonates a user (a 5-minute token,
	// as a link sent out is used at once), and the link is opened. The link's
	// latency counts from the moment its token arrived.
	auth := map[string]string{"Authorization": "Bearer " + admin}
	serve(pPortal, func(rc *rawConn, j job) {
		m := minuteOf(j.at)
		id := 2 + firstFree + (j.k*104729)%free
		st, body, err := rc.do(request("POST", "localhost", fmt.Sprintf("/api/sys/users/%d/token/refresh?validityInMinutes=5", id), auth, ""))
		var env struct {
			Status int
			Value  string
		}
		ok := err == nil && st == http.StatusOK && json.Unmarshal(body, &env) == nil && env.Status == http.StatusOK && env.Value != ""
		recs[pImperson].add(m, time.Since(j.at), ok)
		if !ok {
			return // no link to open: counted as the impersonation's error
		}
		t0 := time.Now()
		st, _, err = rc.do(request("GET", "demo.localhost", "/en/user/login?t="+url.QueryEscape(env.Value), nil, ""))
		recs[pPortal].add(m, time.Since(t0), err == nil && st == http.StatusFound)
	})
	// Refresh chains: each rotates its own token on its own timeline, one
	// request after the other (the next needs the token the last returned).
	// A chain that breaks starts a new family with a password grant.
	for c := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := newRawConn(addr)
			defer rc.close()
			email := fmt.Sprintf("u%d@bench.test", c)
			offset := period/20 + time.Duration(float64(c)/rate(pRefresh)*float64(time.Second))
			schedule(ctx, begin, end, offset, rate(pRefresh)/float64(chains), func(k int, at time.Time) {
				recs[nPaths].add(minuteOf(at), time.Since(at), true)
				tok, ok := refreshOf(rc.do(request("POST", "localhost", "/api/token", formHeaders,
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {chainTok[c]}}.Encode())))
				recs[pRefresh].add(minuteOf(at), time.Since(at), ok)
				if !ok {
					tok, _ = passwordGrant(rc, email, "")
				}
				chainTok[c] = tok
			})
		}()
	}

	// The host control: a fixed job in this process, never sent to the
	// server, at its own phase. Its time tells the machine's own speed and
	// stalls in each minute from the server's: on a shared VM the same
	// CPU-bound work takes a different time from one minute to the next.
	wg.Add(1)
	go func() {
		defer wg.Done()
		job := newControlJob()
		schedule(ctx, begin, end, period*7/10, controlRate, func(k int, at time.Time) {
			t0 := time.Now()
			job.run()
			recs[nPaths+1].add(minuteOf(at), time.Since(t0), true)
		})
	}()

	// The sampler: VmRSS every second, CPU and table sizes at each minute's
	// end, and a progress line a few seconds later (requests scheduled in a
	// minute may finish after it; the final table is exact).
	sampled := make(chan error, 1)
	go func() {
		sampled <- res.sample(ctx, srv.pid, counter, recs, start, minutes)
	}()
	wg.Wait()
	if err := <-sampled; err != nil {
		return res, err
	}
	res.hwm = rss(srv.pid, "VmHWM")
	res.lag, res.control = make([]pathMinute, minutes), make([]pathMinute, minutes)
	for m := range minutes {
		res.lag[m], res.control[m] = recs[nPaths].minute(m), recs[nPaths+1].minute(m)
	}
	for p := range nPaths {
		res.paths[p] = make([]pathMinute, minutes)
		for m := range minutes {
			res.paths[p][m] = recs[p].minute(m)
		}
	}
	return res, nil
}

// sample fills res.minutes[1:] while the traffic runs.
func (res *soakResult) sample(ctx context.Context, pid int, counter *tableCounter, recs []*pathRec, start time.Time, minutes int) error {
	mix := soakMix()
	// Minute 0 is the state when the judged minutes begin: after the
	// warm-up, if any.
	if err := sleepUntil(ctx, start); err != nil {
		return err
	}
	tables, err := counter.count(ctx)
	if err != nil {
		return fmt.Errorf("minute 0: %w", err)
	}
	res.minutes[0].tables = tables
	cpu0 := cpuSeconds(pid)
	var printed sync.WaitGroup
	defer printed.Wait()
	for m := 1; m <= minutes; m++ {
		mEnd := start.Add(time.Duration(m) * time.Minute)
		for t := time.Now(); t.Before(mEnd); t = time.Now() {
			res.minutes[m].rssMax = max(res.minutes[m].rssMax, rss(pid, "VmRSS"))
			next := t.Add(time.Second)
			if next.After(mEnd) {
				next = mEnd
			}
			if err := sleepUntil(ctx, next); err != nil {
				return err
			}
		}
		cpu1 := cpuSeconds(pid)
		res.minutes[m].cpu = (cpu1 - cpu0) / time.Minute.Seconds()
		cpu0 = cpu1
		tables, err := counter.count(ctx)
		if err != nil {
			return fmt.Errorf("minute %d: %w", m, err)
		}
		res.minutes[m].tables = tables
		res.minutes[m].load = loadAvg()
		printed.Add(1)
		go func() {
			defer printed.Done()
			if sleepUntil(ctx, mEnd.Add(3*time.Second)) != nil {
				return
			}
			var b strings.Builder
			fmt.Fprintf(&b, "[%s] soak minute %d/%d: RSS max %.1f MB, CPU %.2f, load %.1f, send delay p99 %s |", res.db, m, minutes,
				res.minutes[m].rssMax, res.minutes[m].cpu, res.minutes[m].load, ms(recs[nPaths].minute(m-1).p99))
			for p := range nPaths {
				pm := recs[p].minute(m - 1)
				fmt.Fprintf(&b, " %s %d/%d err p99 %s |", mix[p].name, pm.n, pm.errs, ms(pm.p99))
			}
			ctl := recs[nPaths+1].minute(m - 1)
			fmt.Fprintf(&b, " host control p50/p99 %s/%s |", ms(ctl.p50), ms(ctl.p99))
			fmt.Fprintf(&b, " tables: %s", tableLine(tables))
			fmt.Println(b.String())
		}()
	}
	return nil
}

// schedule calls fire(k, at) for the k-th point of the timeline start +
// offset + k/rate up to end, waiting for each point; a fire that returns
// late makes the next ones go out at once, still stamped with their time.
func schedule(ctx context.Context, start, end time.Time, offset time.Duration, rate float64, fire func(k int, at time.Time)) {
	for k := 0; ; k++ {
		at := start.Add(offset + time.Duration(float64(k)/rate*float64(time.Second)))
		if !at.Before(end) || sleepUntil(ctx, at) != nil {
			return
		}
		fire(k, at)
	}
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (c *rawConn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// loadAvg is the machine's 1-minute load average: a soak's latency lines
// mean something only when it stays well below the number of CPUs.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func tableLine(t map[string]int64) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(t)) {
		if t[n] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n, t[n]))
		}
	}
	return strings.Join(parts, ", ")
}

// The acceptance criteria of issue 17, as the soak judges them.
const (
	p99Band  = 0.20 // each later minute's p99 within ±20% of the first minute's
	rssBound = 1.20 // the last minute's highest RSS at most 1.2 × the first minute's
	rowSlack = 1.10 // after the window, a table stays within 1.1 × its highest count before it
)

// render is the soak's Markdown: the per-minute paths and server figures,
// the table sizes, and the verdict.
func (res soakResult) render() string {
	mix := soakMix()
	var b strings.Builder
	o := res.opts
	fmt.Fprintf(&b, "\n### Soak [%s]: %v at rate ×%g\n\nPer second: %.3g password sign-ins, %.3g password grants (one user and client), %.3g refresh grants on %d chains, %.3g bearer checks, %.3g impersonations each opened as a portal link, %.3g reset requests. Open-loop: latency counts from each request's scheduled time; send delay is how late requests went out (the load generator's own delay or all of a path's connections busy; part of every latency). Host control: a fixed 1 MiB Argon2id hash the load generator runs 10 times a second and never sends (its own time, not a latency: the machine's speed in that minute). Server flags added: `%s`. Warm-up before minute 1, at the same rates and not judged: %v. Cells: requests/errors · p50/p99.\n\n",
		res.db, o.dur, o.rate, mix[pSignIn].rate*o.rate, mix[pGrant].rate*o.rate, mix[pRefresh].rate*o.rate, res.chains, mix[pBearer].rate*o.rate, mix[pPortal].rate*o.rate, mix[pReset].rate*o.rate, o.serveArgs, o.warmup)
	b.WriteString("| minute |")
	for p := range nPaths {
		b.WriteString(" " + mix[p].name + " |")
	}
	b.WriteString(" send delay p99 | host control p50/p99 | load avg | server RSS max | server CPU (cores) |\n|" + strings.Repeat(" --- |", nPaths+6) + "\n")
	for m := 1; m < len(res.minutes); m++ {
		fmt.Fprintf(&b, "| %d |", m)
		for p := range nPaths {
			pm := res.paths[p][m-1]
			fmt.Fprintf(&b, " %d/%d · %.2f/%.2f ms |", pm.n, pm.errs, float64(pm.p50)/1e6, float64(pm.p99)/1e6)
		}
		ctl := pathMinute{}
		if m-1 < len(res.control) {
			ctl = res.control[m-1]
		}
		fmt.Fprintf(&b, " %s | %.2f/%.2f ms | %.1f | %.1f MB | %.2f |\n", ms(res.lag[m-1].p99), float64(ctl.p50)/1e6, float64(ctl.p99)/1e6, res.minutes[m].load, res.minutes[m].rssMax, res.minutes[m].cpu)
	}

	// Table sizes: a column for each table whose count moved; the others
	// are named once below.
	var moved, still []string
	for _, n := range res.tableNames() {
		first := res.minutes[0].tables[n]
		same := true
		for _, sm := range res.minutes[1:] {
			same = same && sm.tables[n] == first
		}
		if same {
			still = append(still, fmt.Sprintf("%s %d", n, first))
		} else {
			moved = append(moved, n)
		}
	}
	b.WriteString("\nRow counts at each minute's end (0: when the judged minutes begin, after the warm-up if any):\n\n| minute |")
	for _, n := range moved {
		b.WriteString(" " + n + " |")
	}
	b.WriteString("\n|" + strings.Repeat(" --- |", len(moved)+1) + "\n")
	for m, sm := range res.minutes {
		fmt.Fprintf(&b, "| %d |", m)
		for _, n := range moved {
			fmt.Fprintf(&b, " %d |", sm.tables[n])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nUnchanged: %s. Server VmHWM at the end: %.1f MB.\n\n", strings.Join(still, ", "), res.hwm)
	b.WriteString(res.verdict())
	return b.String()
}

func (res soakResult) tableNames() []string {
	seen := map[string]bool{}
	for _, sm := range res.minutes {
		for n := range sm.tables {
			seen[n] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// verdict judges the run by the criteria above, naming what breaks them.
func (res soakResult) verdict() string {
	mix := soakMix()
	minutes := len(res.minutes) - 1
	var b strings.Builder
	fmt.Fprintf(&b, "Verdict [%s]:\n\n", res.db)

	var errs []string
	for p := range nPaths {
		n := 0
		for _, pm := range res.paths[p] {
			n += pm.errs
		}
		if n > 0 {
			errs = append(errs, fmt.Sprintf("%s %d", mix[p].name, n))
		}
	}
	if len(errs) == 0 {
		b.WriteString("- errors: none.\n")
	} else {
		fmt.Fprintf(&b, "- errors: %s.\n", strings.Join(errs, ", "))
	}

	// ctlDev is the host control's p99 in minute m against its first
	// minute's, when the run has one.
	ctlDev := func(m int) (float64, bool) {
		if len(res.control) <= m || res.control[0].p99 <= 0 || res.control[m].n == 0 {
			return 0, false
		}
		return float64(res.control[m].p99)/float64(res.control[0].p99) - 1, true
	}
	var breaks []string
	withHost := 0
	for p := range nPaths {
		base := res.paths[p][0].p99
		for m := 1; m < minutes; m++ {
			pm := res.paths[p][m]
			if base <= 0 || pm.n == 0 {
				continue
			}
			if dev := float64(pm.p99)/float64(base) - 1; math.Abs(dev) > p99Band {
				breaks = append(breaks, fmt.Sprintf("%s minute %d: %s against %s (%+.0f%%)", mix[p].name, m+1, ms(pm.p99), ms(base), 100*dev))
				if c, ok := ctlDev(m); ok && math.Abs(c) > p99Band && (c > 0) == (dev > 0) {
					withHost++
				}
			}
		}
	}
	switch {
	case minutes < 2:
		b.WriteString("- p99 within ±20% of the first minute: not judged (one minute).\n")
	case len(breaks) == 0:
		b.WriteString("- p99 within ±20% of the first minute: PASS on every path.\n")
	default:
		fmt.Fprintf(&b, "- p99 within ±20%% of the first minute: FAIL (%d path-minutes): %s.\n", len(breaks), strings.Join(breaks, "; "))
	}
	if _, ok := ctlDev(0); ok && minutes >= 2 {
		var moved []string
		for m := 1; m < minutes; m++ {
			if c, ok := ctlDev(m); ok && math.Abs(c) > p99Band {
				moved = append(moved, fmt.Sprintf("%d (%+.0f%%)", m+1, 100*c))
			}
		}
		fmt.Fprintf(&b, "- host control (not judged; the machine, not the server): p99 %s in minute 1; outside ±20%% of it in %d of %d later minutes", ms(res.control[0].p99), len(moved), minutes-1)
		if len(moved) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(moved, ", "))
		}
		fmt.Fprintf(&b, ". p99 breaks in a minute where the control moved more than 20%% the same way: %d of %d.\n", withHost, len(breaks))
	}

	first, last := res.minutes[1].rssMax, res.minutes[minutes].rssMax
	verdict := "PASS"
	switch {
	case minutes < 2:
		verdict = "not judged (one minute)"
	case last > rssBound*first:
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "- RSS bounded (the last minute's highest VmRSS ≤ %.1f × the first minute's): %s: %.1f MB against %.1f MB (×%.2f).\n", rssBound, verdict, last, first, last/first)

	exempt := strings.FieldsFunc(res.opts.exempt, func(r rune) bool { return r == ',' || r == ' ' })
	w := int(res.opts.window / time.Minute)
	var grew, fails, exempted []string
	for _, n := range res.tableNames() {
		always := minutes >= 2
		for m := 1; m <= minutes; m++ {
			always = always && res.minutes[m].tables[n] > res.minutes[m-1].tables[n]
		}
		if slices.Contains(exempt, n) {
			exempted = append(exempted, fmt.Sprintf("%s %d → %d", n, res.minutes[0].tables[n], res.minutes[minutes].tables[n]))
			continue
		}
		if always {
			grew = append(grew, n)
		}
		if minutes <= w {
			continue
		}
		var before, after int64
		var at int
		for m := 0; m <= minutes; m++ {
			k := res.minutes[m].tables[n]
			if m <= w {
				before = max(before, k)
			} else if k > after {
				after, at = k, m
			}
		}
		if float64(after) > rowSlack*float64(before) {
			fails = append(fails, fmt.Sprintf("%s %d at minute %d against at most %d up to minute %d", n, after, at, before, w))
		}
	}
	crit := fmt.Sprintf("- table sizes bounded (after minute %d, -soak-window, no table above %.1f × its highest count up to then)", w, rowSlack)
	switch {
	case minutes <= w:
		fmt.Fprintf(&b, "%s: not judged: the run (%d min) is not longer than the window.", crit, minutes)
	case len(fails) == 0:
		fmt.Fprintf(&b, "%s: PASS.", crit)
	default:
		fmt.Fprintf(&b, "%s: FAIL: %s.", crit, strings.Join(fails, "; "))
	}
	if len(grew) > 0 {
		fmt.Fprintf(&b, " Grew in every minute: %s.", strings.Join(grew, ", "))
	}
	if len(exempted) > 0 {
		fmt.Fprintf(&b, " Not judged (-soak-exempt): %s.", strings.Join(exempted, ", "))
	}
	b.WriteString("\n")
	return b.String()
}

// runSoaks runs the soak on each database and prints (and with -append
// records) the result.
func runSoaks(bin, work, pg string, dbs []string, users int, so soakOpts, appendTo string) error {
	var out strings.Builder
	for _, kind := range dbs {
		res, err := runSoak(bin, kind, work, pg, users, so)
		if err != nil {
			return fmt.Errorf("soak %s: %w", kind, err)
		}
		out.WriteString(res.render())
	}
	fmt.Print(out.String())
	if appendTo == "" {
		return nil
	}
	host, _ := os.Hostname()
	cmd := strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " ")
	if pg != "" {
		cmd += " (with SPACEAUTH_TEST_POSTGRES set)"
	}
	head := fmt.Sprintf("\n## %s — soak run\n\nCommand: `%s`; %d users; machine: %d CPUs, %s, %s (%s).\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), cmd, users, runtime.NumCPU(), runtime.GOOS, runtime.Version(), host)
	f, err := os.OpenFile(appendTo, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(head + out.String())
	return err
}
