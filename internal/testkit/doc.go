// Package testkit holds the small pieces that the tests of several packages
// need alike: a free local port, a certificate authority for TLS servers,
// and a buffer that logs can be written to from other goroutines. Only
// tests and test servers import it.
package testkit
