package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Sender delivers one message. Once the message is fully handed over, and
// before the receiver can act on it, the sender calls commit, which records
// the delivery; for SMTP that is just before the final "." of DATA. A crash
// before commit leaves nothing delivered (the receiver drops an unfinished
// DATA) and the message is retried; a crash after it leaves the delivery
// recorded. Only a crash between the commit and the dot loses a message,
// and nothing sends it twice.
type Sender interface {
	Send(ctx context.Context, m store.Mail, commit func() error) error
}

// PermanentError marks a failure that retrying cannot fix (an SMTP 5xx).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// build turns an outbox row into a MIME message. The Message-ID derives
// from the row id, so a retried message keeps its identity.
func build(m store.Mail, from, host string) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(m.FromName, from); err != nil {
		return nil, &PermanentError{fmt.Errorf("from %q: %w", from, err)}
	}
	if err := msg.To(m.To); err != nil {
		return nil, &PermanentError{fmt.Errorf("to %q: %w", m.To, err)}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(fmt.Sprintf("outbox-%d-%d@%s", m.ID, m.CreatedAt.UnixNano(), host))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// SMTPSender sends through one SMTP server.
type SMTPSender struct {
	from        string
	host        string
	port        int
	implicitTLS bool
	requireTLS  bool
	tls         *tls.Config
	user, pass  string
}

// NewSMTPSender parses smtp://user:pass@host:port (STARTTLS when the server
// offers it; ?starttls=required to insist) or smtps://... (implicit TLS).
// ?insecure_skip_verify=1 accepts any certificate: for development only.
// Credentials are only ever sent over TLS.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: --smtp-url: %w", err)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("mail: --smtp-url %q: no host", redact(u))
	}
	q := u.Query()
	s := &SMTPSender{from: from, host: u.Hostname(),
		tls: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
	if q.Get("insecure_skip_verify") == "1" || q.Get("insecure_skip_verify") == "true" {
		s.tls.InsecureSkipVerify = true
	}
	switch u.Scheme {
	case "smtp":
		s.port = 587
		s.requireTLS = q.Get("starttls") == "required"
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return nil, fmt.Errorf("mail: --smtp-url %q: scheme must be smtp or smtps", redact(u))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: --smtp-url %q: bad port", redact(u))
		}
		s.port = n
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

// Send delivers m in its own SMTP session, calling commit just before the
// final dot (see Sender). A 5xx answer is permanent.
func (s *SMTPSender) Send(ctx context.Context, m store.Mail, commit func() error) error {
	msg, err := build(m, s.from, domainOf(s.from))
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	d := &net.Dialer{Timeout: 15 * time.Second}
	var conn net.Conn
	if s.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return classify(addr, err)
	}
	defer c.Close()
	if err := c.Hello(domainOf(s.from)); err != nil {
		return classify(addr, err)
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tls); err != nil {
				return fmt.Errorf("smtp %s: starttls: %w", addr, err)
			}
		} else if s.requireTLS || s.user != "" {
			return fmt.Errorf("smtp %s: the server does not offer STARTTLS", addr)
		}
	}
	if s.user != "" {
		_, mechs := c.Extension("AUTH")
		var a smtp.Auth = smtp.PlainAuth("", s.user, s.pass, s.host, false)
		if !strings.Contains(" "+mechs+" ", " PLAIN ") && strings.Contains(" "+mechs+" ", " LOGIN ") {
			a = smtp.LoginAuth(s.user, s.pass, s.host, false)
		}
		if err := c.Auth(a); err != nil {
			return classify(addr, err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return classify(addr, err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return classify(addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(addr, err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		return fmt.Errorf("smtp %s: write: %w", addr, err)
	}
	if err := commit(); err != nil {
		// Closing without the dot makes the server drop the message.
		return fmt.Errorf("record delivery: %w", err)
	}
	if err := w.Close(); err != nil {
		return classify(addr, err)
	}
	c.Quit()
	return nil
}

// classify makes an SMTP 5xx reply permanent.
func classify(addr string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &PermanentError{fmt.Errorf("smtp %s: %w", addr, err)}
	}
	return fmt.Errorf("smtp %s: %w", addr, err)
}

// DirSender writes each message as an .eml file (development).
type DirSender struct {
	dir, from string
}

// NewDirSender writes into dir, creating it.
func NewDirSender(dir, from string) (*DirSender, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mail: --mail-dir: %w", err)
	}
	return &DirSender{dir: dir, from: from}, nil
}

// Send writes the message to a temporary file and renames it into place,
// so a reader never sees half a message, then commits. (A crash between
// the rename and the commit writes the file again: this sender is for
// development.)
func (d *DirSender) Send(ctx context.Context, m store.Mail, commit func() error) error {
	msg, err := build(m, d.from, domainOf(d.from))
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("mail dir: write: %w", err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mail dir: %w", err)
	}
	name := filepath.Join(d.dir, fmt.Sprintf("%d-%d.eml", m.CreatedAt.UnixNano(), m.ID))
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	return commit()
}
