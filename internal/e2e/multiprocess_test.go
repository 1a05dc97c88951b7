package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// TestTwoProcessesOnPostgres starts two `spaceauth serve` processes on one
// fresh PostgreSQL database and checks that what must be shared is: tokens
// issued by one verify on the other, a portal token spent on one is spent
// for both (also when both are hit at once), failed sign-ins on one
// throttle the account on the other, a refresh token rotated on one is
// refused on the other (and that reuse kills its family for both), and
// reset emails queued through both are delivered exactly once each.
func TestTwoProcessesOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t) // skips, saying why, without SPACEAUTH_TEST_POSTGRES
	const users, pw = 20, "shared fleet passphrase"
	seedUsers(t, dsn, users, pw)
	smtp := mailtest.NewServer(t)
	pa, pb := freePort(t), freePort(t)
	// Replicas behind one load balancer share the public URL: it is the
	// tokens' issuer and the origin of the links they send.
	args := []string{"--db", dsn, "--smtp-url", smtp.URL(), "--trusted-proxy", "127.0.0.1", "--log-level", "warn",
		"--mail-poll", "100ms", "--mail-retry-base", "100ms", "--public-url", "http://localhost:" + pa}
	procA, procB := serve(t, pa, args...), serve(t, pb, args...)
	a, b := client(pa, 10*time.Second), client(pb, 10*time.Second)

	t.Run("token from one verifies on the other", func(t *testing.T) {
		tok, _ := token(a, "u1@example.com", pw, "198.51.100.1")
		if tok == "" {
			t.Fatal("sign-in on A failed")
		}
		req, _ := http.NewRequest("POST", "http://localhost/api/sys/users/2/token/refresh", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// u1 is no API user: B verified the token (else 200/Status 500) and refused the act (403).
		if body := drain(resp); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("B on A's bearer token: %d %s", resp.StatusCode, body)
		}
		resp, err = b.Get("http://demo.localhost/en/user/login?t=" + url.QueryEscape(tok))
		if err != nil {
			t.Fatal(err)
		}
		drain(resp)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("B refused A's portal token: %d", resp.StatusCode)
		}
		resp, _ = a.Get("http://demo.localhost/en/user/login?t=" + url.QueryEscape(tok))
		drain(resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token spent on B accepted again on A: %d", resp.StatusCode)
		}
	})

	t.Run("one portal token hit on both at once", func(t *testing.T) {
		for round := range 10 {
			tok, _ := token(a, fmt.Sprintf("u%d@example.com", 2+round), pw, "198.51.100.2")
			codes := make([]int, 8)
			alternately(len(codes), a, b, func(i int, c *http.Client) {
				resp, err := c.Get("http://demo.localhost/en/user/login?t=" + url.QueryEscape(tok))
				if err != nil {
					return
				}
				drain(resp)
				codes[i] = resp.StatusCode
			})
			wins := 0
			for _, c := range codes {
				if c == http.StatusFound {
					wins++
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d sign-ins with one token across two processes (%v)", round, wins, codes)
			}
		}
	})

	t.Run("refresh rotated on one is refused on the other", func(t *testing.T) {
		grant := func(c *http.Client, form url.Values) (int, map[string]any) {
			req, _ := http.NewRequest("POST", "http://localhost/api/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", "198.51.100.5")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			json.Unmarshal([]byte(drain(resp)), &m)
			return resp.StatusCode, m
		}
		_, first := grant(a, url.Values{"grant_type": {"password"}, "username": {"u18@example.com"}, "password": {pw}, "client_id": {"app"}})
		rt1, _ := first["refresh_token"].(string)
		code, second := grant(a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
		rt2, _ := second["refresh_token"].(string)
		if rt1 == "" || code != 200 || rt2 == "" {
			t.Fatalf("grants on A: %v %v", first, second)
		}
		if code, m := grant(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}); code != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("B accepted a token rotated on A: %d %v", code, m)
		}
		// That reuse, seen by B, killed the family's newest token for A too.
		if code, m := grant(a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}); code != 400 {
			t.Fatalf("family survived reuse detected on the other process: %d %v", code, m)
		}
	})

	t.Run("failures on one throttle the other", func(t *testing.T) {
		for range 6 {
			token(a, "u19@example.com", "wrong passphrase", "198.51.100.3")
		}
		_, code := token(b, "u19@example.com", pw, "198.51.100.4")
		if code != http.StatusTooManyRequests {
			t.Fatalf("B after 6 failures on A: %d, want 429", code)
		}
	})

	t.Run("100 reset emails through both, each delivered once", func(t *testing.T) {
		before := len(smtp.Messages())
		alternately(100, a, b, func(i int, c *http.Client) {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://demo.localhost/en/user/resetPassword?email=u%d@example.com", i%users), nil)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", 10+i%50))
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			if body := drain(resp); resp.StatusCode != 200 {
				t.Errorf("reset %d: %d %s", i, resp.StatusCode, body)
			}
		})
		smtp.WaitFor(before+100, 30*time.Second)
		settleOutbox(t, dsn, 30*time.Second)
		// Anything delivered twice is a send still in flight: stopping
		// waits for it.
		procA.stop()
		procB.stop()
		msgs := smtp.Messages()[before:]
		ids := map[string]int{}
		for _, m := range msgs {
			if strings.Contains(m.Text, "newPassword?token=") {
				ids[m.Header.Get("Message-Id")]++
			}
		}
		if len(ids) != 100 || len(msgs) != 100 {
			t.Fatalf("%d reset messages (%d distinct), want 100 distinct", len(msgs), len(ids))
		}
	})
}

// alternately runs fn for 0..n-1 at once, the even ones on process a's
// client and the odd ones on b's, and waits for all.
func alternately(n int, a, b *http.Client, fn func(i int, c *http.Client)) {
	var wg sync.WaitGroup
	for i := range n {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() { fn(i, c) })
	}
	wg.Wait()
}
