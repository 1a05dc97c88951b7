package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/token"
)

// TestVerifiedCache: a token enters the verified-token cache on its second
// verification, so tokens used once (portal links) never fill it, and a
// cached token still verifies to the same claims; a bearer check of a
// cached token allocates nothing for the cache's key.
func TestVerifiedCache(t *testing.T) {
	ctx := context.Background()
	ring := token.NewRing(openStore(t), token.RingOptions{})
	if err := ring.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	iss := token.NewIssuer(ring, "x", nil)
	issue := func() string {
		raw, _, err := iss.Issue(ctx, token.Claims{Subject: "7", Email: "a@b.test"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for range 2000 {
		if _, err := iss.Verify(ctx, issue()); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.Cached(); n != 0 {
		t.Fatalf("after 2,000 tokens verified once each, %d are cached; want 0", n)
	}
	raw := issue()
	for i := range 3 {
		c, err := iss.Verify(ctx, raw)
		if err != nil || c.Subject != "7" || c.Email != "a@b.test" {
			t.Fatalf("verification %d: %+v %v", i+1, c, err)
		}
		if want := min(i, 1); iss.Cached() != want {
			t.Fatalf("after verification %d, %d cached; want %d", i+1, iss.Cached(), want)
		}
	}
	// One character changed: not the cached token.
	forged := raw[:len(raw)-2] + string("AB"[len(raw)%2]) + raw[len(raw)-1:]
	if forged != raw {
		if _, err := iss.Verify(ctx, forged); err == nil {
			t.Fatal("a changed token verified")
		}
	}
	if n := testing.AllocsPerRun(100, func() { iss.Verify(ctx, raw) }); n > 0 {
		t.Errorf("a cached verification allocates %v times; want 0", n)
	}
}
