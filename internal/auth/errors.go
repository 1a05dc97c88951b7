package auth

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Sentinel errors; httpapi/errors.go maps each to its status and envelope.
var (
	ErrBadCredentials   = errors.New("auth: bad credentials")
	ErrNoCredentials    = errors.New("auth: no credentials")
	ErrForbidden        = errors.New("auth: forbidden")
	ErrNotFound         = errors.New("auth: not found")
	ErrLinkInvalid      = errors.New("auth: sign-in link invalid or expired")
	ErrResetInvalid     = errors.New("auth: reset token invalid or expired")
	ErrNoSession        = errors.New("auth: no session")
	ErrBusy             = errors.New("auth: hashing pool full")
	ErrEmailTaken       = errors.New("auth: email already in use")
	ErrSlugTaken        = errors.New("auth: slug or domain already in use")
	ErrUnknownBusiness  = errors.New("auth: unknown business")
	ErrTwoFactorNeeded  = errors.New("auth: two-factor code required")
	ErrTwoFactorInvalid = errors.New("auth: two-factor code invalid")
	ErrMustReset        = errors.New("auth: password must be reset")
	// ErrNotMember is a right password at a business where the user has no
	// profile. It is an ErrBadCredentials everywhere but the portal's form,
	// which tells the person (who knows the password) why (issue #15.5).
	ErrNotMember = fmt.Errorf("%w: no profile at this business", ErrBadCredentials)
)

// FieldErrors is a validation failure: field name -> i18n message keys.
type FieldErrors map[string][]string

func (f FieldErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("auth: invalid input:")
	for _, k := range keys {
		b.WriteString(" " + k + "=" + strings.Join(f[k], ","))
	}
	return b.String()
}

// Add records message key msg against field.
func (f FieldErrors) Add(field, msg string) { f[field] = append(f[field], msg) }

// RateLimited is returned when a caller must wait before trying again.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string {
	return "auth: rate limited, retry after " + e.RetryAfter.String()
}
