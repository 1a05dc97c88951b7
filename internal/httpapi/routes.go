package httpapi

import (
	"net/http"
	"strings"
)

// routes is every route of the service, in one place (SPEC §3, §7).
// normalize has already folded trailing slashes and the seed's
// un-prefixed /sys/... spelling onto these paths.
func (s *Server) routes() {
	m := s.mux
	// §3.1 a token from email and password
	m.HandleFunc("POST /api/sys/users/token", s.handleSignIn)
	// §3.2 a token for user {id}, asked by an API user
	m.HandleFunc("GET /api/sys/users/{id}/token/refresh", s.handleImpersonate)
	m.HandleFunc("POST /api/sys/users/{id}/token/refresh", s.handleImpersonate)
	// §3.4 password reset, on the system host and on tenant hosts
	m.HandleFunc("POST /api/sys/users/resetPassword", s.handleResetRequest)
	m.Handle("GET /{language}/user/resetPassword", s.tenant(s.handleResetRequest))
	m.Handle("POST /{language}/user/resetPassword", s.tenant(s.handleResetRequest))
	m.Handle("GET /{language}/user/newPassword", s.tenant(s.handleNewPasswordForm))
	m.Handle("POST /{language}/user/newPassword", s.cop.Handler(s.tenant(s.handleNewPassword)))
	// §5.1 OAuth2 token endpoint
	m.HandleFunc("POST /api/token", s.handleOAuthToken)
	// §5.3 one-time tokens; §5.4 reset through the API
	// The portal itself calls both with GET (SPEC §5.8).
	m.HandleFunc("GET /api/sys/users/exchange", s.handleExchange)
	m.HandleFunc("POST /api/sys/users/exchange", s.handleExchange)
	m.HandleFunc("GET /api/sys/users/token/refresh", s.handleLinkToken)
	m.HandleFunc("POST /api/sys/users/token/refresh", s.handleLinkToken)
	m.HandleFunc("POST /api/sys/users/startPasswordReset", s.handleStartReset)
	m.HandleFunc("POST /api/sys/users/completePasswordReset", s.handleCompleteReset)
	// §5.2 two-factor enrolment for the signed-in (bearer) user
	m.HandleFunc("POST /api/sys/users/me/totp", s.handleTOTPStart)
	m.HandleFunc("POST /api/sys/users/me/totp/confirm", s.handleTOTPConfirm)
	m.HandleFunc("DELETE /api/sys/users/me/totp", s.handleTOTPDisable)
	// §5.7 revocation and introspection for resource servers
	m.HandleFunc("POST /api/oauth/revoke", s.handleRevoke)
	m.HandleFunc("POST /api/oauth/introspect", s.handleIntrospect)
	// §5.5 passwordless sign-in codes
	m.HandleFunc("GET /api/sys/users/sendOtp", s.handleSendCode)
	m.HandleFunc("POST /api/sys/users/verifyOtp", s.handleVerifyCode)
	// §3.3 portal sign-in by token; §5.6 the portal pages
	m.Handle("GET /{language}/user/login", s.tenant(s.handleLogin))
	m.Handle("POST /{language}/user/login", s.cop.Handler(s.tenant(s.handleLoginForm)))
	m.Handle("GET /{language}/user/forgot", s.tenant(s.handleForgotForm))
	m.Handle("POST /{language}/user/forgot", s.cop.Handler(s.tenant(s.handleForgot)))
	m.Handle("GET /{language}/user/account", s.tenant(s.handleAccount))
	m.Handle("GET /{language}/user/me", s.tenant(s.handleMe))
	// §5.8 the rest of the recorded Nexudus user surface
	m.HandleFunc("POST /api/sys/users/validate", s.handleValidate)
	m.Handle("GET /{language}/user/exists", s.tenant(s.handleUserExists))
	m.HandleFunc("GET /api/sys/businesses/getByHost", s.handleBusinessByHost)
	m.Handle("POST /{language}/user/logout", s.cop.Handler(s.tenant(s.handleLogout)))
	// §4 keys; §7 operations
	m.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.Handle("GET /static/{file}", http.StripPrefix("/static/", s.pages.Static()))
	// Everything else: 405 with Allow when the path exists, else 404.
	m.HandleFunc("/", s.handleNoRoute)
}

var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// handleNoRoute tells a wrong method (405 + Allow) from an unknown path.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
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
		s.fail(w, r, errMethodNotAllowed)
		return
	}
	s.notFoundAnswer(w, r)
}

func (s *Server) notFoundAnswer(w http.ResponseWriter, r *http.Request) {
	if wantsHTML(r) {
		s.failPage(w, r, errNoRoute)
		return
	}
	s.fail(w, r, errNoRoute)
}
