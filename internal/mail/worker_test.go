package mail_test

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	smail "github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func enqueue(t *testing.T, s store.Store, to string) store.Mail {
	t.Helper()
	m := store.Mail{Kind: "reset", FromName: "Demo Space", To: to, Subject: "Réinitialiser – votre mot de passe",
		Text: "Follow https://demo.localhost/en/user/newPassword?token=abc", HTML: "<p>Follow <a href=\"x\">link</a></p>"}
	if err := s.EnqueueMail(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func startWorker(t *testing.T, w *smail.Worker) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("worker did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func fast() smail.WorkerOptions {
	return smail.WorkerOptions{PollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}
}

func TestDeliverOverSTARTTLS(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t, mailtest.WithSTARTTLS())
	sender, err := smail.NewSMTPSender(srv.URL(), "no-reply@spaces.example")
	if err != nil {
		t.Fatal(err)
	}
	m := enqueue(t, st, "ana@example.com")
	startWorker(t, smail.NewWorker(st, sender, fast()))
	got := srv.WaitFor(1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	r := got[0]
	if !r.TLS {
		t.Error("STARTTLS offered but not used")
	}
	if r.To[0] != "ana@example.com" || r.Subject != "Réinitialiser – votre mot de passe" || !strings.Contains(r.From, "Demo Space") ||
		!strings.Contains(r.From, "no-reply@spaces.example") {
		t.Errorf("headers: %+v", r)
	}
	if !strings.Contains(r.Text, "newPassword?token=abc") || !strings.Contains(r.HTML, "<a href=") {
		t.Errorf("parts: text %q html %q", r.Text, r.HTML)
	}
	if id := r.Header.Get("Message-Id"); !strings.Contains(id, fmt.Sprintf("outbox-%d-", m.ID)) {
		t.Errorf("Message-ID %q", id)
	}
	waitSent(t, st, m.ID)
}

func waitSent(t *testing.T, st store.Store, id int64) store.Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m, err := st.MailByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !m.SentAt.IsZero() || m.Dead {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("message %d neither sent nor dead", id)
	return store.Mail{}
}

func TestRetryUntilServerReturns(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	sender, _ := smail.NewSMTPSender(srv.URL(), "no-reply@x.example")
	srv.Stop()
	m := enqueue(t, st, "a@example.com")
	startWorker(t, smail.NewWorker(st, sender, fast()))
	time.Sleep(300 * time.Millisecond)
	got, _ := st.MailByID(context.Background(), m.ID)
	if got.Attempts < 2 || got.LastError == "" || !got.SentAt.IsZero() {
		t.Fatalf("while down: %+v", got)
	}
	srv.Start()
	if len(srv.WaitFor(1, 10*time.Second)) != 1 {
		t.Fatal("not delivered after the server came back")
	}
	if sent := waitSent(t, st, m.ID); sent.Dead {
		t.Fatalf("dead: %+v", sent)
	}
}

func TestPermanentAndTemporaryRefusals(t *testing.T) {
	cases := []struct {
		code     int
		wantDead bool
	}{{550, true}, {451, false}}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			st := openStore(t)
			srv := mailtest.NewServer(t)
			srv.SetReply(c.code)
			sender, _ := smail.NewSMTPSender(srv.URL(), "no-reply@x.example")
			m := enqueue(t, st, "a@example.com")
			w := smail.NewWorker(st, sender, fast())
			stop := startWorker(t, w)
			time.Sleep(400 * time.Millisecond)
			stop()
			got, _ := st.MailByID(context.Background(), m.ID)
			if got.Dead != c.wantDead {
				t.Fatalf("dead=%v after %d: %+v", got.Dead, c.code, got)
			}
			if c.wantDead && got.Attempts != 1 {
				t.Errorf("permanent failure retried: %d attempts", got.Attempts)
			}
			if !c.wantDead && got.Attempts < 2 {
				t.Errorf("temporary failure not retried: %d attempts", got.Attempts)
			}
		})
	}
}

func TestMaxAttempts(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	srv.SetReply(421)
	sender, _ := smail.NewSMTPSender(srv.URL(), "no-reply@x.example")
	m := enqueue(t, st, "a@example.com")
	o := fast()
	o.MaxAttempts = 3
	startWorker(t, smail.NewWorker(st, sender, o))
	got := waitSent(t, st, m.ID)
	if !got.Dead || got.Attempts != 3 {
		t.Fatalf("after max attempts: %+v", got)
	}
}

func TestTwoWorkersDeliverOnce(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	sender, _ := smail.NewSMTPSender(srv.URL(), "no-reply@x.example")
	for i := range 50 {
		enqueue(t, st, fmt.Sprintf("u%d@example.com", i))
	}
	startWorker(t, smail.NewWorker(st, sender, fast()))
	startWorker(t, smail.NewWorker(st, sender, fast()))
	got := srv.WaitFor(50, 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	got = srv.Messages()
	seen := map[string]int{}
	for _, r := range got {
		seen[r.To[0]]++
	}
	if len(got) != 50 || len(seen) != 50 {
		t.Fatalf("%d deliveries to %d recipients, want 50 and 50", len(got), len(seen))
	}
}

func TestNudgeAndPromptStop(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	sender, _ := smail.NewSMTPSender(srv.URL(), "no-reply@x.example")
	w := smail.NewWorker(st, sender, smail.WorkerOptions{PollInterval: time.Hour})
	stop := startWorker(t, w)
	time.Sleep(50 * time.Millisecond)
	enqueue(t, st, "a@example.com")
	w.Nudge()
	if len(srv.WaitFor(1, 5*time.Second)) != 1 {
		t.Fatal("nudge did not deliver")
	}
	start := time.Now()
	stop()
	if time.Since(start) > 5*time.Second {
		t.Fatal("Run did not return promptly")
	}
	if s := w.Stats(); s.Sent != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDirSender(t *testing.T) {
	st := openStore(t)
	dir := filepath.Join(t.TempDir(), "mail")
	sender, err := smail.NewDirSender(dir, "no-reply@x.example")
	if err != nil {
		t.Fatal(err)
	}
	m := enqueue(t, st, "a@example.com")
	startWorker(t, smail.NewWorker(st, sender, fast()))
	waitSent(t, st, m.ID)
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil || msg.Header.Get("To") != "<a@example.com>" || !strings.Contains(msg.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("eml: %v %v", err, msg.Header)
	}
}

func TestSMTPURLs(t *testing.T) {
	for _, bad := range []string{"http://x", "smtp://", "smtp://host:99999", "::"} {
		if _, err := smail.NewSMTPSender(bad, "a@b.co"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"smtp://host", "smtps://u:p@host:465", "smtp://h:2525?starttls=required"} {
		if _, err := smail.NewSMTPSender(good, "a@b.co"); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}
