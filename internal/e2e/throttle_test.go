package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// TestThrottleAcrossProcesses (issues 10.4 and 18.7, SPEC §6 "Throttle
// accounting is atomic"): 30 concurrent wrong passwords for one account,
// spread over three `spaceauth serve` processes sharing one database, from
// 30 addresses: at most the allowance (5) are checked, the others are
// refused unchecked (429), and the right password is refused after them.
// On the old code 28 of 30 were checked. Run on PostgreSQL and on one
// SQLite file shared by the three processes.
func TestThrottleAcrossProcesses(t *testing.T) {
	for _, db := range []string{"postgres", "sqlite"} {
		t.Run(db, func(t *testing.T) {
			var dsn string
			if db == "postgres" {
				dsn = storetest.PostgresDSN(t) // skips, saying why, without SPACEAUTH_TEST_POSTGRES
			} else {
				dsn = filepath.Join(t.TempDir(), "spaceauth.db")
			}
			const pw = "shared fleet passphrase"
			seedUsers(t, dsn, 2, pw)
			var clients []*http.Client
			for range 3 {
				port := freePort(t)
				serve(t, port, "--db", dsn, "--mail-dir", filepath.Join(t.TempDir(), "mail"), "--trusted-proxy", "127.0.0.1",
					"--log-level", "warn", "--public-url", "http://localhost:"+port)
				clients = append(clients, client(port, 60*time.Second))
			}
			const n = 30
			codes := make([]int, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, codes[i] = token(clients[i%3], "u1@example.com", fmt.Sprintf("wrong passphrase %d", i), fmt.Sprintf("203.0.113.%d", 1+i))
				}()
			}
			close(start)
			wg.Wait()
			checked, refused := 0, 0
			for i, c := range codes {
				switch c {
				case 500: // "email or password not valid": the password was hashed
					checked++
				case http.StatusTooManyRequests:
					refused++
				default:
					t.Errorf("attempt %d: status %d", i, c)
				}
			}
			t.Logf("%d checked, %d refused", checked, refused)
			if checked > 5 {
				t.Fatalf("%d of %d concurrent wrong passwords over three processes were checked, want at most 5 (%d refused)", checked, n, refused)
			}
			if checked == 5 {
				if _, c := token(clients[0], "u1@example.com", pw, "203.0.113.200"); c != http.StatusTooManyRequests {
					t.Fatalf("right password after 5 failures: %d, want 429", c)
				}
			}
			// Another account is untouched.
			if tok, c := token(clients[1], "u0@example.com", pw, "203.0.113.201"); tok == "" {
				t.Fatalf("other account: %d", c)
			}
		})
	}
}
