package password

import (
	"bufio"
	_ "embed"
	"strings"
	"unicode/utf8"
)

//go:embed common-passwords.txt
var commonList string

// PolicyError says why a new password was refused. Reason is an i18n
// message key: password_too_short, password_too_long, password_common or
// password_is_email.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string {
	switch e.Reason {
	case "password_too_short":
		return "password: shorter than the minimum length"
	case "password_too_long":
		return "password: longer than the maximum length"
	case "password_common":
		return "password: among the most common passwords"
	case "password_is_email":
		return "password: the same as the email address"
	}
	return "password: refused (" + e.Reason + ")"
}

// Policy is what a new password must meet (SPEC §6).
type Policy struct {
	MinLen, MaxLen int
	common         map[string]struct{}
}

// NewPolicy returns the default policy: 8 to 256 characters (code points),
// not the email address (nor its local part), not one of the 10,000 most
// common passwords (compared case-insensitively).
func NewPolicy() (*Policy, error) {
	p := &Policy{MinLen: 8, MaxLen: 256, common: make(map[string]struct{}, 10000)}
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p.common[line] = struct{}{}
	}
	return p, sc.Err()
}

// CommonCount is the number of passwords in the bundled list.
func (p *Policy) CommonCount() int { return len(p.common) }

// Check returns nil or a *PolicyError.
func (p *Policy) Check(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLen:
		return &PolicyError{Reason: "password_too_short"}
	case n > p.MaxLen:
		return &PolicyError{Reason: "password_too_long"}
	}
	lower := strings.ToLower(password)
	email = strings.ToLower(strings.TrimSpace(email))
	if email != "" {
		local, _, _ := strings.Cut(email, "@")
		if lower == email || lower == local {
			return &PolicyError{Reason: "password_is_email"}
		}
	}
	if _, ok := p.common[lower]; ok {
		return &PolicyError{Reason: "password_common"}
	}
	return nil
}
