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

// lockedFor is how long a key with st failures stays locked after its
// last failure.
func (p ThrottlePolicy) lockedFor(st store.ThrottleState, free int) time.Duration {
	over := st.Count - free
	if over <= 0 {
		return 0
	}
	d := p.BaseDelay
	for i := 1; i < over && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

func accountKey(email string) string {
	return "signin:acct:" + store.EmailKey(email) // one account, one counter, in any spelling
}
func addressKey(ip string) string { return "signin:addr:" + ip }

// checkSignInThrottle refuses a sign-in attempt while the account or the
// client address is locked. It runs before the password is checked, so a
// locked account answers the same whether the password is right or not.
func (s *Service) checkSignInThrottle(ctx context.Context, email string, c Client) error {
	now := s.now()
	checks := []struct {
		key  string
		free int
	}{{accountKey(email), s.throttle.AccountFree}}
	if c.IP != "" {
		checks = append(checks, struct {
			key  string
			free int
		}{addressKey(c.IP), s.throttle.AddressFree})
	}
	var wait time.Duration
	for _, ch := range checks {
		st, err := s.store.ThrottleGet(ctx, ch.key)
		if err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
		if st.Count == 0 || now.Sub(st.LastAt) > s.throttle.Window {
			continue
		}
		if until := st.LastAt.Add(s.throttle.lockedFor(st, ch.free)); now.Before(until) {
			wait = max(wait, until.Sub(now))
		}
	}
	if wait > 0 {
		return &RateLimited{RetryAfter: wait}
	}
	return nil
}

// recordSignInFailure counts a failure against the account and the address.
func (s *Service) recordSignInFailure(ctx context.Context, email string, c Client) {
	keys := []string{accountKey(email)}
	if c.IP != "" {
		keys = append(keys, addressKey(c.IP))
	}
	err := s.store.InTx(ctx, func(q store.Queries) error {
		for _, k := range keys {
			if _, err := q.ThrottleHit(ctx, k, s.now(), s.throttle.Window); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.ErrorContext(ctx, "throttle write failed", "err", err)
	}
}

// clearSignInFailures forgets an account's failures after a success; the
// address keeps its count (one address may hold many accounts).
func (s *Service) clearSignInFailures(ctx context.Context, email string) {
	if err := s.store.ThrottleClear(ctx, accountKey(email)); err != nil {
		s.log.ErrorContext(ctx, "throttle clear failed", "err", err)
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
	err := s.store.InTx(ctx, func(q store.Queries) error {
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
