package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/spaceauth/spaceauth/internal/store"
)

const (
	defaultSMTPTimeout = time.Minute
	maxDialTimeout     = 15 * time.Second
)

// SMTPSender sends each message in its own session with one SMTP server.
type SMTPSender struct {
	sender
	host        string
	addr        string // host:port
	implicitTLS bool
	requireTLS  bool
	tls         *tls.Config
	user, pass  string
	timeout     time.Duration // whole session
}

// NewSMTPSender parses the server URL:
//
//	smtp://[user:pass@]host[:port]   port 587; STARTTLS when the server offers it
//	smtps://[user:pass@]host[:port]  port 465; implicit TLS
//
// Query parameters: starttls=required refuses a server without STARTTLS
// (smtp:// only); timeout=30s bounds a whole session (default 1m);
// insecure_skip_verify=1 accepts any certificate, for development only.
// With user info the sender authenticates (PLAIN, or LOGIN when that is
// all the server offers), and only ever over TLS. from is the envelope
// sender and the address of the From header.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	sa, err := newSenderAddress(from)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, and with it the password: say less.
		return nil, errors.New("mail: SMTP URL: not a URL (want smtp://user:pass@host:port)")
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("mail: SMTP URL %q: %s", redact(u), fmt.Sprintf(format, a...))
	}
	s := &SMTPSender{sender: sa, host: u.Hostname(), timeout: defaultSMTPTimeout}
	port := 0
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		port = 587
	case "smtps":
		port, s.implicitTLS = 465, true
	default:
		return nil, bad("scheme must be smtp or smtps")
	}
	if s.host == "" {
		return nil, bad("no host")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("unexpected path %q", u.Path)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("bad port %q", p)
		}
		port = n
	}
	s.addr = net.JoinHostPort(s.host, strconv.Itoa(port))
	s.tls = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "starttls":
			switch {
			case s.implicitTLS:
				return nil, bad("starttls applies to smtp://, not smtps://")
			case v == "required":
				s.requireTLS = true
			case v == "opportunistic" || v == "":
			default:
				return nil, bad("starttls=%q: want required or opportunistic", v)
			}
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("insecure_skip_verify=%q: want 1 or 0", v)
			}
			s.tls.InsecureSkipVerify = b
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, bad("timeout=%q: want a positive duration such as 30s", v)
			}
			s.timeout = d
		default:
			return nil, bad("unknown parameter %q (known: starttls, timeout, insecure_skip_verify)", k)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return s, nil
}

func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// Send delivers m in its own SMTP session and returns nil once the server
// accepted the final dot (see Sender). The session ends when ctx does, and
// after the sender's timeout at the latest.
func (s *SMTPSender) Send(ctx context.Context, m store.Mail) error {
	rcpt, err := envelopeRecipient(m.To)
	if err != nil {
		return err
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn, err := s.dial(ctx, deadline)
	if err != nil {
		return fmt.Errorf("smtp %s: connect: %w", s.addr, err)
	}
	// Every read and write fails once the deadline passes or ctx ends.
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", s.addr, err)
	}
	defer context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return s.fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.idHost); err != nil {
		return s.fail("EHLO", err)
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tls); err != nil {
				return s.fail("STARTTLS", err)
			}
		} else if s.requireTLS {
			return fmt.Errorf("smtp %s: the server does not offer STARTTLS (starttls=required)", s.addr)
		} else if s.user != "" {
			return fmt.Errorf("smtp %s: the server does not offer STARTTLS; credentials are only sent over TLS", s.addr)
		}
	}
	if s.user != "" {
		if err := c.Auth(s.auth(c)); err != nil {
			return s.fail("AUTH", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return s.fail("MAIL FROM", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return s.fail("RCPT", err)
	}
	w, err := c.Data()
	if err != nil {
		return s.fail("DATA", err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		return fmt.Errorf("smtp %s: write message: %w", s.addr, err)
	}
	if err := w.Close(); err != nil {
		return s.fail("DATA", err)
	}
	_ = c.Quit() // the message is accepted; a failed goodbye changes nothing
	return nil
}

func (s *SMTPSender) dial(ctx context.Context, deadline time.Time) (net.Conn, error) {
	d := &net.Dialer{Deadline: deadline, Timeout: maxDialTimeout}
	if s.implicitTLS {
		return (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// auth picks PLAIN, or LOGIN when the server offers LOGIN and not PLAIN.
// Both refuse to run without TLS (the session has it by now).
func (s *SMTPSender) auth(c *smtp.Client) smtp.Auth {
	_, mechs := c.Extension("AUTH")
	offered := strings.Fields(strings.ToUpper(mechs))
	has := func(m string) bool {
		for _, o := range offered {
			if o == m {
				return true
			}
		}
		return false
	}
	if !has("PLAIN") && has("LOGIN") {
		return smtp.LoginAuth(s.user, s.pass, s.host, false)
	}
	return smtp.PlainAuth("", s.user, s.pass, s.host, false)
}

// fail wraps the error of one SMTP step. A 5xx answer is permanent only
// where it is about this message (RCPT, DATA). Elsewhere (EHLO, AUTH, MAIL
// FROM) it is about this installation's setup, which an operator can fix,
// so the message waits for a retry rather than being given up.
func (s *SMTPSender) fail(step string, err error) error {
	err = fmt.Errorf("smtp %s: %s: %w", s.addr, step, err)
	var te *textproto.Error
	if (step == "RCPT" || step == "DATA") && errors.As(err, &te) && te.Code >= 500 && te.Code <= 599 {
		return &PermanentError{err}
	}
	return err
}
