package mail_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	smail "github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

func openStoreAt(t *testing.T, path string) *sqlstore.Store { return storetest.Open(t, path) }

// TestSlowRelaySendsOnce is issue #11.1: a relay slow enough that a batch
// of 16 sent two at a time outlasts the lease. Each message must still go
// out once, however many workers share the outbox: a claim takes only what
// it sends at once, and the lease is renewed before each send and fences
// every record.
func TestSlowRelaySendsOnce(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	// 16 messages at 400 ms, two at a time, take 3.2 s: longer than the
	// lease; one send takes well under half of it.
	srv.SetDataDelay(400 * time.Millisecond)
	const n = 16
	for i := range n {
		enqueue(t, st, fmt.Sprintf("u%d@example.com", i))
	}
	sender := newSMTP(t, srv.URL())
	o := fast(t)
	o.Lease, o.Batch, o.Concurrency = 2*time.Second, 16, 2
	w1, w2 := smail.NewWorker(st, sender, o), smail.NewWorker(st, sender, o)
	stop1, stop2 := startWorker(t, w1), startWorker(t, w2)
	// Stopping waits for sends in flight, so a late duplicate (a send that
	// outlived its lease) has arrived by the time the workers stopped.
	settleAndStop(t, st, stop1, stop2)
	seen := map[string]int{}
	for _, r := range srv.Messages() {
		seen[r.To[0]]++
	}
	if len(seen) != n {
		t.Errorf("%d recipients got mail, want %d", len(seen), n)
	}
	for to, k := range seen {
		if k != 1 {
			t.Errorf("%s got %d copies", to, k)
		}
	}
}

// TestRefusedDotIsNotLost is issue #11.2: the relay refuses the final dot
// with 451 and the database cannot take back a delivery record (a trigger
// refuses to clear a sent mark). The message must stay pending and go out
// once the relay accepts again: a delivery is recorded only after the
// relay accepted it (SPEC §7).
func TestRefusedDotIsNotLost(t *testing.T) {
	path := t.TempDir() + "/db.sqlite"
	st := openStoreAt(t, path)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER no_unsend BEFORE UPDATE OF sent_at ON outbox
		WHEN OLD.sent_at != 0 AND NEW.sent_at = 0 BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END`); err != nil {
		t.Fatal(err)
	}
	srv := mailtest.NewServer(t)
	srv.SetDataReply(451)
	m := enqueue(t, st, "ana@example.com")
	startWorker(t, smail.NewWorker(st, newSMTP(t, srv.URL()), fast(t)))
	waitMail(t, st, m.ID, "refused at the dot", func(m store.Mail) bool { return m.Attempts >= 2 || !m.SentAt.IsZero() })
	srv.SetDataReply(0)
	got := srv.WaitFor(1, 15*time.Second)
	if len(got) != 1 {
		row, _ := st.MailByID(context.Background(), m.ID)
		t.Fatalf("the message never went out after the relay came back: %d deliveries, row %+v", len(got), row)
	}
	row := waitMail(t, st, m.ID, "sent", done)
	if strings.Contains(row.Text, "token=abc") {
		t.Errorf("delivered body still holds the link: %q", row.Text)
	}
}
