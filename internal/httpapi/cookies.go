package httpapi

// The cookies the portal sets (the passkey ceremony's is in passkey.go).
const (
	// csrfCookie holds the double-submit CSRF token (csrf.go).
	csrfCookie = "spaceauth_csrf"
	// sessionCookie holds a portal session (portal.go).
	sessionCookie = "spaceauth_session"
	// ssoCookie binds an OpenID Connect flow to the browser that started
	// it; it is sent only to the callback (sso.go).
	ssoCookie = "spaceauth_sso"
)
