package pages

import "time"

// Page is the data of every page. Handlers fill what the page needs; texts
// in Message and Errors are already localized.
type Page struct {
	Lang         string // language code; anything Match rejects renders as English
	BusinessName string // shown in the header and the <title> of every page
	CSRF         string // value of the hidden csrf input of every POST form

	Status  int      // HTTP-style status shown by the error page; defaults to Render's status
	Message string   // an already-localized notice or error
	Errors  []string // already-localized validation messages

	Email, Token string // prefilled email; reset or two-factor token carried in a hidden field

	LoginURL, ForgotURL, LogoutURL, AccountURL, ActionURL string

	User     *UserView     // the signed-in user (account page)
	Sessions []SessionView // the user's active sessions (account page)
	TOTPStep bool          // the login form asks for the two-factor code

	// SSO lists the business's identity providers on the sign-in page
	// (SPEC §8), each a link that starts its sign-in.
	SSO []SSOButton
}

// SSOButton is one identity provider's button on the sign-in page.
type SSOButton struct {
	Name, URL string
}

// UserView is who is signed in.
type UserView struct {
	Name, Email string
}

// SessionView is one portal session as listed on the account page. Times are
// shown in their own location; pass them in the zone the reader expects.
type SessionView struct {
	ID                    int64
	Device                string // a short description of the user agent; empty shows "Unknown device"
	ClientIP              string
	CreatedAt, LastSeenAt time.Time
	Current               bool // the session of this request
}

// Names lists the pages a Renderer can render.
func Names() []string {
	return []string{"error", "link_invalid", "login", "forgot", "new_password", "new_password_done", "account"}
}
