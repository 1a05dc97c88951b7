package httpapi

import (
	"net/url"
	"strings"
)

// maxRedirect is the longest redirectUrl honoured (SPEC §3.3).
const maxRedirect = 2048

// safeRedirect returns target when it is a same-site relative path per
// SPEC §3.3, else the default landing page of lang. The check runs on the
// value as received and once more percent-decoded, so that an encoded
// "//" or backslash cannot slip through a later decoding.
func safeRedirect(target, lang string) string {
	fallback := "/" + lang + "/user/account"
	if !relativePath(target) {
		return fallback
	}
	decoded, err := url.PathUnescape(target)
	if err != nil || !relativePath(decoded) {
		return fallback
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return target
}

func relativePath(p string) bool {
	if len(p) < 1 || len(p) > maxRedirect || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	if strings.ContainsRune(p, '\\') {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfffd {
			return false
		}
	}
	return true
}
