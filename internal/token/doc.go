// Package token issues and verifies spaceauth's access tokens: JWTs signed
// with Ed25519 (or RS256) by keys kept in the database, their private
// halves sealed with AES-256-GCM under an HKDF-SHA256 key from the
// configured key-encryption secret when one is given, and published as a
// JWKS. Verification pins the algorithm to the key the kid names and allows
// ten seconds of clock skew; revocation is the caller's business (it needs
// the user), this package checks signature, algorithm, issuer and time.
package token
