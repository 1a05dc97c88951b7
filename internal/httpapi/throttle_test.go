package httpapi_test

import (
	"strconv"
	"testing"
	"time"
)

// TestSignInLockout: after 5 failures an account is locked with growing
// delays (HTTP 429 + Retry-After), even for the right password, and a
// success after the delay clears the count.
func TestSignInLockout(t *testing.T) {
	h, _, c := seeded(t)
	bad := `{"email":"alice@example.com","password":"wrong guess"}`
	good := `{"email":"alice@example.com","password":"` + pw + `"}`
	for i := 1; i <= 5; i++ {
		if status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, bad); status != 200 || parseEnv(t, body).Status != 500 {
			t.Fatalf("failure %d: %d %s", i, status, body)
		}
	}
	// The allowance is 5 checked passwords: the 6th attempt, wrong or
	// right, is refused unchecked until the delay has passed.
	if status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, bad); status != 429 {
		t.Fatalf("6th attempt: %d %s", status, body)
	}
	status, hdr, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, good)
	if status != 429 || parseEnv(t, body).Status != 429 {
		t.Fatalf("locked account: %d %s", status, body)
	}
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", hdr.Get("Retry-After"))
	}
	// Another account from the same address is not locked.
	signIn(t, h, c, "editor@example.com", 5)
	// The delay grows with each failure past the allowance.
	h.clock.Add(2 * time.Second)
	do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, bad) // 6th failure: 2 s
	h.clock.Add(1500 * time.Millisecond)
	if status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, good); status != 429 {
		t.Fatalf("lock after the 6th failure shorter than 2s: %d", status)
	}
	h.clock.Add(time.Second)
	signIn(t, h, c, "alice@example.com", 5)
	// Success cleared the count: one more failure does not lock.
	do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, bad)
	signIn(t, h, c, "alice@example.com", 5)
}

// TestResetRateLimit: reset requests are limited per email.
func TestResetRateLimit(t *testing.T) {
	h, _, c := seeded(t)
	for i := 1; i <= 5; i++ {
		if status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/resetPassword?email=editor@example.com", "", ""); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, hdr, body := do(t, c, "GET", h.tenant("demo")+"/en/user/resetPassword?email=editor@example.com", "", "")
	if status != 429 || hdr.Get("Retry-After") == "" || parseEnv(t, body).Status != 429 {
		t.Fatalf("6th request: %d %q %s", status, hdr.Get("Retry-After"), body)
	}
	h.clock.Add(61 * time.Minute)
	if status, _, _ := do(t, c, "GET", h.tenant("demo")+"/en/user/resetPassword?email=editor@example.com", "", ""); status != 200 {
		t.Fatalf("after the window: %d", status)
	}
}
