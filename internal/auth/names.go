package auth

import (
	"unicode"
	"unicode/utf8"
)

// nameProblem says why s cannot be a user, business or role name, or ""
// when it can (SPEC §6: names refuse control characters). A name ends up
// in email headers and bodies and on the operator's terminal, where a
// newline forges a line or breaks a header and an escape sequence rewrites
// the screen; bidirectional overrides reorder what a reader sees.
func nameProblem(s string) string {
	if s == "" || len(s) > 200 {
		return "a name is 1-200 characters"
	}
	if !utf8.ValidString(s) {
		return "a name must be valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return "a name must not contain control characters"
		}
	}
	return ""
}
