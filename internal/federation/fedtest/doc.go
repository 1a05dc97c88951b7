// Package fedtest starts the real identity providers the federation tests
// sign in at, each as its own process: an OpenID provider built from
// zitadel/oidc's certified example server (./oidcop) and OpenLDAP's slapd
// with a generated configuration, a test certificate and a small directory.
// Test-only: nothing of the spaceauth binary imports it.
package fedtest
