// Package token issues and verifies spaceauth's access tokens: JWTs signed
// with Ed25519 (or RS256) by keys kept in the database, optionally sealed
// with a key-encryption secret, and published as a JWKS. Revocation is the
// caller's business (it needs the user); this package checks signature,
// algorithm, issuer and time.
package token
