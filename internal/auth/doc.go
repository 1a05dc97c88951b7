// Package auth is spaceauth's domain: password sign-in, impersonation,
// portal tokens and sessions, password reset. Plain Go values in, plain Go
// values and the sentinel errors of errors.go out; it knows nothing of HTTP.
package auth
