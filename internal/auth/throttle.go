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
// Attempts are counted when they start (see takeSlot), so after free
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

// takeTries bounds the loop of takeSlot; past it the caller is told to come
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
	type slot struct {
		key  string
		free int
	}
	slots := []slot{{accountKey(email), s.throttle.AccountFree}}
	if c.IP != "" {
		slots = append(slots, slot{addressKey(c.IP), s.throttle.AddressFree})
	}
	for i, sl := range slots {
		before, err := s.takeSlot(ctx, sl.key, sl.free)
		if err != nil {
			a.refund(ctx)
			return nil, err
		}
		a.keys = append(a.keys, sl.key)
		// An account rarely has two sign-ins at once; an address (a NAT, a
		// proxy) often has: for it only failures count.
		if i == 0 && before > 0 {
			a.suspect = true
		}
	}
	if c.IP != "" && !a.suspect {
		st, err := s.throttles.ThrottleGet(ctx, failuresKey(c.IP))
		if err != nil {
			a.refund(ctx)
			return nil, fmt.Errorf("throttle: %w", err)
		}
		a.suspect = st.Count > 0 && s.now().Sub(st.LastAt) <= s.throttle.Window
	}
	return a, nil
}

// takeSlot counts one attempt against key if the key is not locked, and
// returns the count it had before.
func (s *Service) takeSlot(ctx context.Context, key string, free int) (int, error) {
	for range takeTries {
		now := s.now()
		st, err := s.throttles.ThrottleGet(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("throttle: %w", err)
		}
		if d := s.throttle.wait(st, free, now); d > 0 {
			return 0, &RateLimited{RetryAfter: d}
		}
		ok, err := s.throttles.ThrottleTake(ctx, key, st, free, now, s.throttle.Window)
		if err != nil {
			return 0, fmt.Errorf("throttle: %w", err)
		}
		if ok {
			if now.Sub(st.LastAt) > s.throttle.Window {
				return 0, nil
			}
			return st.Count, nil
		}
	}
	return 0, ErrBusy
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
