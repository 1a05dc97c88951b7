package store

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// EmailKey is the identity of an email address (SPEC §7): trimmed,
// NFC-normalized and case-folded, so that "José@x" typed as one code point
// or as "e" plus a combining accent, in any case, is one account. Folding
// can un-normalize, so the result is normalized again.
func EmailKey(email string) string {
	s := norm.NFC.String(strings.TrimSpace(email))
	return norm.NFC.String(cases.Fold().String(s))
}
