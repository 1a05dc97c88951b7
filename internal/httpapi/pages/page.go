package pages

import (
	"html/template"
	"time"
)

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

	// Passkeys and Security are the account page's passkey and two-factor
	// sections (SPEC §9); Passkey is the sign-in page's passkey button.
	Passkeys []PasskeyView
	Security *SecurityView
	Passkey  *PasskeySignInView
	// SSO lists the business's identity providers on the sign-in page
	// (SPEC §8), each a link that starts its sign-in.
	SSO []SSOButton
}

// PasskeyView is one passkey as listed on the account page.
type PasskeyView struct {
	ID                    int64
	Name                  string
	CreatedAt, LastUsedAt time.Time
	RenameURL, RemoveURL  string
}

// SecurityView is what the account page shows of two-factor sign-in and
// where its forms post.
type SecurityView struct {
	TOTPEnabled bool
	// SetupSecret and SetupQR (a data: URL of a PNG) show an enrolment in
	// progress; RecoveryCodes are shown once, RecoveryDownload is a data:
	// URL of them as a text file.
	SetupSecret      string
	SetupQR          template.URL
	RecoveryCodes    []string
	RecoveryDownload template.URL

	PasskeyBeginURL, PasskeyAddURL                                string
	TOTPStartURL, TOTPConfirmURL, TOTPRecoveryURL, TOTPDisableURL string
}

// CodeForm is one of the account page's forms that take a current code
// while two-factor is on; Button is the catalog key of its button.
type CodeForm struct {
	Action, ID, Button string
}

// CodeForms are the forms that regenerate the recovery codes and turn
// two-factor off, in that order.
func (v SecurityView) CodeForms() []CodeForm {
	return []CodeForm{
		{Action: v.TOTPRecoveryURL, ID: "recovery-code", Button: "page.account.recovery_regenerate"},
		{Action: v.TOTPDisableURL, ID: "disable-code", Button: "page.account.totp_disable"},
	}
}

// PasskeySignInView is where the sign-in page's passkey script fetches
// options and posts the assertion.
type PasskeySignInView struct {
	BeginURL, ActionURL string
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
