// Package passkey runs WebAuthn ceremonies (SPEC §9) over
// github.com/go-webauthn/webauthn: it makes the options a browser or app
// needs and verifies what comes back, per relying party (a tenant host).
// It stores nothing and decides nothing about accounts: auth keeps the
// records and decides what a verified assertion is worth.
package passkey
