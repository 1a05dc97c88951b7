package mail

import (
	"context"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Sender delivers one message and returns nil only once the receiver has
// accepted it (for SMTP: the answer to the final "." of DATA). The worker
// records the delivery after that, so a refusal at the dot is retried and
// never lost; a process that dies between the acceptance and the record
// sends the message once more after its lease (docs/security.md).
//
// An error wrapping *PermanentError means retrying cannot help; any other
// error is temporary.
type Sender interface {
	Send(ctx context.Context, m store.Mail) error
}

// PermanentError marks a failure that retrying cannot fix: an SMTP 5xx
// answer about the message itself (RCPT, DATA) or an unusable recipient.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// sender is the configured From address of an installation and the host
// its Message-IDs are made under.
type sender struct {
	from   string // bare address
	idHost string
}

// newSenderAddress checks the configured From address; a display name in
// it is dropped (each message carries its business's name instead).
func newSenderAddress(from string) (sender, error) {
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return sender{}, fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	return sender{from: a.Address, idHost: domainOf(a.Address)}, nil
}

// envelopeRecipient is the bare address of m.To, for RCPT TO.
func envelopeRecipient(to string) (string, error) {
	a, err := netmail.ParseAddress(to)
	if err != nil {
		return "", &PermanentError{fmt.Errorf("recipient %q: %w", to, err)}
	}
	return a.Address, nil
}

// messageID derives the Message-ID from the outbox row, so a retried
// message keeps its identity. The creation time keeps ids unique across
// databases that reuse row ids (a restored backup, a fresh install on the
// same domain).
func (s sender) messageID(m store.Mail) string {
	return fmt.Sprintf("outbox-%d-%d@%s", m.ID, m.CreatedAt.UnixNano(), s.idHost)
}

// build turns an outbox row into a MIME message: text only, or
// multipart/alternative text and HTML.
func (s sender) build(m store.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	// The display name is a business's name: one stored with a newline
	// (before names refused control characters) must not fail every mail
	// of that business forever (issue #10.9).
	if err := msg.FromFormat(displayName(m.FromName), s.from); err != nil {
		return nil, fmt.Errorf("from %q <%s>: %w", m.FromName, s.from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, &PermanentError{fmt.Errorf("recipient %q: %w", m.To, err)}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(s.messageID(m))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// displayName is name on one line without control characters.
func displayName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)
	return strings.Join(strings.Fields(name), " ")
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "localhost"
}
