package main

import (
	"fmt"
	"strings"
	"unicode"
)

// safe makes text from the database harmless on a terminal: control
// characters (escape sequences, carriage returns, newlines that forge
// rows) and bidirectional overrides are written as \xNN or \uNNNN escapes,
// so a hostile name can neither rewrite the screen nor fake a line
// (issue #18.6). Other text is unchanged.
func safe(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// unsafeRune: C0 and C1 controls, DEL, and the bidirectional embedding,
// override and isolate characters that reorder what follows them.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}
