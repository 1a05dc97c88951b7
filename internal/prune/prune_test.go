package prune

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// table is a rule over n rows that counts its calls.
type table struct {
	rows, calls int
	err         error
	block       bool // wait for the context instead of deleting
}

func (tb *table) rule(name string) Rule {
	return Rule{Name: name, Prune: func(ctx context.Context, _ time.Time, limit int) (int64, error) {
		tb.calls++
		if tb.block {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		if tb.err != nil {
			return 0, tb.err
		}
		n := min(limit, tb.rows)
		tb.rows -= n
		return int64(n), nil
	}}
}

func TestRun(t *testing.T) {
	errDown := errors.New("database down")
	for _, tc := range []struct {
		name      string
		tables    map[string]*table
		maxRun    time.Duration
		wantDone  bool
		wantErr   error
		want      Counts
		wantCalls map[string]int
	}{
		{"every rule until a short batch", map[string]*table{"a": {rows: 25}, "b": {rows: 3}}, 0, true, nil,
			Counts{"a": 25, "b": 3}, map[string]int{"a": 3, "b": 1}},
		{"an exact multiple takes one more, empty, batch", map[string]*table{"a": {rows: 20}}, 0, true, nil,
			Counts{"a": 20}, map[string]int{"a": 3}},
		{"a failing rule is reported, the others go on", map[string]*table{"a": {err: errDown}, "b": {rows: 15}}, 0, true, errDown,
			Counts{"a": 0, "b": 15}, map[string]int{"a": 1, "b": 2}},
		{"the run's time bounds a stuck rule", map[string]*table{"a": {block: true}}, 50 * time.Millisecond, false, nil,
			Counts{"a": 0}, map[string]int{"a": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rules []Rule
			for _, name := range []string{"a", "b"} {
				if tb, ok := tc.tables[name]; ok {
					rules = append(rules, tb.rule(name))
				}
			}
			pruned := Counts{}
			var logs bytes.Buffer
			p := New(rules, Options{Batch: 10, MaxRun: tc.maxRun, Pause: time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)), Pruned: func(r string, n int64) { pruned[r] += n }})
			res, err := p.RunAndLog(context.Background())
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if res.Done != tc.wantDone {
				t.Errorf("done = %v", res.Done)
			}
			for name, want := range tc.want {
				if res.Counts[name] != want || pruned[name] != want {
					t.Errorf("%s: counted %d, metric %d, want %d", name, res.Counts[name], pruned[name], want)
				}
			}
			for name, want := range tc.wantCalls {
				if got := tc.tables[name].calls; got != want {
					t.Errorf("%s: %d batches, want %d", name, got, want)
				}
			}
			// One line per run, with the counts.
			if lines := strings.Count(logs.String(), "\n"); lines != 1 || !strings.Contains(logs.String(), "a=") {
				t.Errorf("log: %q", logs.String())
			}
		})
	}
}

// TestRulesCutoffs: the standard rules' cutoffs (checked
// against a store that records them): expiries plus the grace, the
// throttle window plus the grace, the audit retention; no throttle rule
// without a window, no audit rule for "forever".
func TestRulesCutoffs(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	rec := recorder{}
	rules := Rules(rec, Retention{Audit: 400 * 24 * time.Hour, Throttle: time.Hour})
	for _, r := range rules {
		if _, err := r.Prune(context.Background(), now, 1); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]time.Time{
		"sessions": now.Add(-DefaultGrace), "revoked_tokens": now.Add(-DefaultGrace), "spent_tokens": now.Add(-DefaultGrace),
		"reset_tokens": now.Add(-DefaultGrace), "otp_codes": now.Add(-DefaultGrace), "twofactor_pending": now.Add(-DefaultGrace),
		"oidc_flows": now.Add(-DefaultGrace), "webauthn_challenges": now.Add(-DefaultGrace), "refresh_families": now.Add(-DefaultGrace),
		"throttle": now.Add(-time.Hour - DefaultGrace), "outbox": now.Add(-DefaultOutbox), "audit_events": now.Add(-400 * 24 * time.Hour),
	}
	if len(rec) != len(want) || len(rules) != len(want) {
		t.Errorf("%d rules, want %d", len(rules), len(want))
	}
	for name, cut := range want {
		if !rec[name].Equal(cut) {
			t.Errorf("%s: cutoff %v, want %v", name, rec[name], cut)
		}
	}
	for _, r := range Rules(recorder{}, Retention{}) {
		if r.Name == "throttle" || r.Name == "audit_events" {
			t.Errorf("rule %s without its retention", r.Name)
		}
	}
}

// recorder is a store.Pruning that records each table's cutoff.
type recorder map[string]time.Time

func (r recorder) Prune(_ context.Context, table string, before time.Time, _ int) (int64, error) {
	r[table] = before
	return 0, nil
}
