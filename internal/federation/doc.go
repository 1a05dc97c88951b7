// Package federation is the relying-party side of federated sign-in
// (SPEC §8): OpenID Connect (discovery, authorization code with PKCE, ID
// token verification) and LDAP password checks by bind. It knows nothing of
// HTTP handlers, users or sessions: auth decides what a verified identity is
// worth.
package federation
