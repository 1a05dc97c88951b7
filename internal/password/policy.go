package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// commonList is the bundled list (see README.md for its origin). It is an
// immutable embedded string; the set built from it lives in each Policy.
//
//go:embed common-passwords.txt
var commonList string

// Reasons a password is refused. Each is also the i18n message key the
// caller shows.
const (
	ReasonTooShort = "password_too_short"
	ReasonTooLong  = "password_too_long"
	ReasonCommon   = "password_common"
	ReasonIsEmail  = "password_is_email"
)

// PolicyError says why a new password was refused. Reason is one of the
// Reason constants.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string {
	switch e.Reason {
	case ReasonTooShort:
		return "password: shorter than the minimum length"
	case ReasonTooLong:
		return "password: longer than the maximum length"
	case ReasonCommon:
		return "password: among the most common passwords"
	case ReasonIsEmail:
		return "password: the same as the email address"
	}
	return "password: refused (" + e.Reason + ")"
}

// Policy is what a new password must meet (SPEC §6). Lengths count Unicode
// code points. The common-password set is built on first use (or by
// DefaultPolicy), so a Policy written as a literal works too. A Policy must
// not be copied after first use.
type Policy struct {
	MinLen, MaxLen int

	once   sync.Once
	common map[string]struct{}
}

// DefaultPolicy returns SPEC §6's policy, 8 to 256 characters, with the
// common-password set already built.
func DefaultPolicy() *Policy {
	p := &Policy{MinLen: 8, MaxLen: 256}
	p.load()
	return p
}

// NewPolicy is DefaultPolicy for callers that expect an error result; the
// list is embedded and cannot fail to load, so the error is always nil.
func NewPolicy() (*Policy, error) { return DefaultPolicy(), nil }

// load builds the set from the embedded list once per Policy.
func (p *Policy) load() {
	p.once.Do(func() {
		p.common = make(map[string]struct{}, 10000)
		for line := range strings.Lines(commonList) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			p.common[strings.ToLower(line)] = struct{}{}
		}
	})
}

// CommonCount is the number of passwords in the bundled list.
func (p *Policy) CommonCount() int {
	p.load()
	return len(p.common)
}

// Check returns nil or a *PolicyError. The length is checked first so that
// the cheaper, more useful message wins; an empty email skips the email
// rule.
func (p *Policy) Check(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLen:
		return &PolicyError{Reason: ReasonTooShort}
	case p.MaxLen > 0 && n > p.MaxLen:
		return &PolicyError{Reason: ReasonTooLong}
	}
	lower := strings.ToLower(password)
	if email = strings.ToLower(strings.TrimSpace(email)); email != "" {
		local, _, _ := strings.Cut(email, "@")
		if lower == email || lower == local {
			return &PolicyError{Reason: ReasonIsEmail}
		}
	}
	p.load()
	if _, ok := p.common[lower]; ok {
		return &PolicyError{Reason: ReasonCommon}
	}
	return nil
}
