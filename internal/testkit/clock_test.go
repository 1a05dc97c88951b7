package testkit

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		move func(c *Clock)
		want time.Time
	}{
		{"stands still", func(*Clock) {}, start},
		{"moved forward", func(c *Clock) { c.Add(time.Minute); c.Add(time.Second) }, start.Add(time.Minute + time.Second)},
		{"set, then moved", func(c *Clock) { c.Add(time.Hour); c.Set(start.Add(-time.Hour)); c.Add(time.Second) }, start.Add(-time.Hour + time.Second)},
	}
	for _, tt := range tests {
		c := NewClock(start)
		tt.move(c)
		if got := c.Now(); !got.Equal(tt.want) {
			t.Errorf("%s: Now() = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The zero Clock follows the real time, shifted.
	var c Clock
	c.Add(24 * time.Hour)
	before := time.Now().Add(24 * time.Hour)
	got := c.Now()
	if got.Before(before) || got.Location() != time.UTC {
		t.Errorf("shifted real time %v, want UTC at or after %v", got, before)
	}
}
