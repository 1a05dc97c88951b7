package httpapi

// The cookies the portal sets.
const (
	// csrfCookie holds the double-submit CSRF token (csrf.go).
	csrfCookie = "spaceauth_csrf"
	// sessionCookie holds a portal session (portal.go).
	sessionCookie = "spaceauth_session"
	// ssoCookie binds an OpenID Connect flow to the browser that started
	// it; it is sent only to the callback (sso.go).
	ssoCookie = "spaceauth_sso"
	// webauthnCookie holds the handle of the passkey ceremony a browser
	// began, so that only that browser can finish it (SPEC §9, passkey.go).
	webauthnCookie = "spaceauth_webauthn"
)
