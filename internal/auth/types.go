package auth

import "github.com/spaceauth/spaceauth/internal/store"

// The records auth hands its callers (httpapi, the CLI) are part of auth's
// vocabulary: callers name them auth.User, auth.Business, auth.Session and auth.Passkey
// and import no storage package. They are aliases of the store's records,
// not copies: the fields are the same ones, and a copy would only add a
// conversion at every return without hiding anything (see
// docs/architecture.md). Should auth ever need to show less than the store
// keeps, these become auth's own types here and nothing above auth changes.
type (
	User     = store.User
	Business = store.Business
	Session  = store.Session
	Passkey  = store.Passkey
)

// ErrUnavailable is a storage failure (database down, disk full, read-only):
// never an authentication answer. auth wraps it on every path, so callers
// test for it with errors.Is without importing the store.
var ErrUnavailable = store.ErrUnavailable
