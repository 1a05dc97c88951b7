package main

import (
	"strings"
	"testing"
	"time"
)

// TestSoakVerdict checks that the verdict applies the documented criteria
// and names what breaks them.
func TestSoakVerdict(t *testing.T) {
	// flat is a run of n minutes whose every path has p99 = 10 ms, RSS 100
	// MB and the given row counts (minute 0 first).
	flat := func(n int, rows map[string][]int64) soakResult {
		res := soakResult{db: "sqlite", opts: soakOpts{window: 2 * time.Minute, exempt: "audit_events, throttle"}}
		for p := range nPaths {
			for range n {
				res.paths[p] = append(res.paths[p], pathMinute{n: 100, p50: 5 * time.Millisecond, p99: 10 * time.Millisecond})
			}
		}
		for m := 0; m <= n; m++ {
			sm := soakMinute{rssMax: 100, tables: map[string]int64{}}
			for name, counts := range rows {
				sm.tables[name] = counts[m]
			}
			res.minutes = append(res.minutes, sm)
		}
		return res
	}
	steady := map[string][]int64{"sessions": {0, 100, 200, 150, 200}, "audit_events": {0, 10, 20, 30, 40}}
	tests := []struct {
		name  string
		res   func() soakResult
		want  []string
		avoid []string
	}{
		{"flat", func() soakResult { return flat(4, steady) },
			[]string{"errors: none", "first minute: PASS", "×1.00", "then): PASS", "Not judged (-soak-exempt): audit_events 0 → 40"},
			[]string{"FAIL"}},
		{"p99 slower and faster", func() soakResult {
			r := flat(4, steady)
			r.paths[pBearer][2].p99 = 13 * time.Millisecond
			r.paths[pReset][3].p99 = 7 * time.Millisecond
			r.paths[pSignIn][1].p99 = 11 * time.Millisecond // within the band
			return r
		}, []string{"FAIL (2 path-minutes)", "bearer check minute 3: 13.00 ms against 10.00 ms (+30%)", "reset request minute 4: 7.00 ms against 10.00 ms (-30%)"},
			[]string{"password sign-in minute"}},
		{"RSS grows", func() soakResult {
			r := flat(4, steady)
			r.minutes[4].rssMax = 121
			return r
		}, []string{"first minute's): FAIL: 121.0 MB against 100.0 MB"}, nil},
		{"errors counted", func() soakResult {
			r := flat(4, steady)
			r.paths[pRefresh][1].errs = 3
			return r
		}, []string{"errors: refresh grant (chains) 3."}, nil},
		{"table grows past the window", func() soakResult {
			return flat(4, map[string][]int64{"refresh_tokens": {10, 100, 200, 300, 400}})
		}, []string{"FAIL: refresh_tokens 400 at minute 4 against at most 200 up to minute 2", "Grew in every minute: refresh_tokens"}, nil},
		{"host control beside the breaks", func() soakResult {
			r := flat(4, steady)
			for _, d := range []time.Duration{10, 14, 10, 7} {
				r.control = append(r.control, pathMinute{n: 600, p50: time.Millisecond, p99: d * time.Millisecond})
			}
			r.paths[pBearer][1].p99 = 13 * time.Millisecond // with the control (+40%)
			r.paths[pReset][3].p99 = 13 * time.Millisecond  // against it (-30%)
			return r
		}, []string{"FAIL (2 path-minutes)", "host control (not judged; the machine, not the server): p99 10.00 ms in minute 1; outside ±20% of it in 2 of 3 later minutes: 2 (+40%), 4 (-30%). p99 breaks in a minute where the control moved more than 20% the same way: 1 of 2."}, nil},
		{"no host control", func() soakResult { return flat(4, steady) }, nil, []string{"host control"}},
		{"run within the window", func() soakResult {
			return flat(2, map[string][]int64{"refresh_tokens": {10, 100, 200}})
		}, []string{"not judged: the run (2 min) is not longer than the window", "Grew in every minute: refresh_tokens"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.res().verdict()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("verdict lacks %q:\n%s", w, got)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(got, a) {
					t.Errorf("verdict has %q:\n%s", a, got)
				}
			}
		})
	}
}

// TestSchedule checks the open-loop timeline: points at start + offset +
// k/rate, none at or after the end, stamped with their time even when a
// fire runs late.
func TestSchedule(t *testing.T) {
	start := time.Now()
	end := start.Add(50 * time.Millisecond)
	var ks []int
	var ats []time.Time
	schedule(t.Context(), start, end, 5*time.Millisecond, 100, func(k int, at time.Time) {
		ks = append(ks, k)
		ats = append(ats, at)
		if k == 0 {
			time.Sleep(30 * time.Millisecond) // the next points are due at once
		}
	})
	if len(ks) != 5 {
		t.Fatalf("fired %d points, want 5 (5, 15, 25, 35, 45 ms)", len(ks))
	}
	for i, at := range ats {
		if want := start.Add(5*time.Millisecond + time.Duration(i)*10*time.Millisecond); !at.Equal(want) || ks[i] != i {
			t.Errorf("point %d: k %d at %v, want k %d at %v", i, ks[i], at.Sub(start), i, want.Sub(start))
		}
	}
}
