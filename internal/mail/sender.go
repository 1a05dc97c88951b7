package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, m store.Mail) error
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
	from string
	host string
	port int
	opts []gomail.Option
}

// NewSMTPSender parses smtp://user:pass@host:port (STARTTLS when the server
// offers it; ?starttls=required to insist) or smtps://... (implicit TLS).
// ?insecure_skip_verify=1 accepts any certificate: for development only.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: --smtp-url: %w", err)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("mail: --smtp-url %q: no host", redact(u))
	}
	q := u.Query()
	s := &SMTPSender{from: from, host: u.Hostname()}
	tlsConf := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if q.Get("insecure_skip_verify") == "1" || q.Get("insecure_skip_verify") == "true" {
		tlsConf.InsecureSkipVerify = true
	}
	s.opts = []gomail.Option{gomail.WithTimeout(15 * time.Second), gomail.WithTLSConfig(tlsConf), gomail.WithoutNoop()}
	switch u.Scheme {
	case "smtp":
		s.port = 587
		policy := gomail.TLSOpportunistic
		if q.Get("starttls") == "required" {
			policy = gomail.TLSMandatory
		}
		s.opts = append(s.opts, gomail.WithTLSPolicy(policy))
	case "smtps":
		s.port = 465
		s.opts = append(s.opts, gomail.WithSSL())
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
	s.opts = append(s.opts, gomail.WithPort(s.port))
	if u.User != nil {
		pw, _ := u.User.Password()
		s.opts = append(s.opts, gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw),
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
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

// Send delivers m in its own SMTP session. A 5xx answer is permanent.
func (s *SMTPSender) Send(ctx context.Context, m store.Mail) error {
	msg, err := build(m, s.from, domainOf(s.from))
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
			return &PermanentError{err}
		}
		return fmt.Errorf("smtp %s:%d: %w", s.host, s.port, err)
	}
	return nil
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
// so a reader never sees half a message.
func (d *DirSender) Send(ctx context.Context, m store.Mail) error {
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
	return nil
}
