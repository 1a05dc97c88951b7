package auth

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// TestBegunChallenges: a kept challenge is taken once; past begunMax no
// more are kept (a finish then reads the database) until the expired ones
// are swept, which happens at most once a second.
func TestBegunChallenges(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	ch := func(i int, at time.Time) store.WebAuthnChallenge {
		return store.WebAuthnChallenge{Hash: binary.BigEndian.AppendUint64(nil, uint64(i)), Kind: "login",
			CreatedAt: at, ExpiresAt: at.Add(passkeyCeremonyTTL)}
	}
	for _, c := range []struct {
		name string
		// begunMax challenges begun at t0, then one more at at; the last
		// sweep was sweptAgo before at (0: never).
		at       time.Time
		sweptAgo time.Duration
		kept     bool
	}{
		{"full, none expired", t0.Add(time.Minute), 0, false},
		{"full, all expired", t0.Add(passkeyCeremonyTTL), 0, true},
		{"full, expired, swept less than a second ago", t0.Add(passkeyCeremonyTTL), time.Second / 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBegunChallenges()
			if c.sweptAgo > 0 {
				b.swept = c.at.Add(-c.sweptAgo)
			}
			for i := range begunMax {
				b.put(ch(i, t0))
			}
			extra := ch(begunMax, c.at)
			b.put(extra)
			if _, ok := b.take(extra.Hash); ok != c.kept {
				t.Fatalf("kept %v, want %v", ok, c.kept)
			}
		})
	}
	t.Run("taken once", func(t *testing.T) {
		b := newBegunChallenges()
		c := ch(1, t0)
		b.put(c)
		if got, ok := b.take(c.Hash); !ok || got.ExpiresAt != c.ExpiresAt {
			t.Fatalf("first take: %v %v", got, ok)
		}
		if _, ok := b.take(c.Hash); ok {
			t.Fatal("a challenge was taken twice from the copy")
		}
	})
}
