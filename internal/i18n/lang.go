package i18n

import "strings"

// Fallback is the language used when nothing better is known.
const Fallback = "en"

// supported lists the languages in a stable order; English first.
func supported() [8]string {
	return [8]string{"en", "es", "fr", "de", "it", "pt", "nl", "ca"}
}

// Supported returns the supported language codes, English first. The slice
// is fresh on every call, so callers may keep or change it.
func Supported() []string {
	s := supported()
	return s[:]
}

// isSupported reports whether code is exactly one of the supported languages.
func isSupported(code string) bool {
	for _, l := range supported() {
		if l == code {
			return true
		}
	}
	return false
}

// Match interprets a {language} path segment (SPEC §1). It is strict: a
// lowercase two-letter code from the supported set, optionally followed by
// a lowercase region ("pt-br", "en-gb") or a three-digit UN M.49 region
// ("es-419"), which falls back to its language. Anything else — upper case,
// underscores, unknown languages, extra subtags — is not ok.
func Match(pathSegment string) (lang string, ok bool) {
	base, region, hasRegion := strings.Cut(pathSegment, "-")
	if !isSupported(base) {
		return "", false
	}
	if hasRegion && !isRegion(region) {
		return "", false
	}
	return base, true
}

// isRegion reports whether s is a lowercase two-letter or a three-digit
// region subtag.
func isRegion(s string) bool {
	switch len(s) {
	case 2:
		return isLower(s[0]) && isLower(s[1])
	case 3:
		return isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2])
	}
	return false
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// maxAcceptLanguage bounds the work done on one header; real browsers send
// well under 200 bytes.
const maxAcceptLanguage = 4096

// FromAcceptLanguage picks the best supported language from an
// Accept-Language header (RFC 9110 §12.5.4): the entry with the highest
// q-value wins, earlier entries win ties, q=0 excludes, tags match on their
// primary subtag case-insensitively. Malformed entries are skipped; when
// nothing matches the result is "en".
func FromAcceptLanguage(header string) string {
	if len(header) > maxAcceptLanguage {
		header = header[:maxAcceptLanguage]
	}
	best, bestQ := Fallback, 0.0
	for entry := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(entry, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q, ok := qValue(params)
		if !ok || q <= bestQ {
			continue
		}
		primary, _, _ := strings.Cut(tag, "-")
		if isSupported(primary) {
			best, bestQ = primary, q
		}
	}
	return best
}

// qValue extracts the weight from the parameters of one Accept-Language
// entry ("q=0.8"); no q parameter means 1. ok is false for a malformed or
// out-of-range weight.
func qValue(params string) (q float64, ok bool) {
	q = 1
	if params == "" {
		return q, true
	}
	for p := range strings.SplitSeq(params, ";") {
		name, value, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		v, valid := parseWeight(strings.TrimSpace(value))
		if !valid {
			return 0, false
		}
		q = v
	}
	return q, true
}

// parseWeight parses a q-value exactly as RFC 9110 §12.4.2 spells it:
// "0" or "1", optionally followed by a dot and up to three digits, and never
// more than 1. Being strict keeps NaN, exponents and hex floats out.
func parseWeight(s string) (float64, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole, frac := int(s[0]-'0'), s[1:]
	if frac != "" {
		if frac[0] != '.' {
			return 0, false
		}
		frac = frac[1:]
	}
	thousandths, scale := 0, 100
	for i := 0; i < len(frac); i++ {
		if !isDigit(frac[i]) {
			return 0, false
		}
		thousandths += int(frac[i]-'0') * scale
		scale /= 10
	}
	if whole == 1 && thousandths != 0 {
		return 0, false
	}
	return float64(whole*1000+thousandths) / 1000, true
}
