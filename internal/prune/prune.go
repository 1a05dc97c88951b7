// Package prune deletes the rows that can no longer matter (issue #17):
// every table that grows with traffic has a retention rule, and the server
// runs the rules at start-up and then every --prune-interval. The rules
// and why each is safe are in docs/retention.md.
//
// A run is a list of rules (a table's name and its batch delete), taken in
// rounds: each round gives every rule with rows left one batch, so one
// table's backlog does not starve the others, and the run ends when every
// rule had a short batch, when its time is up (the rest waits for the next
// run) or when its context ends. Batches are short writes of their own, and
// the run pauses between rounds to let the request path's writes through.
// Several processes may prune one database at once: a batch deletes the
// rows it finds or none, never fails on another pruner's work.
package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Rule is one table's retention: Prune deletes at most limit rows that are
// past retention at now and returns how many it deleted.
type Rule struct {
	Name  string // the table; the metric's label
	Prune func(ctx context.Context, now time.Time, limit int) (int64, error)
}

// Retention holds the periods the standard rules keep rows past the
// moment they stop mattering.
type Retention struct {
	// Audit is how long audit events are kept; 0 keeps them forever.
	Audit time.Duration
	// Throttle is the longest window of any throttle counter (the
	// lockout window, the request windows): a counter whose last event is
	// older counts nothing any more.
	Throttle time.Duration
	// Outbox is how long a sent or abandoned message is kept (its body is
	// erased when it settles; the row is for the operator).
	Outbox time.Duration
	// Grace is added to every expiry: it covers the tokens' verification
	// leeway and clock skew between processes, so a revocation or a spent
	// mark never goes while some process could still accept its token.
	Grace time.Duration
}

// Defaults of Retention.
const (
	DefaultAudit  = 400 * 24 * time.Hour
	DefaultOutbox = 7 * 24 * time.Hour
	DefaultGrace  = time.Hour
)

// Rules are the standard rules over st.
func Rules(st store.Pruning, r Retention) []Rule {
	if r.Grace <= 0 {
		r.Grace = DefaultGrace
	}
	if r.Outbox <= 0 {
		r.Outbox = DefaultOutbox
	}
	// olderThan: the table's rows past retention at now, age before it.
	olderThan := func(table string, age time.Duration) Rule {
		return Rule{Name: table, Prune: func(ctx context.Context, now time.Time, limit int) (int64, error) {
			return st.Prune(ctx, table, now.Add(-age), limit)
		}}
	}
	// Rows whose expiry (or end) lies more than the grace ago.
	var rules []Rule
	for _, table := range []string{"sessions", "revoked_tokens", "spent_tokens", "reset_tokens", "otp_codes",
		"twofactor_pending", "oidc_flows", "webauthn_challenges", "refresh_families"} {
		rules = append(rules, olderThan(table, r.Grace))
	}
	rules = append(rules, olderThan("outbox", r.Outbox))
	// Without the windows nothing says when a counter is over: keep them
	// rather than end a lockout early.
	if r.Throttle > 0 {
		rules = append(rules, olderThan("throttle", r.Throttle+r.Grace))
	}
	if r.Audit > 0 {
		rules = append(rules, olderThan("audit_events", r.Audit))
	}
	return rules
}

// Options tune a Pruner; the zero value of each is its default.
type Options struct {
	Batch  int           // rows per statement (default 1,000)
	MaxRun time.Duration // bound on one run (default 1 minute)
	Pause  time.Duration // between rounds (default 10 ms)
	Clock  func() time.Time
	Logger *slog.Logger
	// Pruned, when set, is told every batch's count (a metric).
	Pruned func(rule string, n int64)
	// Failed, when set, is told every failed batch (a metric).
	Failed func(rule string)
}

// Pruner runs rules.
type Pruner struct {
	rules []Rule
	o     Options
}

// New makes a pruner of rules.
func New(rules []Rule, o Options) *Pruner {
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.MaxRun <= 0 {
		o.MaxRun = time.Minute
	}
	if o.Pause <= 0 {
		o.Pause = 10 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pruner{rules: rules, o: o}
}

// Names are the rules' names, in the order they run.
func (p *Pruner) Names() []string {
	names := make([]string, len(p.rules))
	for i, r := range p.rules {
		names[i] = r.Name
	}
	return names
}

// Counts is what one run deleted, by rule.
type Counts map[string]int64

// Result is the outcome of one run.
type Result struct {
	Counts Counts
	// Done is false when the run stopped (its time was up, or its context
	// ended) with rows possibly left.
	Done bool
}

// Run runs every rule until it has nothing left or the run's time is up.
// A rule whose batch fails is reported in the error and left for the next
// run; the other rules go on. The cutoffs are those of the run's start.
func (p *Pruner) Run(ctx context.Context) (Result, error) {
	now := p.o.Clock()
	ctx, cancel := context.WithTimeout(ctx, p.o.MaxRun)
	defer cancel()
	res := Result{Counts: Counts{}}
	pending := make([]Rule, 0, len(p.rules))
	for _, r := range p.rules {
		res.Counts[r.Name] = 0
		pending = append(pending, r)
	}
	var errs []error
	for len(pending) > 0 {
		next := pending[:0]
		for _, r := range pending {
			if ctx.Err() != nil {
				break
			}
			n, err := r.Prune(ctx, now, p.o.Batch)
			res.Counts[r.Name] += n
			if n > 0 && p.o.Pruned != nil {
				p.o.Pruned(r.Name, n)
			}
			if err != nil {
				if ctx.Err() != nil {
					break // the run's time is up, not the rule's fault
				}
				errs = append(errs, fmt.Errorf("prune %s: %w", r.Name, err))
				if p.o.Failed != nil {
					p.o.Failed(r.Name)
				}
				continue
			}
			if n >= int64(p.o.Batch) {
				next = append(next, r)
			}
		}
		if ctx.Err() != nil {
			break
		}
		pending = next
		if len(pending) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(p.o.Pause):
			}
		}
	}
	res.Done = ctx.Err() == nil
	return res, errors.Join(errs...)
}

// RunAndLog runs once and logs the counts (one line per run), or the
// failure.
func (p *Pruner) RunAndLog(ctx context.Context) (Result, error) {
	start := time.Now()
	res, err := p.Run(ctx)
	attrs := []any{"ms", time.Since(start).Milliseconds(), "done", res.Done}
	var total int64
	for _, r := range p.rules {
		attrs = append(attrs, r.Name, res.Counts[r.Name])
		total += res.Counts[r.Name]
	}
	attrs = append(attrs, "total", total)
	if err != nil {
		p.o.Logger.ErrorContext(ctx, "prune failed", append(attrs, "err", err)...)
	} else {
		p.o.Logger.InfoContext(ctx, "pruned", attrs...)
	}
	return res, err
}

// Loop runs at once and then every interval until ctx ends. A run left
// unfinished is followed by the next one after the interval: a backlog
// shrinks run by run without holding the database.
func (p *Pruner) Loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = p.RunAndLog(ctx) // logged; the next run tries again
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
