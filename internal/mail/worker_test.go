package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	smail "github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

func openStore(t *testing.T) *sqlstore.Store { return storetest.SQLite(t) }

const (
	subject = "Réinitialiser – votre mot de passe"
	text    = "Follow https://demo.localhost/en/user/newPassword?token=abc"
	html    = `<p>Follow <a href="x">link</a></p>`
)

func enqueue(t *testing.T, s store.Store, to string) store.Mail {
	t.Helper()
	return enqueueMail(t, s, store.Mail{Kind: "reset", FromName: "Demo Space", To: to, Subject: subject, Text: text, HTML: html})
}

func enqueueMail(t *testing.T, s store.Store, m store.Mail) store.Mail {
	t.Helper()
	if err := s.EnqueueMail(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// startWorker runs w until the returned stop is called (or the test ends).
func startWorker(t *testing.T, w *smail.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			done <- nil // a second stop returns at once
		case <-time.After(10 * time.Second):
			t.Error("worker did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

// fast polls and retries quickly, and logs to the test's log.
func fast(t *testing.T) smail.WorkerOptions {
	return smail.WorkerOptions{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func newSMTP(t *testing.T, url string) *smail.SMTPSender {
	t.Helper()
	s, err := smail.NewSMTPSender(url, "no-reply@spaces.example")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitMail polls the row until cond holds.
func waitMail(t *testing.T, st store.Store, id int64, what string, cond func(store.Mail) bool) store.Mail {
	t.Helper()
	var m store.Mail
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if m, err = st.MailByID(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if cond(m) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("message %d: not %s: %+v", id, what, m)
	return m
}

// eventually polls cond: counters move just after the row does.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

func done(m store.Mail) bool { return !m.SentAt.IsZero() || m.Dead }

// neverClaimable: the outbox itself will not hand the message to any
// worker again (a claim far in the future, when every lease and back-off
// has run out, does not return it).
func neverClaimable(t *testing.T, st store.Store, id int64) {
	t.Helper()
	far := time.Now().Add(24 * time.Hour)
	claimed, err := st.ClaimMail(context.Background(), "probe", far, far.Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range claimed {
		if m.ID == id {
			t.Fatalf("message %d can be claimed again: %+v", id, m)
		}
	}
}

// settleAndStop waits until the outbox holds nothing pending, then stops
// the workers: Run returns only after its sends in flight, so a late
// duplicate has been delivered by the time this returns.
func settleAndStop(t *testing.T, st store.Store, stops ...func()) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		p, err := st.PendingMail(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if p == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still pending", p)
		}
	}
	for _, stop := range stops {
		stop()
	}
}

func TestDeliver(t *testing.T) {
	cases := []struct {
		name     string
		opts     []mailtest.Option
		userinfo string // user:pass@
		textOnly bool
		wantTLS  bool
		wantUser string
	}{
		{name: "plain session", textOnly: true},
		{name: "STARTTLS", opts: []mailtest.Option{mailtest.WithSTARTTLS()}, wantTLS: true},
		{name: "AUTH PLAIN", opts: []mailtest.Option{mailtest.WithSTARTTLS(), mailtest.WithAuth("ana", "s3cret")},
			userinfo: "ana:s3cret@", wantTLS: true, wantUser: "ana"},
		{name: "AUTH LOGIN", opts: []mailtest.Option{mailtest.WithSTARTTLS(), mailtest.WithAuth("ana", "s3cret", "LOGIN")},
			userinfo: "ana:s3cret@", wantTLS: true, wantUser: "ana"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			srv := mailtest.NewServer(t, c.opts...)
			sender := newSMTP(t, strings.Replace(srv.URL(), "smtp://", "smtp://"+c.userinfo, 1))
			in := store.Mail{Kind: "reset", FromName: "Demo Space", To: "ana@example.com", Subject: subject, Text: text, HTML: html}
			if c.textOnly {
				in.HTML = ""
			}
			m := enqueueMail(t, st, in)
			w := smail.NewWorker(st, sender, fast(t))
			startWorker(t, w)
			got := srv.WaitFor(1, 10*time.Second)
			if len(got) != 1 {
				t.Fatalf("%d messages", len(got))
			}
			r := got[0]
			if r.TLS != c.wantTLS || r.User != c.wantUser {
				t.Errorf("TLS %v user %q, want %v %q", r.TLS, r.User, c.wantTLS, c.wantUser)
			}
			if len(r.To) != 1 || r.To[0] != "ana@example.com" || r.MailFrom != "no-reply@spaces.example" {
				t.Errorf("envelope: from %q to %q", r.MailFrom, r.To)
			}
			if r.Subject != subject || r.From != `"Demo Space" <no-reply@spaces.example>` || r.Header.Get("To") != "<ana@example.com>" {
				t.Errorf("headers: From %q To %q Subject %q", r.From, r.Header.Get("To"), r.Subject)
			}
			ctype := r.Header.Get("Content-Type")
			if c.textOnly {
				if !strings.HasPrefix(ctype, "text/plain") || r.HTML != "" {
					t.Errorf("text-only message: Content-Type %q, HTML %q", ctype, r.HTML)
				}
			} else if !strings.HasPrefix(ctype, "multipart/alternative") || !strings.Contains(r.HTML, `<a href="x">`) {
				t.Errorf("Content-Type %q, HTML %q", ctype, r.HTML)
			}
			if !strings.Contains(r.Text, "newPassword?token=abc") {
				t.Errorf("text %q", r.Text)
			}
			wantID := regexp.MustCompile(fmt.Sprintf(`^<outbox-%d-\d+@spaces\.example>$`, m.ID))
			if id := r.Header.Get("Message-Id"); !wantID.MatchString(id) {
				t.Errorf("Message-ID %q", id)
			}
			if sent := waitMail(t, st, m.ID, "sent", done); sent.Dead || sent.Attempts != 1 {
				t.Errorf("row %+v", sent)
			}
			eventually(t, "stats {Sent:1}", func() bool { return w.Stats() == smail.Stats{Sent: 1} })
		})
	}
}

func TestRetryUntilServerReturns(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	sender := newSMTP(t, srv.URL())
	srv.Stop()
	m := enqueue(t, st, "a@example.com")
	w := smail.NewWorker(st, sender, fast(t))
	startWorker(t, w)
	down := waitMail(t, st, m.ID, "retried", func(m store.Mail) bool { return m.Attempts >= 3 })
	if down.LastError == "" || done(down) || !down.NextAttemptAt.After(down.CreatedAt) {
		t.Fatalf("while down: %+v", down)
	}
	srv.Start()
	if len(srv.WaitFor(1, 10*time.Second)) != 1 {
		t.Fatal("not delivered after the server came back")
	}
	if sent := waitMail(t, st, m.ID, "sent", done); sent.Dead {
		t.Fatalf("dead: %+v", sent)
	}
	eventually(t, "one sent after failures", func() bool { s := w.Stats(); return s.Sent == 1 && s.Failed >= 2 && s.Dead == 0 })
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name      string
		opts      []mailtest.Option
		userinfo  string
		rcpt      int // RCPT reply
		data      int // reply to the final dot
		wantDead  bool
		wantError string
	}{
		{name: "RCPT 550", rcpt: 550, wantDead: true, wantError: "RCPT"},
		{name: "RCPT 451", rcpt: 451, wantError: "RCPT"},
		{name: "DATA 554", data: 554, wantDead: true, wantError: "DATA"},
		{name: "DATA 452", data: 452, wantError: "DATA"},
		// A refusal about the setup, not the message, waits for an operator.
		{name: "AUTH 535", opts: []mailtest.Option{mailtest.WithSTARTTLS(), mailtest.WithAuth("ana", "right")},
			userinfo: "ana:wrong@", wantError: "AUTH"},
		{name: "no STARTTLS for credentials", opts: []mailtest.Option{mailtest.WithAuth("ana", "right")},
			userinfo: "ana:right@", wantError: "only sent over TLS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			srv := mailtest.NewServer(t, c.opts...)
			srv.SetReply(c.rcpt)
			srv.SetDataReply(c.data)
			sender := newSMTP(t, strings.Replace(srv.URL(), "smtp://", "smtp://"+c.userinfo, 1))
			m := enqueue(t, st, "a@example.com")
			w := smail.NewWorker(st, sender, fast(t))
			stop := startWorker(t, w)
			var got store.Mail
			if c.wantDead {
				got = waitMail(t, st, m.ID, "dead", done)
				neverClaimable(t, st, m.ID) // it will not be tried again
			} else {
				// Failed at least twice and claimed a third time: a claim
				// in flight when the worker stops is released, and its
				// error is then the release's, so the refusal is read here.
				got = waitMail(t, st, m.ID, "retried", func(m store.Mail) bool {
					return m.Attempts >= 3 && strings.Contains(m.LastError, c.wantError)
				})
			}
			stop()
			after, _ := st.MailByID(context.Background(), m.ID)
			if after.Dead != c.wantDead || !after.SentAt.IsZero() || !strings.Contains(got.LastError, c.wantError) {
				t.Fatalf("want dead=%v, error with %q: %+v", c.wantDead, c.wantError, got)
			}
			if c.wantDead && after.Attempts != 1 {
				t.Errorf("permanent failure tried %d times", after.Attempts)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages accepted", n)
			}
			s := w.Stats()
			if s.Sent != 0 || (s.Dead == 1) != c.wantDead {
				t.Errorf("stats %+v after %d attempts", s, after.Attempts)
			}
			// Every attempt failed, but for one released at the stop.
			if s.Failed != int64(after.Attempts) && (c.wantDead || s.Failed != int64(after.Attempts)-1) {
				t.Errorf("stats %+v after %d attempts", s, after.Attempts)
			}
		})
	}
}

func TestMaxAttempts(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	srv.SetReply(421)
	m := enqueue(t, st, "a@example.com")
	o := fast(t)
	o.MaxAttempts = 3
	stop := startWorker(t, smail.NewWorker(st, newSMTP(t, srv.URL()), o))
	waitMail(t, st, m.ID, "dead", done)
	neverClaimable(t, st, m.ID)
	stop()
	if got, _ := st.MailByID(context.Background(), m.ID); !got.Dead || got.Attempts != 3 {
		t.Fatalf("after max attempts: %+v", got)
	}
}

func TestTwoWorkersDeliverOnce(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	sender := newSMTP(t, srv.URL())
	const n = 50
	for i := range n {
		enqueue(t, st, fmt.Sprintf("u%d@example.com", i))
	}
	w1, w2 := smail.NewWorker(st, sender, fast(t)), smail.NewWorker(st, sender, fast(t))
	stop1, stop2 := startWorker(t, w1), startWorker(t, w2)
	srv.WaitFor(n, 30*time.Second)
	settleAndStop(t, st, stop1, stop2)
	got := srv.Messages()
	seen := map[string]int{}
	for _, r := range got {
		seen[r.To[0]]++
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("%d deliveries to %d recipients, want %d and %d", len(got), len(seen), n, n)
	}
	eventually(t, "the workers count every message", func() bool { return w1.Stats().Sent+w2.Stats().Sent == n })
	if p, err := st.PendingMail(context.Background()); err != nil || p != 0 {
		t.Errorf("pending %d, %v", p, err)
	}
}

func TestNudgeAndPromptStop(t *testing.T) {
	st := openStore(t)
	srv := mailtest.NewServer(t)
	w := smail.NewWorker(st, newSMTP(t, srv.URL()), smail.WorkerOptions{Logger: fast(t).Logger, PollInterval: time.Hour})
	stop := startWorker(t, w)
	time.Sleep(50 * time.Millisecond) // the first, empty, claim is behind us
	enqueue(t, st, "a@example.com")
	w.Nudge()
	w.Nudge() // never blocks
	if len(srv.WaitFor(1, 5*time.Second)) != 1 {
		t.Fatal("nudge did not deliver")
	}
	start := time.Now()
	stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Run took %v to return", d)
	}
	if s := w.Stats(); s.Sent != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestStopWithSendInFlight: a server that never answers holds one send;
// stopping gives it ShutdownGrace, and the claimed messages not started
// are released, due at once.
func TestStopWithSendInFlight(t *testing.T) {
	st := openStore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // and say nothing
		}
	}()
	var ids []int64
	for i := range 3 {
		ids = append(ids, enqueue(t, st, fmt.Sprintf("u%d@example.com", i)).ID)
	}
	o := fast(t)
	o.Concurrency, o.ShutdownGrace, o.RetryBase, o.RetryMax = 1, 200*time.Millisecond, time.Hour, time.Hour
	w := smail.NewWorker(st, newSMTP(t, "smtp://"+ln.Addr().String()), o)
	stop := startWorker(t, w)
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}
	start := time.Now()
	stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Run took %v to return", d)
	}
	if s := w.Stats(); s.Failed != 1 || s.Sent != 0 {
		t.Errorf("stats %+v", s)
	}
	// A claim takes no more than the worker sends at once (one here), so
	// the other two were never leased and are due at once.
	tried, untouched := 0, 0
	for _, id := range ids {
		m, err := st.MailByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case done(m):
			t.Errorf("after stop: %+v", m)
		case m.Attempts == 1 && m.LastError != "":
			tried++
		case m.Attempts == 0 && m.LeaseUntil.IsZero():
			untouched++
		default:
			t.Errorf("after stop: %+v", m)
		}
	}
	if tried != 1 || untouched != 2 {
		t.Errorf("%d tried and %d untouched, want 1 and 2", tried, untouched)
	}
	now := time.Now()
	again, err := st.ClaimMail(context.Background(), "next", now, now.Add(time.Minute), 10)
	if err != nil || len(again) != 2 {
		t.Errorf("untried messages claimable at once: %d, %v", len(again), err)
	}
}

func TestDirSender(t *testing.T) {
	st := openStore(t)
	dir := filepath.Join(t.TempDir(), "new", "mail")
	sender, err := smail.NewDirSender(dir, "no-reply@x.example")
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := enqueue(t, st, "a@example.com"), enqueue(t, st, "b@example.com")
	startWorker(t, smail.NewWorker(st, sender, fast(t)))
	waitMail(t, st, m1.ID, "sent", done)
	waitMail(t, st, m2.ID, "sent", done)
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("dir: %v %v", entries, err)
	}
	for i, m := range []store.Mail{m1, m2} {
		name := entries[i].Name()
		if want := fmt.Sprintf("%d-%d.eml", m.CreatedAt.UnixNano(), m.ID); name != want {
			t.Errorf("file %q, want %q", name, want)
		}
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("To") != "<"+m.To+">" || !strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/alternative") ||
			!strings.HasPrefix(msg.Header.Get("Message-Id"), fmt.Sprintf("<outbox-%d-", m.ID)) {
			t.Errorf("%s: %v", name, msg.Header)
		}
	}
}

func TestNewSMTPSender(t *testing.T) {
	cases := []struct {
		url, from string
		wantErr   string // "" accepts
	}{
		{url: "smtp://host"},
		{url: "smtp://mail.example.com:2525?starttls=required&timeout=30s"},
		{url: "smtps://u:p@host:465?insecure_skip_verify=1"},
		{url: "SMTP://host/"},
		{url: "http://x", wantErr: "scheme"},
		{url: "mail.example.com:587", wantErr: "scheme"},
		{url: "smtp://", wantErr: "no host"},
		{url: "smtp://:25", wantErr: "no host"},
		{url: "smtp://host:99999", wantErr: "port"},
		{url: "smtp://host:x", wantErr: "not a URL"},
		{url: "::", wantErr: "not a URL"},
		{url: "smtp://host/path", wantErr: "path"},
		{url: "smtp://host?starttls=yes", wantErr: "starttls"},
		{url: "smtps://host?starttls=required", wantErr: "starttls"},
		{url: "smtp://host?insecure_skip_verify=maybe", wantErr: "insecure_skip_verify"},
		{url: "smtp://host?timeout=-1s", wantErr: "timeout"},
		{url: "smtp://host?tls=on", wantErr: "unknown parameter"},
		{url: "smtp://u:hunter2@host?tls=on", wantErr: "unknown parameter"},
		{url: "smtp://host", from: "not an address", wantErr: "sender address"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			from := c.from
			if from == "" {
				from = "a@b.example"
			}
			_, err := smail.NewSMTPSender(c.url, from)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one about %q", err, c.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}
