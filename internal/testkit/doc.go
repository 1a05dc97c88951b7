// Package testkit holds the small pieces that the tests of several packages
// need alike: a free local port, a certificate authority for TLS servers,
// a buffer that logs can be written to from other goroutines, and a clock
// that tests move by hand. Only tests and test servers import it.
package testkit
