package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Operator is who acts in the operator console (SPEC §10): an administrator
// on the system host (Scope nil: every business), or a User-Edit holder on
// its business's tenant host (Scope: that business only).
type Operator struct {
	User  store.User
	Scope *store.Business
}

// Admin reports whether the operator acts for every business.
func (o Operator) Admin() bool { return o.Scope == nil }

// ConsoleSessionTTL is how long a system-host console session lasts.
const ConsoleSessionTTL = 12 * time.Hour

// ErrSecondFactorRequired: an administrator without TOTP may not open the
// console (SPEC §10).
var ErrSecondFactorRequired = errors.New("auth: an administrator needs a second factor for the console")

// ConsoleOperator decides whether the signed-in session ps may open the
// console. On the system host (b nil) only an administrator with TOTP, whose
// session was opened by the console sign-in (business 0, which only that
// form creates, and only after the second factor); on a tenant host only a
// User-Edit holder with a profile there. An administrator on a tenant host
// is sent to the system host: a portal session may come from a magic link,
// which proves no second factor.
func (s *Service) ConsoleOperator(ps PortalSession, b *store.Business) (Operator, error) {
	u := ps.User
	if b == nil {
		if !u.IsAdmin || ps.Session.BusinessID != 0 {
			return Operator{}, ErrForbidden
		}
		if !s.now().Before(ps.Session.CreatedAt.Add(ConsoleSessionTTL)) {
			// An administrator's console session is a working day, not
			// the portal's two weeks: sign in again, with the second factor.
			return Operator{}, ErrNoSession
		}
		if u.TOTPSecret == "" {
			return Operator{}, ErrSecondFactorRequired
		}
		return Operator{User: u}, nil
	}
	if u.IsAdmin || !u.HasRole(RoleUserEdit) || !u.InBusiness(b.ID) {
		return Operator{}, ErrForbidden
	}
	return Operator{User: u, Scope: b}, nil
}

// ConsoleSignIn is the system host's console sign-in: email, password and,
// always, a TOTP code, for administrators only. It returns the pending step
// (*TwoFactorPending) after a right password, like the portal form; the
// step is finished with PortalTwoFactorSignIn at business 0. Anyone who is
// not an administrator gets ErrBadCredentials, as a wrong password would;
// an administrator without TOTP gets ErrSecondFactorRequired and no session.
func (s *Service) ConsoleSignIn(ctx context.Context, email, password string, c Client) error {
	a, u, err := s.passwordAttempt(ctx, email, password, c)
	if err != nil {
		return err
	}
	// A right password is no guess: its slot goes back, as in the portal
	// form; the sign-in itself is decided by the second factor's step.
	a.refund(ctx)
	if !u.IsAdmin {
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "signin.failure", UserID: u.ID, Detail: `{"reason":"console_not_admin"}`}, c); err != nil {
			return err
		}
		return ErrBadCredentials
	}
	if u.TOTPSecret == "" {
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "signin.failure", UserID: u.ID, Detail: `{"reason":"console_no_second_factor"}`}, c); err != nil {
			return err
		}
		return ErrSecondFactorRequired
	}
	if u.MustReset {
		return ErrMustReset
	}
	return s.beginTwoFactor(ctx, u, store.Business{}, c)
}

// ConsoleEndSession ends the console session (sign out of the console).
func (s *Service) ConsoleEndSession(ctx context.Context, ps PortalSession, c Client) error {
	return s.SignOut(ctx, ps, false, c)
}

// manageable: the SPEC §6 impersonation rule, the same for the console as
// for §3.2: an administrator may act on anyone; a User-Edit holder only on
// non-administrators of its business holding no role it lacks.
func (o Operator) manageable(u store.User) bool {
	if o.Admin() {
		return true
	}
	return !u.IsAdmin && u.InBusiness(o.Scope.ID) && rolesWithin(u, o.User)
}

// visible: what the operator may look at (its business's members).
func (o Operator) visible(u store.User) bool {
	return o.Admin() || u.InBusiness(o.Scope.ID)
}

// MemberQuery selects members in the console.
type MemberQuery struct {
	Text       string // substring of the email or name, case-insensitive
	BusinessID int64  // 0: every business the operator sees
}

// Member is a user as the console shows it.
type Member struct {
	User       store.User
	Manageable bool // the operator may act on this user
}

// ConsoleMembers lists the members the operator sees.
func (s *Service) ConsoleMembers(ctx context.Context, op Operator, q MemberQuery) ([]Member, error) {
	bid := q.BusinessID
	if !op.Admin() {
		bid = op.Scope.ID
	}
	users, err := s.users.ListUsers(ctx, bid)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	var out []Member
	for _, u := range users {
		if !op.visible(u) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(u.Email), text) && !strings.Contains(strings.ToLower(u.FullName), text) {
			continue
		}
		out = append(out, Member{User: u, Manageable: op.manageable(u)})
	}
	return out, nil
}

// MemberDetail is one member's page.
type MemberDetail struct {
	Member
	Sessions   []store.Session
	Businesses []store.Business
	// Identities are the member's federated links (SPEC §8) at providers
	// the operator sees.
	Identities []IdentityView
	// Passkeys are the member's passkeys (SPEC §9) at the relying parties
	// the operator sees: every one for an administrator, the scope
	// business's host for a User-Edit holder.
	Passkeys []store.Passkey
}

// IdentityView is one federated link as the console shows it.
type IdentityView struct {
	Provider, Kind, Subject, Email string
	LastUsedAt                     time.Time
}

// ConsoleMember returns user id as the operator may see it; a user outside
// the operator's business is ErrNotFound (a User-Edit holder learns
// nothing about other businesses).
func (s *Service) ConsoleMember(ctx context.Context, op Operator, id int64) (MemberDetail, error) {
	u, err := s.consoleUser(ctx, op, id, false)
	if err != nil {
		return MemberDetail{}, err
	}
	d := MemberDetail{Member: Member{User: u, Manageable: op.manageable(u)}}
	if d.Sessions, err = s.Sessions(ctx, u.ID); err != nil {
		return MemberDetail{}, err
	}
	for _, bid := range u.BusinessIDs {
		b, err := s.businesses.BusinessByID(ctx, bid)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return MemberDetail{}, fmt.Errorf("member businesses: %w", err)
		}
		if op.Admin() || b.ID == op.Scope.ID {
			d.Businesses = append(d.Businesses, b)
		}
	}
	links, err := s.federation.UserIdentities(ctx, u.ID)
	if err != nil {
		return MemberDetail{}, fmt.Errorf("member identities: %w", err)
	}
	for _, l := range links {
		p, err := s.federation.ProviderByID(ctx, l.ProviderID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return MemberDetail{}, fmt.Errorf("member identities: %w", err)
		}
		if op.Admin() || p.BusinessID == op.Scope.ID {
			d.Identities = append(d.Identities, IdentityView{Provider: p.Name, Kind: p.Kind, Subject: l.Subject, Email: l.Email, LastUsedAt: l.LastUsedAt})
		}
	}
	if d.Passkeys, err = s.consolePasskeys(ctx, op, u.ID); err != nil {
		return MemberDetail{}, err
	}
	return d, nil
}

// consolePasskeys lists userID's passkeys at the relying parties op sees.
func (s *Service) consolePasskeys(ctx context.Context, op Operator, userID int64) ([]store.Passkey, error) {
	rp := ""
	if !op.Admin() && op.Scope != nil {
		rp = s.passkeyRP(*op.Scope).ID
	}
	list, err := s.passkeyDB.UserPasskeys(ctx, userID, rp)
	if err != nil {
		return nil, fmt.Errorf("member passkeys: %w", err)
	}
	for i := range list {
		list[i].Data = nil // the page shows names and dates only
	}
	return list, nil
}

// ConsoleRemovePasskey removes passkey pid of member id for op, audited
// as passkey.removed with op as the actor. A passkey op does not see (of
// another member, or at another business's host) is ErrNotFound.
func (s *Service) ConsoleRemovePasskey(ctx context.Context, op Operator, id, pid int64, c Client) error {
	u, err := s.consoleUser(ctx, op, id, true)
	if err != nil {
		return err
	}
	list, err := s.consolePasskeys(ctx, op, u.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(list, func(p store.Passkey) bool { return p.ID == pid }) {
		return ErrNotFound
	}
	bid := int64(0)
	if op.Scope != nil {
		bid = op.Scope.ID
	}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.DeletePasskey(ctx, u.ID, pid); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "passkey.removed", UserID: u.ID, BusinessID: bid, ActorID: op.User.ID,
			Detail: fmt.Sprintf(`{"via":"console","passkey":%d}`, pid)}, c)
	})
	if err != nil {
		return lookupErr(err, "console remove passkey")
	}
	return nil
}

// ConsoleProviders returns the identity providers (SPEC §8) of the
// businesses op sees, by business id. Secrets stay out: only the settings.
func (s *Service) ConsoleProviders(ctx context.Context, op Operator) (map[int64][]store.Provider, error) {
	bid := int64(0)
	if !op.Admin() {
		bid = op.Scope.ID
	}
	list, err := s.federation.ListProviders(ctx, bid)
	if err != nil {
		return nil, fmt.Errorf("console providers: %w", err)
	}
	out := map[int64][]store.Provider{}
	for _, p := range list {
		p.Secret = nil
		out[p.BusinessID] = append(out[p.BusinessID], p)
	}
	return out, nil
}

// consoleUser loads user id for op: ErrNotFound when op may not see it,
// ErrForbidden when act is asked and op may see but not act on it.
func (s *Service) consoleUser(ctx context.Context, op Operator, id int64, act bool) (store.User, error) {
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return store.User{}, lookupErr(err, fmt.Sprintf("console user %d", id))
	}
	if !op.visible(u) {
		return store.User{}, ErrNotFound
	}
	if act && !op.manageable(u) {
		return store.User{}, ErrForbidden
	}
	return u, nil
}

// MemberAction is one console action on a member.
type MemberAction string

const (
	ActionDisable      MemberAction = "disable"
	ActionEnable       MemberAction = "enable"
	ActionRequireReset MemberAction = "require-reset"
	ActionSendReset    MemberAction = "send-reset"
	ActionEndSessions  MemberAction = "end-sessions"
	// ActionRemovePasskey takes the passkey's id in the form field
	// "passkey" (ConsoleRemovePasskey).
	ActionRemovePasskey MemberAction = "remove-passkey"
)

// ConsoleAct applies action to user id for op, audited with op as the
// actor. Disable, require-reset and end-sessions end every credential of
// the user as the CLI's commands do (SPEC §6).
func (s *Service) ConsoleAct(ctx context.Context, op Operator, id int64, action MemberAction, lang string, c Client) error {
	u, err := s.consoleUser(ctx, op, id, true)
	if err != nil {
		return err
	}
	bid := int64(0)
	if op.Scope != nil {
		bid = op.Scope.ID
	}
	now := s.now().UTC()
	ev := store.AuditEvent{UserID: u.ID, BusinessID: bid, ActorID: op.User.ID, Detail: `{"via":"console"}`}
	var change func(q store.Queries) error
	switch action {
	case ActionDisable, ActionEnable:
		active := action == ActionEnable
		ev.Type = "user.enabled"
		if !active {
			ev.Type = "user.disabled"
		}
		change = func(q store.Queries) error {
			if err := q.SetUserActive(ctx, u.ID, active, now); err != nil {
				return err
			}
			if !active {
				if err := q.SpendResetTokens(ctx, u.ID, now); err != nil {
					return err
				}
			}
			return endCredentials(ctx, q, u.ID, now)
		}
	case ActionRequireReset:
		ev.Type = "user.reset_required"
		change = func(q store.Queries) error {
			if err := q.SetMustReset(ctx, u.ID, true); err != nil {
				return err
			}
			return endCredentials(ctx, q, u.ID, now)
		}
	case ActionEndSessions:
		ev.Type = "session.ended"
		ev.Detail = `{"via":"console","scope":"everywhere"}`
		change = func(q store.Queries) error { return endCredentials(ctx, q, u.ID, now) }
	case ActionSendReset:
		req := ResetRequest{Business: op.Scope, Lang: lang, Email: u.Email, Client: c}
		if err := s.RequestPasswordReset(ctx, req); err != nil {
			return fmt.Errorf("send reset: %w", err)
		}
		ev.Type = "reset.sent_by_operator"
		return s.audit(ctx, nil, ev, c)
	default:
		return FieldErrors{"action": {"invalid_request"}}
	}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := change(q); err != nil {
			return err
		}
		return s.audit(ctx, q, ev, c)
	})
	if err != nil {
		return fmt.Errorf("console %s: %w", action, err)
	}
	return nil
}

// ConsoleAddMember creates a user for op. A User-Edit holder adds only
// non-administrators to its own business, with roles it holds itself.
func (s *Service) ConsoleAddMember(ctx context.Context, op Operator, nu NewUser, c Client) (store.User, error) {
	if !op.Admin() {
		if nu.Admin {
			return store.User{}, ErrForbidden
		}
		for _, r := range nu.Roles {
			if !op.User.HasRole(r) {
				return store.User{}, ErrForbidden
			}
		}
		nu.BusinessSlugs = []string{op.Scope.Slug}
	}
	u, err := s.CreateUser(ctx, nu)
	if err != nil {
		return store.User{}, err
	}
	bid := int64(0)
	if op.Scope != nil {
		bid = op.Scope.ID
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "user.created", UserID: u.ID, BusinessID: bid, ActorID: op.User.ID, Detail: `{"via":"console"}`}, c); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// ConsoleAudit lists audit events for op, newest first; a User-Edit holder
// sees only its business's events.
func (s *Service) ConsoleAudit(ctx context.Context, op Operator, f store.AuditFilter) ([]store.AuditEvent, error) {
	if !op.Admin() {
		f.BusinessID = op.Scope.ID
	}
	f.NewestFirst = true
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	list, err := s.audits.ListAudit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("console audit: %w", err)
	}
	return list, nil
}

// ConsoleBusinesses lists the businesses op sees.
func (s *Service) ConsoleBusinesses(ctx context.Context, op Operator) ([]store.Business, error) {
	if !op.Admin() {
		return []store.Business{*op.Scope}, nil
	}
	list, err := s.businesses.ListBusinesses(ctx)
	if err != nil {
		return nil, fmt.Errorf("console businesses: %w", err)
	}
	return list, nil
}

// ConsoleAddBusiness creates a business (administrators only).
func (s *Service) ConsoleAddBusiness(ctx context.Context, op Operator, nb NewBusiness, supported func(string) bool, c Client) (store.Business, error) {
	if !op.Admin() {
		return store.Business{}, ErrForbidden
	}
	b, err := s.CreateBusiness(ctx, nb, supported)
	if err != nil {
		return store.Business{}, err
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "business.created", BusinessID: b.ID, ActorID: op.User.ID, Detail: `{"via":"console"}`}, c); err != nil {
		return store.Business{}, err
	}
	return b, nil
}

// BusinessSettings are what the console edits of a business (the slug,
// which names its tenant host, stays).
type BusinessSettings struct {
	Name, Language, Domain string
	HideUnknownEmails      bool
}

// ConsoleUpdateBusiness changes business id's settings (administrators
// only), checked as CreateBusiness checks them, and audits it.
func (s *Service) ConsoleUpdateBusiness(ctx context.Context, op Operator, id int64, bs BusinessSettings, supported func(string) bool, c Client) (store.Business, error) {
	if !op.Admin() {
		return store.Business{}, ErrForbidden
	}
	b, err := s.businesses.BusinessByID(ctx, id)
	if err != nil {
		return store.Business{}, lookupErr(err, "update business")
	}
	bs.Name = strings.TrimSpace(bs.Name)
	bs.Domain = strings.ToLower(strings.TrimSpace(bs.Domain))
	fe := FieldErrors{}
	businessProblems(fe, bs.Name, bs.Language, bs.Domain, supported)
	if len(fe) > 0 {
		return store.Business{}, fe
	}
	b.Name, b.Language, b.Domain, b.HideUnknownEmails = bs.Name, bs.Language, bs.Domain, bs.HideUnknownEmails
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.UpdateBusiness(ctx, b); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "business.updated", BusinessID: b.ID, ActorID: op.User.ID, Detail: `{"via":"console"}`}, c)
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Business{}, ErrSlugTaken
	}
	if err != nil {
		return store.Business{}, fmt.Errorf("update business: %w", err)
	}
	return b, nil
}

// ConsoleImport imports users for op (administrators only) and audits it.
func (s *Service) ConsoleImport(ctx context.Context, op Operator, rows []ImportRow, o ImportOptions, c Client) (ImportResult, error) {
	if !op.Admin() {
		return ImportResult{}, ErrForbidden
	}
	res, err := s.ImportUsers(ctx, rows, o)
	if err != nil {
		return res, err
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "users.imported", ActorID: op.User.ID,
		Detail: fmt.Sprintf(`{"via":"console","imported":%d,"refused":%d}`, res.Imported, len(res.Refused))}, c); err != nil {
		return res, err
	}
	return res, nil
}

// ConsoleRotateKeys runs rotate (the key ring's) for op (administrators
// only) and audits it with the new key id.
func (s *Service) ConsoleRotateKeys(ctx context.Context, op Operator, rotate func(context.Context) (string, error), c Client) (string, error) {
	if !op.Admin() {
		return "", ErrForbidden
	}
	kid, err := rotate(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate keys: %w", err)
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "keys.rotated", ActorID: op.User.ID, Detail: `{"via":"console","kid":` + quote(kid) + `}`}, c); err != nil {
		return kid, err
	}
	return kid, nil
}
