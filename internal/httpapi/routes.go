package httpapi

import (
	"net/http"
	"strings"

	"github.com/spaceauth/spaceauth/internal/i18n"
)

// routes is every route of the service, in one place (SPEC §3, §7).
// normalize has already folded trailing slashes and the seed's
// un-prefixed /sys/... spelling onto these paths.
func (s *Server) routes() {
	m := s.mux
	// Each route names its surface, the column of classify's table its
	// failures are answered from (errors.go).
	token := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler { return s.api(onToken, fn) }
	caller := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler { return s.api(onCaller, fn) }
	console := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler { return s.host(s.html(fn)) }
	// §3.1 a token from email and password
	m.Handle("POST /api/sys/users/token", token(s.handleSignIn))
	// §3.2 a token for user {id}, asked by an API user
	m.Handle("GET /api/sys/users/{id}/token/refresh", token(s.handleImpersonate))
	m.Handle("POST /api/sys/users/{id}/token/refresh", token(s.handleImpersonate))
	// §3.4 password reset, on the system host and on tenant hosts
	resetRequest := s.api(onResetRequest, s.handleResetRequest)
	m.Handle("POST /api/sys/users/resetPassword", resetRequest)
	m.Handle("GET /{language}/user/resetPassword", s.tenant(resetRequest))
	m.Handle("POST /{language}/user/resetPassword", s.tenant(resetRequest))
	m.Handle("GET /{language}/user/newPassword", s.tenant(s.html(s.handleNewPasswordForm)))
	m.Handle("POST /{language}/user/newPassword", s.cop.Handler(s.tenant(s.formPost(s.handleNewPassword))))
	// §5.1 OAuth2 token endpoint
	m.Handle("POST /api/token", s.api(onOAuth, s.handleOAuthToken))
	// §5.3 one-time tokens; §5.4 reset through the API
	// The portal itself calls both with GET (SPEC §5.8).
	m.Handle("GET /api/sys/users/exchange", token(s.handleExchange))
	m.Handle("POST /api/sys/users/exchange", token(s.handleExchange))
	m.Handle("GET /api/sys/users/token/refresh", caller(s.handleLinkToken))
	m.Handle("POST /api/sys/users/token/refresh", caller(s.handleLinkToken))
	m.Handle("POST /api/sys/users/startPasswordReset", token(s.handleStartReset))
	m.Handle("POST /api/sys/users/completePasswordReset", s.api(onResetComplete, s.handleCompleteReset))
	// §5.2 two-factor enrolment for the signed-in (bearer) user
	m.Handle("POST /api/sys/users/me/totp", caller(s.handleTOTPStart))
	m.Handle("POST /api/sys/users/me/totp/confirm", caller(s.handleTOTPConfirm))
	m.Handle("DELETE /api/sys/users/me/totp", caller(s.handleTOTPDisable))
	// §5.7 revocation and introspection for resource servers
	m.Handle("POST /api/oauth/revoke", caller(s.handleRevoke))
	m.Handle("POST /api/oauth/introspect", caller(s.handleIntrospect))
	// §5.5 passwordless sign-in codes
	m.Handle("GET /api/sys/users/sendOtp", token(s.handleSendCode))
	m.Handle("POST /api/sys/users/verifyOtp", s.api(onCode, s.handleVerifyCode))
	// §3.3 portal sign-in by token; §5.6 the portal pages
	m.Handle("GET /{language}/user/login", s.tenant(s.html(s.handleLogin)))
	m.Handle("POST /{language}/user/login", s.cop.Handler(s.tenant(s.formPost(s.handleLoginForm))))
	m.Handle("GET /{language}/user/forgot", s.tenant(s.html(s.handleForgotForm)))
	m.Handle("POST /{language}/user/forgot", s.cop.Handler(s.tenant(s.formPost(s.handleForgot))))
	m.Handle("GET /{language}/user/account", s.tenant(s.html(s.handleAccount)))
	m.Handle("GET /{language}/user/me", s.tenant(s.api(onMe, s.handleMe)))
	// §5.8 the rest of the recorded Nexudus user surface
	m.Handle("POST /api/sys/users/validate", token(s.handleValidate))
	m.Handle("GET /{language}/user/exists", s.tenant(token(s.handleUserExists)))
	m.Handle("GET /api/sys/businesses/getByHost", token(s.handleBusinessByHost))
	m.Handle("POST /{language}/user/logout", s.cop.Handler(s.tenant(s.formPost(s.handleLogout))))
	// §8 federated sign-in: a provider's button, and the redirect URI
	// registered at providers (language-free, on the tenant host)
	m.Handle("GET /{language}/user/sso/{id}", s.tenant(s.html(s.handleSSOStart)))
	m.Handle("GET /sso/callback", s.tenantHost(s.html(s.handleSSOCallback)))
	// §10 the operator console: the system host (console cookie) and tenant
	// hosts (the portal session of a User-Edit holder). Every POST passes
	// CrossOriginProtection and the CSRF double-submit check.
	m.Handle("GET /admin", console(s.console.Home))
	m.Handle("GET /admin/login", console(s.console.LoginPage))
	m.Handle("POST /admin/login", s.cop.Handler(console(s.console.Login)))
	m.Handle("POST /admin/logout", s.cop.Handler(console(s.console.Logout)))
	m.Handle("GET /admin/members", console(s.console.Members))
	m.Handle("POST /admin/members", s.cop.Handler(console(s.console.AddMember)))
	m.Handle("GET /admin/members/new", console(s.console.NewMemberForm))
	m.Handle("GET /admin/members/{id}", console(s.console.Member))
	m.Handle("POST /admin/members/{id}/{action}", s.cop.Handler(console(s.console.MemberAction)))
	m.Handle("GET /admin/businesses", console(s.console.Businesses))
	m.Handle("POST /admin/businesses", s.cop.Handler(console(s.console.AddBusiness)))
	m.Handle("POST /admin/businesses/{id}", s.cop.Handler(console(s.console.UpdateBusiness)))
	m.Handle("GET /admin/audit", console(s.console.Audit))
	m.Handle("GET /admin/import", console(s.console.ImportForm))
	m.Handle("POST /admin/import", s.cop.Handler(console(s.console.Import)))
	m.Handle("GET /admin/import/{job}", console(s.console.ImportStatus))
	m.Handle("GET /admin/keys", console(s.console.Keys))
	m.Handle("POST /admin/keys/rotate", s.cop.Handler(console(s.console.RotateKeys)))
	// §9 passkeys: the JSON API (tenant hosts; the relying party is the host)
	m.Handle("POST /api/passkeys/signin/begin", s.tenantHost(token(s.handlePasskeySignInBegin)))
	m.Handle("POST /api/passkeys/signin/finish", s.tenantHost(token(s.handlePasskeySignInFinish)))
	m.Handle("GET /api/sys/users/me/passkeys", s.tenantHost(caller(s.handlePasskeyList)))
	m.Handle("POST /api/sys/users/me/passkeys/register/begin", s.tenantHost(caller(s.handlePasskeyRegisterBegin)))
	m.Handle("POST /api/sys/users/me/passkeys/register/finish", s.tenantHost(caller(s.handlePasskeyRegisterFinish)))
	m.Handle("PATCH /api/sys/users/me/passkeys/{id}", s.tenantHost(caller(s.handlePasskeyRename)))
	m.Handle("DELETE /api/sys/users/me/passkeys/{id}", s.tenantHost(caller(s.handlePasskeyDelete)))
	// §9 passkeys and two-factor on the portal pages. A ceremony's first
	// half is fetched by passkey.js and answers JSON; its second half is a
	// form post whose failures are pages (the passkey body carries the
	// credential as JSON, so these check their own CSRF field).
	m.Handle("POST /{language}/user/passkey/begin", s.cop.Handler(s.tenant(token(s.handlePortalPasskeyBegin))))
	m.Handle("POST /{language}/user/passkey", s.cop.Handler(s.tenant(s.html(s.handlePortalPasskeySignIn))))
	m.Handle("POST /{language}/user/account/passkeys/begin", s.cop.Handler(s.tenant(token(s.handleAccountPasskeyBegin))))
	m.Handle("POST /{language}/user/account/passkeys", s.cop.Handler(s.tenant(s.html(s.handleAccountPasskeyAdd))))
	m.Handle("POST /{language}/user/account/passkeys/{id}/rename", s.cop.Handler(s.tenant(s.formPost(s.handleAccountPasskeyRename))))
	m.Handle("POST /{language}/user/account/passkeys/{id}/remove", s.cop.Handler(s.tenant(s.formPost(s.handleAccountPasskeyRemove))))
	m.Handle("POST /{language}/user/account/totp", s.cop.Handler(s.tenant(s.formPost(s.handleAccountTOTPStart))))
	m.Handle("POST /{language}/user/account/totp/confirm", s.cop.Handler(s.tenant(s.formPost(s.handleAccountTOTPConfirm))))
	m.Handle("POST /{language}/user/account/totp/recovery", s.cop.Handler(s.tenant(s.formPost(s.handleAccountTOTPRecovery))))
	m.Handle("POST /{language}/user/account/totp/disable", s.cop.Handler(s.tenant(s.formPost(s.handleAccountTOTPDisable))))
	// §4 keys; §7 operations
	m.Handle("GET /.well-known/jwks.json", token(s.handleJWKS))
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.Handle("GET /static/{file}", http.StripPrefix("/static/", s.pages.Static()))
	// Everything else: 405 with Allow when the path exists, else 404.
	m.Handle("/", token(s.handleNoRoute))
}

var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// handleNoRoute tells a wrong method (405 + Allow) from an unknown path.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// A tenant's portal root is its sign-in page, in the business's
		// language (issue #15.3); the system host's root stays a 404.
		if b, err := s.auth.BusinessForHost(r.Context(), r.Host); err == nil {
			lang, ok := i18n.Match(b.Language)
			if !ok {
				lang = i18n.Fallback
			}
			http.Redirect(w, r, "/"+lang+"/user/login", http.StatusFound)
			return nil
		}
	}
	var allow []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errMethodNotAllowed
	}
	return errNoRoute
}
