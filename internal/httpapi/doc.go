// Package httpapi is spaceauth's HTTP surface: every route (routes.go), the
// Nexudus-compatible input parser (decode.go), the envelope, the one table
// that turns errors into statuses (errors.go), middleware and the
// server-rendered portal pages.
package httpapi
