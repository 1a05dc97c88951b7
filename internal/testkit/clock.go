package testkit

import (
	"sync"
	"time"
)

// Clock is a time source a test moves by hand, safe for concurrent reads.
// The zero Clock runs with the real time (UTC), shifted by what Add gave,
// so that expiry can be tested without waiting while retries still come
// due; one from NewClock stands still until Set or Add moves it.
type Clock struct {
	mu     sync.Mutex
	start  time.Time // zero: the real time
	offset time.Duration
}

// NewClock returns a Clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{start: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		return time.Now().UTC().Add(c.offset)
	}
	return c.start.Add(c.offset)
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start, c.offset = t, 0
}
