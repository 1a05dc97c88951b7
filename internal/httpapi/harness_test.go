package httpapi_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/httpapi"
	"github.com/spaceauth/spaceauth/internal/httpapi/openapitest"
	"github.com/spaceauth/spaceauth/internal/mail"
	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/testkit"
	"github.com/spaceauth/spaceauth/internal/wire"
)

// cheapParams keep Argon2id fast in tests; the production parameters are
// covered by the password package and the benchmarks.
var cheapParams = password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// harness is one running spaceauth over a real SQLite file and a real SMTP
// server, reachable on 127.0.0.1 with tenant hosts given in the Host header.
type harness struct {
	t       *testing.T
	dbPath  string
	port    string
	clock   *testkit.Clock
	smtp    *mailtest.Server
	spec    *openapitest.Spec
	store   *sqlstore.Store
	svc     *auth.Service
	srv     *http.Server
	ln      net.Listener
	stopped chan struct{}
	cancel  context.CancelFunc
	opts    harnessOptions
}

type harnessOptions struct {
	dbPath string
	port   string
	smtp   *mailtest.Server
	clock  *testkit.Clock
	// hasher, when set, wraps the real hasher (to hold a sign-in between
	// its user read and its credentials); hashSlots sizes the pool.
	hasher    func(auth.Hasher) auth.Hasher
	hashSlots int
	// secure serves as behind an https public URL (Secure cookies, HSTS).
	secure bool
	// proxies are trusted for X-Forwarded-For.
	proxies []netip.Prefix
	// kek seals TOTP secrets (the --key-encryption-key).
	kek string
	// throttle, when set, replaces the default lockout policy.
	throttle auth.ThrottlePolicy
	// ldapTLS trusts the test directory's certificate (SPEC §8).
	ldapTLS *tls.Config
}

func newHarness(t *testing.T) *harness {
	return startHarness(t, harnessOptions{})
}

func startHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	if o.dbPath == "" {
		o.dbPath = filepath.Join(t.TempDir(), "spaceauth.db")
	}
	if o.smtp == nil {
		o.smtp = mailtest.NewServer(t)
	}
	if o.clock == nil {
		o.clock = &testkit.Clock{}
	}
	addr := "127.0.0.1:0"
	if o.port != "" {
		addr = "127.0.0.1:" + o.port
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	o.port = port
	h := &harness{t: t, dbPath: o.dbPath, port: port, clock: o.clock, smtp: o.smtp, ln: ln, opts: o,
		spec: openapitest.Load(t, "../../docs/openapi.yaml")}
	ctx := context.Background()
	cfg := config.Default()
	cfg.DB = o.dbPath
	cfg.PublicURL = "http://localhost:" + port
	cfg.ResetTTL = time.Hour
	cfg.SessionTTL = 24 * time.Hour
	cfg.KeyEncryption = o.kek
	cfg.TrustedProxies = o.proxies
	params := cheapParams
	a, err := wire.Open(ctx, wire.Config{Config: cfg, Clock: o.clock.Now, HashParams: &params, WrapHasher: o.hasher,
		HashSlots: o.hashSlots, Throttle: o.throttle, SecureCookies: o.secure, KEKForTOTPOnly: true, LDAPTLS: o.ldapTLS,
		Logger: slog.New(httpapi.LogHandler(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	h.store, h.svc = a.Store, a.Auth
	sender, err := mail.NewSMTPSender(o.smtp.URL(), "no-reply@localhost")
	if err != nil {
		t.Fatal(err)
	}
	worker := a.MailWorker(sender, mail.WorkerOptions{RetryBase: 50 * time.Millisecond,
		RetryMax: 200 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	api, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	h.stopped = make(chan struct{})
	go func() {
		defer close(h.stopped)
		worker.Run(wctx)
	}()
	h.srv = httpapi.NewHTTPServer(api)
	go h.srv.Serve(ln)
	t.Cleanup(h.stop)
	return h
}

// stop shuts the server down and closes the database; safe to call twice.
func (h *harness) stop() {
	if h.srv == nil {
		return
	}
	h.srv.Close()
	h.cancel()
	<-h.stopped
	h.store.Close()
	h.srv = nil
}

// restart stops the process-equivalent and starts a new one on the same
// database file, port and SMTP server.
func (h *harness) restart() *harness {
	h.stop()
	return startHarness(h.t, harnessOptions{dbPath: h.dbPath, port: h.port, smtp: h.smtp, clock: h.clock, kek: h.opts.kek})
}

// base is the system host; tenant(slug) a tenant host.
func (h *harness) base() string { return "http://localhost:" + h.port }

func (h *harness) tenant(slug string) string { return "http://" + slug + ".localhost:" + h.port }

// client validates every response against docs/openapi.yaml and does not
// follow redirects. It keeps cookies per host.
func (h *harness) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := h.spec.Client(h.t, &http.Client{Timeout: 10 * time.Second, Transport: loopback(h.port)})
	c.Jar = jar
	return c
}

// loopback sends every request to 127.0.0.1:port whatever the URL's host,
// keeping the Host header, so tenant hosts need no DNS.
func loopback(port string) http.RoundTripper {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, "127.0.0.1:"+port)
		},
		MaxIdleConnsPerHost: 64,
	}
}

type fixture struct {
	demo, other      store.Business
	alice, bob, carl store.User // alice: member of demo; bob: member of other; carl: disabled member of demo
	admin, editor    store.User // admin: IsAdmin; editor: User-Edit at demo
	adminOther       store.User // User-Edit at other only
}

const pw = "correct horse battery staple"

// seed creates two businesses and a cast of users through the domain.
func (h *harness) seed() fixture {
	h.t.Helper()
	ctx := context.Background()
	var f fixture
	var err error
	all := func(string) bool { return true }
	if f.demo, err = h.svc.CreateBusiness(ctx, auth.NewBusiness{Slug: "demo", Name: "Demo Space", Language: "en"}, all); err != nil {
		h.t.Fatal(err)
	}
	if f.other, err = h.svc.CreateBusiness(ctx, auth.NewBusiness{Slug: "other", Name: "Other Space", Language: "fr", HideUnknownEmails: true}, all); err != nil {
		h.t.Fatal(err)
	}
	mk := func(email, name string, slugs []string, admin bool, roles ...string) store.User {
		u, err := h.svc.CreateUser(ctx, auth.NewUser{Email: email, Name: name, Password: pw, BusinessSlugs: slugs, Admin: admin, Roles: roles})
		if err != nil {
			h.t.Fatal(err)
		}
		return u
	}
	f.alice = mk("alice@example.com", "Alice Martin", []string{"demo"}, false)
	f.bob = mk("bob@example.com", "Bob Durand", []string{"other"}, false)
	f.carl = mk("carl@example.com", "Carl Disabled", []string{"demo"}, false)
	if _, err := h.svc.SetActive(ctx, "carl@example.com", false); err != nil {
		h.t.Fatal(err)
	}
	f.admin = mk("admin@example.com", "Ada Admin", nil, true)
	f.editor = mk("editor@example.com", "Eddie Editor", []string{"demo"}, false, "User-Edit")
	f.adminOther = mk("editor2@example.com", "Olga Editor", []string{"other"}, false, "User-Edit")
	return f
}

// do sends a request and returns status, headers and body.
func do(t *testing.T, c *http.Client, method, rawURL, contentType, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, b := testkit.Do(t, c, req)
	return resp.StatusCode, resp.Header, b
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

// waitOutbox polls the outbox until done says it has settled, failing
// after a generous deadline. Tests that prove nothing (else) was mailed
// wait on it instead of sleeping: mail is queued in the request's own
// transaction, so once the outbox has nothing left to send, the SMTP
// server has seen every message the requests so far produced.
func waitOutbox(t *testing.T, h *harness, what string, done func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ok, err := done(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox never settled: %s", what)
		}
	}
}

// outboxDrained waits until no queued message is left to send.
func outboxDrained(t *testing.T, h *harness) {
	t.Helper()
	waitOutbox(t, h, "messages still pending", func(ctx context.Context) (bool, error) {
		n, err := h.store.PendingMail(ctx)
		return n == 0, err
	})
}

// seeded is the opening of most tests: a harness with the fixture, and a
// client with its own cookie jar.
func seeded(t *testing.T) (*harness, fixture, *http.Client) {
	t.Helper()
	h := newHarness(t)
	f := h.seed()
	return h, f, h.client()
}
