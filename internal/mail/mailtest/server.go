// Package mailtest is a real SMTP server for tests: it speaks SMTP on
// 127.0.0.1 (with STARTTLS on a throwaway certificate, and AUTH PLAIN or
// LOGIN, when asked), records what it receives with its text and HTML
// parts decoded, and can refuse (at RCPT or after DATA), stop, and start
// again on the same port.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/spaceauth/spaceauth/internal/testkit"
)

// Received is one message as the server got it.
type Received struct {
	From     string   // the From header, decoded
	MailFrom string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO)
	Subject  string
	Text     string
	HTML     string
	Header   mail.Header
	Raw      []byte
	TLS      bool   // the session had switched to TLS
	User     string // who authenticated, "" without AUTH
}

// Server is an SMTP server on 127.0.0.1.
type Server struct {
	t      testing.TB
	mu     sync.Mutex
	addr   string
	srv    *smtp.Server
	ln     net.Listener
	msgs   []Received
	reply  int           // refuse RCPT with it, 0: accept
	dreply int           // refuse the end of DATA with it, 0: accept
	ddelay time.Duration // wait this long in DATA before taking the message
	tls    *tls.Config
	auth   *authConfig
	notify chan struct{}
}

type authConfig struct {
	user, pass string
	mechs      []string
}

// Option configures a Server.
type Option func(*Server)

// WithSTARTTLS offers STARTTLS with a certificate from a test authority
// that the client does not know (as good as self-signed).
func WithSTARTTLS() Option {
	return func(s *Server) {
		s.tls = &tls.Config{Certificates: []tls.Certificate{testkit.NewCA(s.t).ServerCertificate(s.t)}}
	}
}

// WithAuth offers AUTH with mechs (default PLAIN and LOGIN), accepts only
// user and pass, and refuses MAIL FROM before authentication.
func WithAuth(user, pass string, mechs ...string) Option {
	if len(mechs) == 0 {
		mechs = []string{sasl.Plain, sasl.Login}
	}
	return func(s *Server) { s.auth = &authConfig{user: user, pass: pass, mechs: mechs} }
}

// NewServer starts a server; it stops when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	s := &Server{t: t, addr: "127.0.0.1:0", notify: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is smtp://host:port, with insecure_skip_verify for the test
// certificate when STARTTLS is on.
func (s *Server) URL() string {
	u := "smtp://" + s.Addr()
	if s.tls != nil {
		u += "?insecure_skip_verify=1"
	}
	return u
}

// Start (re)starts the server on its port.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger briefly
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mailtest.local"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.TLSConfig = s.tls
	s.srv, s.ln = srv, ln
	go srv.Serve(ln)
}

// Stop closes the listener and every session.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Close the listener ourselves too: Serve may not have taken it yet.
		ln.Close()
		srv.Close()
	}
}

// SetReply makes every following RCPT answer code (0: accept).
func (s *Server) SetReply(code int) {
	s.mu.Lock()
	s.reply = code
	s.mu.Unlock()
}

// SetDataReply makes every following message refused with code after its
// final dot (0: accept).
func (s *Server) SetDataReply(code int) {
	s.mu.Lock()
	s.dreply = code
	s.mu.Unlock()
}

// SetDataDelay makes every following DATA wait d before it reads the
// message and answers the final dot: a slow relay.
func (s *Server) SetDataDelay(d time.Duration) {
	s.mu.Lock()
	s.ddelay = d
	s.mu.Unlock()
}

// Messages returns a copy of what arrived so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitFor waits until n messages arrived or timeout passed, and returns
// what arrived.
func (s *Server) WaitFor(n int, timeout time.Duration) []Received {
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			return s.Messages()
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func refuse(code int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

func (x *session) AuthMechanisms() []string {
	if x.s.auth == nil {
		return nil
	}
	return x.s.auth.mechs
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	a := x.s.auth
	if a == nil {
		return nil, refuse(504, "no AUTH here")
	}
	check := func(user, pass string) error {
		if user != a.user || pass != a.pass {
			return refuse(535, "bad credentials")
		}
		x.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, refuse(504, "unknown mechanism")
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.auth != nil && x.user == "" {
		return refuse(530, "authentication required")
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	code := x.s.reply
	x.s.mu.Unlock()
	if code != 0 {
		return refuse(code, "refused by mailtest")
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	x.s.mu.Lock()
	delay := x.s.ddelay
	x.s.mu.Unlock()
	time.Sleep(delay)
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	rec := parse(raw)
	rec.MailFrom, rec.To, rec.User = x.from, x.to, x.user
	_, rec.TLS = x.conn.TLSConnectionState()
	x.s.mu.Lock()
	code := x.s.dreply
	if code == 0 {
		x.s.msgs = append(x.s.msgs, rec)
	}
	x.s.mu.Unlock()
	if code != 0 {
		return refuse(code, "refused by mailtest")
	}
	select {
	case x.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) == 0 {
			return []byte("Username:"), false, nil
		}
		fallthrough // the username came as the initial response
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}
func (x *session) Logout() error { return nil }

// parse decodes headers and the text and HTML parts.
func parse(raw []byte) Received {
	rec := Received{Raw: raw}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return rec
	}
	dec := new(mime.WordDecoder)
	rec.Header = m.Header
	rec.Subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	rec.From, _ = dec.DecodeHeader(m.Header.Get("From"))
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &rec)
	return rec
}

func walk(ctype, cte string, body io.Reader, rec *Received) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			// multipart decodes quoted-printable parts itself.
			walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, rec)
		}
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, _ := io.ReadAll(body)
	switch mt {
	case "text/plain":
		rec.Text = string(b)
	case "text/html":
		rec.HTML = string(b)
	}
}
