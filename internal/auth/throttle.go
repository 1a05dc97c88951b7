package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// ThrottlePolicy is the lockout policy (docs/security.md). Failed sign-ins
// are counted per account and per client address; past the free allowance
// each further failure locks the key for a delay that doubles, up to
// MaxDelay. A window ends Window after the last failure. Reset and code
// requests are counted (successful or not) per email and per address.
type ThrottlePolicy struct {
	AccountFree  int           // failures per account before delays start
	AddressFree  int           // failures per client address before delays start
	BaseDelay    time.Duration // delay after the first failure past the allowance
	MaxDelay     time.Duration
	Window       time.Duration
	ResetPerMail int // reset requests per email per ResetWindow
	ResetPerAddr int // reset requests per client address per ResetWindow
	ResetWindow  time.Duration
}

// DefaultThrottlePolicy is the documented default.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{
		AccountFree: 5, AddressFree: 50,
		BaseDelay: time.Second, MaxDelay: 15 * time.Minute, Window: 15 * time.Minute,
		ResetPerMail: 5, ResetPerAddr: 50, ResetWindow: time.Hour,
	}
}

// Retention is the longest window of any throttle counter this policy (and
// the fixed windows of code requests and single sign-on starts) uses: a
// counter whose last event is older counts nothing any more, in every
// check (wait, ThrottleHit, ThrottleTake), and may be deleted.
func (p ThrottlePolicy) Retention() time.Duration {
	return max(p.Window, p.ResetWindow, codeRequestWindow, ssoFlowTTL)
}

// wait is how long a key in state st must wait before one more attempt:
// the first free attempts of a window go at once, and each further one only
// after a delay past the previous attempt that doubles, up to MaxDelay.
// Attempts are counted when they start (see attempt.take), so after free
// failures the next attempt already waits BaseDelay.
func (p ThrottlePolicy) wait(st store.ThrottleState, free int, now time.Time) time.Duration {
	if st.Count < free || now.Sub(st.LastAt) > p.Window {
		return 0
	}
	d := p.BaseDelay
	for i := free; i < st.Count && d < p.MaxDelay; i++ {
		d *= 2
	}
	if until := st.LastAt.Add(min(d, p.MaxDelay)); now.Before(until) {
		return until.Sub(now)
	}
	return 0
}

func accountKey(email string) string {
	return "signin:acct:" + store.EmailKey(email) // one account, one counter, in any spelling
}
func addressKey(ip string) string { return "signin:addr:" + ip }

// failuresKey counts an address's failed sign-ins only (addressKey also
// holds its attempts in flight), to tell suspects for the hashing queue.
func failuresKey(ip string) string { return "signin:fail:" + ip }

// takeTries bounds the tries of attempt.take at one key; past it the caller is told to come
// back. Below the allowance takes never contend; past it only one attempt
// per delay may go, and the others see the lock on their next read.
const takeTries = 64

// attempt is one sign-in attempt that holds a failure slot of the account
// and of the client address, taken before any secret is checked (SPEC §6
// "Throttle accounting is atomic"): a failure keeps the slots, a success
// gives them back. Of any number of concurrent attempts on one account, at
// most the allowance get past beginAttempt, in every process that shares
// the store.
type attempt struct {
	s       *Service
	email   string
	c       Client
	keys    []string // slots held: the account's, then the address's
	suspect bool     // the account had failures or attempts in flight, or the address failures
	closed  bool
}

// beginAttempt takes the failure slots of email and c's address, or
// returns *RateLimited while either is locked. A locked account refuses
// even the right password: nothing is checked.
func (s *Service) beginAttempt(ctx context.Context, email string, c Client) (*attempt, error) {
	a := &attempt{s: s, email: email, c: c}
	slots := []slot{{accountKey(email), s.throttle.AccountFree}}
	keys := []string{accountKey(email)}
	if c.IP != "" {
		slots = append(slots, slot{addressKey(c.IP), s.throttle.AddressFree})
		keys = append(keys, addressKey(c.IP), failuresKey(c.IP))
	}
	// Every state the attempt needs in one read (a round trip each cost a
	// tenth of a sign-in's time on PostgreSQL): the takes decide from it
	// and read a key again only when its compare-and-swap loses.
	states, err := s.throttles.ThrottleGetMany(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("throttle: %w", err)
	}
	before, err := a.take(ctx, slots, states[:len(slots)])
	if err != nil {
		a.refund(ctx)
		return nil, err
	}
	// An account rarely has two sign-ins at once; an address (a NAT, a
	// proxy) often has: for it only failures count. The failures key is
	// never taken, only hit by failures: as read before the takes.
	a.suspect = before > 0
	if c.IP != "" && !a.suspect {
		st := states[len(slots)]
		a.suspect = st.Count > 0 && s.now().Sub(st.LastAt) <= s.throttle.Window
	}
	return a, nil
}

// slot is one key an attempt takes and its free allowance.
type slot struct {
	key  string
	free int
}

// take counts one attempt against each of slots, in order, each only
// while none is locked, and returns the account's (the first key's)
// count before. states are the keys' states as last read; the takes of
// one try go in one step (ThrottleTakeMany), and a take that loses its
// compare-and-swap reads its key again, as do the ones after it. The keys
// taken are in a.keys, for the caller to give back on an error.
func (a *attempt) take(ctx context.Context, slots []slot, states []store.ThrottleState) (int, error) {
	s := a.s
	before := 0
	for tries := 0; len(a.keys) < len(slots); tries++ {
		if tries == takeTries {
			return 0, ErrBusy
		}
		now := s.now()
		done := len(a.keys)
		takes := make([]store.ThrottleTakeArgs, 0, len(slots)-done)
		for i := done; i < len(slots); i++ {
			if d := s.throttle.wait(states[i], slots[i].free, now); d > 0 {
				return 0, &RateLimited{RetryAfter: d}
			}
			takes = append(takes, store.ThrottleTakeArgs{Key: slots[i].key, Prev: states[i], Free: slots[i].free, Now: now, Window: s.throttle.Window})
		}
		// All or nothing of this call is stored on an error.
		n, err := s.throttles.ThrottleTakeMany(ctx, takes)
		if err != nil {
			return 0, fmt.Errorf("throttle: %w", err)
		}
		for i := done; i < done+n; i++ {
			a.keys = append(a.keys, slots[i].key)
			if i == 0 && now.Sub(states[0].LastAt) <= s.throttle.Window {
				before = states[0].Count
			}
		}
		if n > 0 {
			tries = -1 // a new key: its own tries
		}
		if k := len(a.keys); k < len(slots) {
			st, err := s.throttles.ThrottleGet(ctx, slots[k].key)
			if err != nil {
				return 0, fmt.Errorf("throttle: %w", err)
			}
			states[k] = st
		}
	}
	return before, nil
}

// fail closes the attempt as a failed sign-in: the slots stay counted, the
// address's failure count grows and the failure is audited, in one
// transaction. A failure that cannot be audited is an error
// (SPEC §6 "Fail closed"), returned instead of failWith.
func (a *attempt) fail(ctx context.Context, e store.AuditEvent, failWith error) error {
	a.closed = true
	if e.Type == "" {
		e.Type = "signin.failure"
	}
	err := a.s.tx.InTx(ctx, func(q store.Queries) error {
		if a.c.IP != "" {
			if _, err := q.ThrottleHit(ctx, failuresKey(a.c.IP), a.s.now(), a.s.throttle.Window); err != nil {
				return fmt.Errorf("throttle: %w", err)
			}
		}
		return a.s.audit(ctx, q, e, a.c)
	})
	if err != nil {
		return err
	}
	return failWith
}

// succeed closes the attempt as a successful sign-in: the account's count
// is forgotten and the address's slot given back (one address may hold many
// accounts, so its failures stay). Errors are logged: a slot that stays
// counted errs on the safe side.
func (a *attempt) succeed(ctx context.Context) {
	if a.closed {
		return
	}
	a.closed = true
	ctx = context.WithoutCancel(ctx) // a client gone mid-way still gets its slots back
	for i, k := range a.keys {
		var err error
		if i == 0 {
			err = a.s.throttles.ThrottleClear(ctx, k)
		} else {
			err = a.s.throttles.ThrottleRefund(ctx, k)
		}
		if err != nil {
			a.s.log.ErrorContext(ctx, "throttle release failed", "err", err)
		}
	}
}

// succeedAudited closes the attempt as succeed does, and records e (a
// sign-in's success) in the same commit: one statement on PostgreSQL, one
// transaction of the group commit on SQLite. The token the event names is
// handed out only once this returns nil. On an error nothing is stored,
// so the slots stay counted: that errs on the safe side (the account's
// earlier failures are kept, and the address holds one attempt more until
// its window ends), and the caller answers "unavailable" (fail closed).
func (a *attempt) succeedAudited(ctx context.Context, e store.AuditEvent) error {
	a.closed = true
	e = a.s.auditRecord(e, a.c)
	refund := ""
	if len(a.keys) > 1 {
		refund = a.keys[1]
	}
	// Like succeed: a client gone mid-way still gets its slots back, and
	// the token it was issued is on record.
	if err := a.s.throttles.ThrottleRelease(context.WithoutCancel(ctx), a.keys[0], refund, &e); err != nil {
		a.s.log.ErrorContext(ctx, "audit write failed", "type", e.Type, "err", err)
		return fmt.Errorf("audit %s: %w", e.Type, err)
	}
	a.s.opts.Event(e.Type)
	return nil
}

// releaseIn closes the attempt as succeed does, in transaction q: the
// release commits with what the sign-in writes, or, when that fails, not
// at all, and the slots stay counted (the safe side, as in
// succeedAudited).
func (a *attempt) releaseIn(ctx context.Context, q store.Queries) error {
	a.closed = true
	refund := ""
	if len(a.keys) > 1 {
		refund = a.keys[1]
	}
	if err := q.ThrottleRelease(ctx, a.keys[0], refund, nil); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// refund closes the attempt as neither success nor failure (a second
// factor still to come, a busy pool, a storage error): both slots are
// given back, the counts of earlier failures stay.
func (a *attempt) refund(ctx context.Context) {
	if a.closed {
		return
	}
	a.closed = true
	ctx = context.WithoutCancel(ctx)
	for _, k := range a.keys {
		if err := a.s.throttles.ThrottleRefund(ctx, k); err != nil {
			a.s.log.ErrorContext(ctx, "throttle refund failed", "err", err)
		}
	}
}

// countRequest counts a request (reset, code) against kind's limits for the
// email and the address and refuses it once either is over.
func (s *Service) countRequest(ctx context.Context, kind, email string, c Client, perMail, perAddr int, window time.Duration) error {
	now := s.now()
	type limit struct {
		key string
		max int
	}
	limits := []limit{{kind + ":mail:" + store.EmailKey(email), perMail}}
	if c.IP != "" {
		limits = append(limits, limit{kind + ":addr:" + c.IP, perAddr})
	}
	// Both counters in one transaction: one commit per request.
	var limited error
	err := s.tx.InTx(ctx, func(q store.Queries) error {
		for _, l := range limits {
			st, err := q.ThrottleHit(ctx, l.key, now, window)
			if err != nil {
				return err
			}
			if st.Count > l.max {
				limited = &RateLimited{RetryAfter: max(time.Second, st.LastAt.Add(window).Sub(now))}
				return nil // the hits so far still count
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return limited
}
