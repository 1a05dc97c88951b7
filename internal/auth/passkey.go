package auth

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spaceauth/spaceauth/internal/passkey"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// ErrPasskeyInvalid is a passkey ceremony that did not verify: an unknown,
// spent, expired or foreign challenge, an assertion that does not check
// out, an unknown or removed credential, or a user who may not sign in.
var ErrPasskeyInvalid = errors.New("auth: passkey invalid")

// passkeyCeremonyTTL bounds how long a challenge may wait for its answer.
const passkeyCeremonyTTL = 5 * time.Minute

// passkeyNameMax bounds a passkey's name, in characters.
const passkeyNameMax = 64

// PasskeyCeremony is a begun ceremony: Options go to
// navigator.credentials (they hold "publicKey"); Handle names the
// server-side challenge and must come back with the answer, from the same
// browser session or app that asked.
type PasskeyCeremony struct {
	Handle    string
	Options   json.RawMessage
	ExpiresAt time.Time
}

// passkeyRP is business b's WebAuthn relying party: its tenant host,
// and exactly the origin its portal is served from.
func (s *Service) passkeyRP(b store.Business) passkey.RP {
	host := b.Domain
	if host == "" {
		host = b.Slug + "." + s.opts.BaseDomain
	}
	return passkey.RP{ID: host, Origin: s.TenantURL(b), Name: b.Name}
}

// userHandle is the WebAuthn user handle of user id: its number, which the
// authenticator returns with every discoverable assertion.
func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (s *Service) passkeyAccount(u store.User, creds []store.Passkey) passkey.Account {
	a := passkey.Account{Handle: userHandle(u.ID), Name: u.Email, DisplayName: u.FullName}
	if a.DisplayName == "" {
		a.DisplayName = u.Email
	}
	for _, c := range creds {
		a.Credentials = append(a.Credentials, c.Data)
	}
	return a
}

// beginCeremony stores a ceremony's session record under a new handle.
func (s *Service) beginCeremony(ctx context.Context, kind string, userID int64, b store.Business, rp passkey.RP, options, session []byte) (PasskeyCeremony, error) {
	raw, hash, err := newSecret()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	now := s.now().UTC()
	ch := store.WebAuthnChallenge{Hash: hash, Kind: kind, UserID: userID, BusinessID: b.ID, RPID: rp.ID, Data: session,
		CreatedAt: now, ExpiresAt: now.Add(passkeyCeremonyTTL)}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		// Abandoned ceremonies are swept by every 64th begin, so the table
		// stays small without a background job or a delete per sign-in.
		if s.ceremonies.Add(1)%64 == 1 {
			if err := q.DeleteExpiredWebAuthnChallenges(ctx, now); err != nil {
				return err
			}
		}
		return q.CreateWebAuthnChallenge(ctx, ch)
	})
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("passkey %s: %w", kind, err)
	}
	if kind == "login" {
		s.begun.put(ch)
	}
	return PasskeyCeremony{Handle: raw, Options: options, ExpiresAt: ch.ExpiresAt}, nil
}

// begunMax bounds the sign-in challenges a process remembers: beyond it
// (many begun, few finished) a finish reads its challenge from the database
// as it would from another process.
const begunMax = 4096

// begunChallenges are the sign-in challenges this process stored, by hash,
// until their finish takes them. A copy only saves the finish a read: the
// row in the database stays the one that counts (the transaction of a
// sign-in must delete it, so a challenge is spent once across processes),
// and an entry is taken from here at the first finish that names it, so a
// second one reads the database and finds the row gone or about to go.
type begunChallenges struct {
	mu    sync.Mutex
	m     map[string]store.WebAuthnChallenge
	swept time.Time
}

func newBegunChallenges() *begunChallenges {
	return &begunChallenges{m: map[string]store.WebAuthnChallenge{}}
}

func (b *begunChallenges) put(ch store.WebAuthnChallenge) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= begunMax && ch.CreatedAt.Sub(b.swept) > time.Second {
		// Abandoned ceremonies: drop the expired, at most once a second.
		b.swept = ch.CreatedAt
		for k, v := range b.m {
			if !ch.CreatedAt.Before(v.ExpiresAt) {
				delete(b.m, k)
			}
		}
	}
	if len(b.m) < begunMax {
		b.m[string(ch.Hash)] = ch
	}
}

// take returns and forgets the challenge of hash, if this process has it.
func (b *begunChallenges) take(hash []byte) (store.WebAuthnChallenge, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.m[string(hash)]
	if ok {
		delete(b.m, string(hash))
	}
	return ch, ok
}

// takeCeremony spends the challenge named by handle: it must exist, be of
// kind, be unexpired and belong to business b and user userID.
func (s *Service) takeCeremony(ctx context.Context, handle, kind string, b store.Business, userID int64) (store.WebAuthnChallenge, error) {
	if handle == "" || len(handle) > 256 {
		return store.WebAuthnChallenge{}, ErrPasskeyInvalid
	}
	ch, err := s.passkeyDB.TakeWebAuthnChallenge(ctx, secretHash(handle))
	if isNotFound(err) {
		return store.WebAuthnChallenge{}, ErrPasskeyInvalid
	}
	if err != nil {
		return store.WebAuthnChallenge{}, fmt.Errorf("passkey %s: %w", kind, err)
	}
	if ch.Kind != kind || ch.BusinessID != b.ID || ch.UserID != userID || !s.now().Before(ch.ExpiresAt) ||
		ch.RPID != s.passkeyRP(b).ID {
		return store.WebAuthnChallenge{}, ErrPasskeyInvalid
	}
	return ch, nil
}

// BeginPasskeyRegistration starts adding a passkey for u, who is signed in
// at b. Passkeys already registered at b are excluded, so an authenticator
// does not make a second one.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, u store.User, b store.Business) (PasskeyCeremony, error) {
	if !u.IsAdmin && !u.InBusiness(b.ID) {
		return PasskeyCeremony{}, ErrForbidden
	}
	rp := s.passkeyRP(b)
	creds, err := s.passkeyDB.UserPasskeys(ctx, u.ID, rp.ID)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("passkey register: %w", err)
	}
	opts, session, err := s.passkeys.BeginRegistration(rp, s.passkeyAccount(u, creds))
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return s.beginCeremony(ctx, "register", u.ID, b, rp, opts, session)
}

// FinishPasskeyRegistration verifies the authenticator's answer to the
// ceremony named by handle and stores the new passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, u store.User, b store.Business, handle, name string, response []byte, c Client) (store.Passkey, error) {
	name, err := passkeyName(name, s.now())
	if err != nil {
		return store.Passkey{}, err
	}
	ch, err := s.takeCeremony(ctx, handle, "register", b, u.ID)
	if err != nil {
		return store.Passkey{}, err
	}
	rp := s.passkeyRP(b)
	creds, err := s.passkeyDB.UserPasskeys(ctx, u.ID, rp.ID)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("passkey register: %w", err)
	}
	ver, err := s.passkeys.FinishRegistration(rp, s.passkeyAccount(u, creds), ch.Data, response)
	if errors.Is(err, passkey.ErrInvalid) {
		s.log.InfoContext(ctx, "passkey registration refused", "user", u.ID, "err", err)
		return store.Passkey{}, ErrPasskeyInvalid
	}
	if err != nil {
		return store.Passkey{}, err
	}
	now := s.now().UTC()
	p := store.Passkey{UserID: u.ID, RPID: rp.ID, CredentialID: ver.CredentialID, Name: name, Data: ver.Data,
		SignCount: int64(ver.SignCount), CreatedAt: now}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.CreatePasskey(ctx, &p); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "passkey.registered", UserID: u.ID, BusinessID: b.ID,
			Detail: fmt.Sprintf(`{"passkey":%d,"rp":%s}`, p.ID, quote(rp.ID))}, c)
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Passkey{}, ErrPasskeyInvalid
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("passkey register: %w", err)
	}
	return p, nil
}

// passkeyName checks a passkey's name: empty gets a dated default; control
// characters and names over passkeyNameMax characters are refused.
func passkeyName(name string, now time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey " + now.UTC().Format("2006-01-02"), nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > passkeyNameMax || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", FieldErrors{"name": {"invalid_text"}}
	}
	return name, nil
}

// BeginPasskeySignIn starts a discoverable sign-in at b: no user is named;
// whichever passkey of b's relying party answers decides who signs in.
func (s *Service) BeginPasskeySignIn(ctx context.Context, b store.Business) (PasskeyCeremony, error) {
	rp := s.passkeyRP(b)
	opts, session, err := s.passkeys.BeginLogin(rp)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return s.beginCeremony(ctx, "login", 0, b, rp, opts, session)
}

var errUnknownPasskey = errors.New("unknown passkey")

// errCounterBehind is a verified assertion whose counter the stored one
// has overtaken (the cache's hint was stale, another process or request
// used the passkey meanwhile, or it was removed): judged again from the
// database by refusedAtCommit.
var errCounterBehind = errors.New("passkey counter behind the stored one")

// errChallengeSpent is a verified assertion whose challenge was gone at
// commit: spent by a concurrent finish (a replay), by another process, or
// swept. Refused like a challenge not found before verification.
var errChallengeSpent = errors.New("passkey challenge spent")

// refusedSpent audits a sign-in refused by errChallengeSpent.
func (s *Service) refusedSpent(ctx context.Context, b store.Business, l passkeyLogin, c Client) error {
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "signin.failure", UserID: l.user.ID, BusinessID: b.ID,
		Detail: `{"method":"passkey","reason":"challenge"}`}, c); err != nil {
		return err
	}
	return ErrPasskeyInvalid
}

// passkeyLogin is a verified passkey assertion not yet committed: commit
// spends its challenge and moves the passkey's counter, in the caller's
// transaction, so that the success path of a sign-in is one transaction.
type passkeyLogin struct {
	user      store.User
	passkey   store.Passkey // as the cache had it: the counter is a hint
	cached    *cachedPasskey
	rpID      string
	challenge []byte
	ver       passkey.Verified
}

func (l passkeyLogin) commit(ctx context.Context, q store.Queries, at time.Time) error {
	// Of two requests that verified the same answer, one takes the
	// challenge; the other finds it gone (a replay).
	if err := q.SpendWebAuthnChallenge(ctx, l.challenge); err != nil {
		if isNotFound(err) {
			return errChallengeSpent
		}
		return fmt.Errorf("passkey sign-in: %w", err)
	}
	// The assertion was verified against the cache's counter; the stored
	// one decides, inside this transaction. An authenticator without a
	// counter (always 0) whose record stayed needs no write but last use,
	// at most once a minute; the column is still read, so that a counter
	// that appeared meanwhile (a clone's) or a removed passkey is refused.
	to := int64(l.ver.SignCount)
	if to == 0 && l.passkey.SignCount == 0 && !l.ver.RecordChanged && at.Sub(l.passkey.LastUsedAt) < time.Minute {
		n, err := q.PasskeySignCount(ctx, l.passkey.ID)
		if isNotFound(err) || (err == nil && n != 0) {
			return errCounterBehind
		}
		if err != nil {
			return fmt.Errorf("passkey sign-in: %w", err)
		}
		return nil
	}
	var data []byte // nil keeps the stored record
	if l.ver.RecordChanged {
		data = l.ver.Data
	}
	moved, err := q.UsePasskey(ctx, l.passkey.ID, to, data, at)
	if err != nil {
		return fmt.Errorf("passkey sign-in: %w", err)
	}
	if !moved {
		return errCounterBehind
	}
	return nil
}

// committed tells the cache what a committed sign-in stored, so that this
// process's next sign-in with the passkey verifies against its counter.
func (l passkeyLogin) committed(at time.Time) {
	l.cached.used(int64(l.ver.SignCount), at)
}

// refusedAtCommit settles a sign-in whose commit found the stored counter
// ahead of the one verified (errCounterBehind): the cached passkey is
// dropped, and the answer is judged from the database like any refusal,
// as a clone warning when the passkey is still there. The challenge is
// spent either way.
func (s *Service) refusedAtCommit(ctx context.Context, b store.Business, l passkeyLogin, c Client) error {
	s.cache.forgetPasskey(l.rpID, l.passkey.CredentialID)
	if err := s.spendChallenge(ctx, l.challenge); err != nil {
		return err
	}
	reason := "unknown_passkey"
	p, err := s.passkeyDB.PasskeyByCredentialID(ctx, l.rpID, l.passkey.CredentialID)
	switch {
	case err == nil && p.ID == l.passkey.ID:
		reason = "clone_warning"
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "passkey.clone_warning", UserID: p.UserID, BusinessID: b.ID,
			Detail: fmt.Sprintf(`{"passkey":%d,"stored_count":%d,"presented_count":%d}`, p.ID, p.SignCount, l.ver.SignCount)}, c); err != nil {
			return err
		}
	case err != nil && !isNotFound(err):
		return fmt.Errorf("passkey sign-in: %w", err)
	}
	// Spent above, before the lookup: nothing left to spend.
	return s.refusePasskey(ctx, b, nil, l.user.ID, reason, c)
}

// spendChallenge spends a ceremony's challenge on a refusal; one already
// gone (spent by a rival request, or expired and pruned) is no error.
func (s *Service) spendChallenge(ctx context.Context, hash []byte) error {
	if err := s.passkeyDB.SpendWebAuthnChallenge(ctx, hash); err != nil && !isNotFound(err) {
		return fmt.Errorf("passkey sign-in: %w", err)
	}
	return nil
}

// refusePasskey ends a refused passkey sign-in: it spends the challenge
// (when hash names one) and audits the failure, and answers
// ErrPasskeyInvalid. Fail closed: a refusal that cannot be audited is a
// storage fault.
func (s *Service) refusePasskey(ctx context.Context, b store.Business, hash []byte, userID int64, reason string, c Client) error {
	if hash != nil {
		if err := s.spendChallenge(ctx, hash); err != nil {
			return err
		}
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "signin.failure", UserID: userID, BusinessID: b.ID,
		Detail: `{"method":"passkey","reason":"` + reason + `"}`}, c); err != nil {
		return err
	}
	return ErrPasskeyInvalid
}

// passkeySignIn verifies an assertion answering the ceremony named by
// handle and returns the user it signs in. A passkey is possession of a
// device key plus user verification on it, so it stands for both factors.
// Any refusal spends the challenge; success leaves that to commit.
func (s *Service) passkeySignIn(ctx context.Context, b store.Business, handle string, response []byte, c Client) (passkeyLogin, error) {
	var hash []byte
	fail := func(userID int64, reason string) (passkeyLogin, error) {
		return passkeyLogin{}, s.refusePasskey(ctx, b, hash, userID, reason, c)
	}
	if handle == "" || len(handle) > 256 {
		return fail(0, "challenge")
	}
	rp := s.passkeyRP(b)
	ch, ok := s.begun.take(secretHash(handle))
	if !ok {
		var err error
		ch, err = s.passkeyDB.WebAuthnChallengeByHash(ctx, secretHash(handle))
		if isNotFound(err) {
			return fail(0, "challenge")
		}
		if err != nil {
			return passkeyLogin{}, fmt.Errorf("passkey sign-in: %w", err)
		}
	}
	hash = ch.Hash
	if ch.Kind != "login" || ch.BusinessID != b.ID || ch.UserID != 0 || ch.RPID != rp.ID || !s.now().Before(ch.ExpiresAt) {
		return fail(0, "challenge")
	}
	// One reading of the state epoch serves the passkey and its user.
	view := s.cache.view(ctx)
	var (
		pk     store.Passkey
		cached *cachedPasskey
	)
	lookup := func(credID, handle []byte) (passkey.Account, error) {
		e, err := view.passkey(ctx, rp.ID, credID)
		if isNotFound(err) {
			return passkey.Account{}, errUnknownPasskey
		}
		if err != nil {
			return passkey.Account{}, err
		}
		p := e.snapshot()
		if subtle.ConstantTimeCompare(handle, userHandle(p.UserID)) != 1 {
			return passkey.Account{}, errUnknownPasskey
		}
		pk, cached = p, e
		// The counter column is the current one (the record is rewritten
		// only when the authenticator's flags move); the cache's copy of
		// it is checked again by commit.
		return passkey.Account{Handle: userHandle(p.UserID), Records: []*passkey.Record{e.rec}, SignCounts: []uint32{uint32(p.SignCount)}}, nil
	}
	ver, err := s.passkeys.FinishLogin(rp, ch.Data, response, lookup)
	switch {
	case errors.Is(err, errUnknownPasskey):
		return fail(0, "unknown_passkey")
	case errors.Is(err, passkey.ErrInvalid):
		s.log.InfoContext(ctx, "passkey assertion refused", "err", err)
		return fail(pk.UserID, "assertion")
	case err != nil:
		return passkeyLogin{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	if ver.CloneWarning {
		// The counter did not move forward: the key may have been copied.
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "passkey.clone_warning", UserID: pk.UserID, BusinessID: b.ID,
			Detail: fmt.Sprintf(`{"passkey":%d,"stored_count":%d,"presented_count":%d}`, pk.ID, pk.SignCount, ver.SignCount)}, c); err != nil {
			return passkeyLogin{}, err
		}
		return fail(pk.UserID, "clone_warning")
	}
	u, err := view.user(ctx, pk.UserID)
	if isNotFound(err) {
		return fail(pk.UserID, "no_user")
	}
	if err != nil {
		return passkeyLogin{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	if !u.Active {
		return fail(u.ID, "disabled")
	}
	if !u.IsAdmin && !u.InBusiness(b.ID) {
		return fail(u.ID, "no_profile")
	}
	if u.MustReset {
		if err := s.spendChallenge(ctx, hash); err != nil {
			return passkeyLogin{}, err
		}
		return passkeyLogin{}, s.mustReset(ctx, u, &b)
	}
	return passkeyLogin{user: u, passkey: pk, cached: cached, rpID: rp.ID, challenge: hash, ver: ver}, nil
}

// PortalPasskeySignIn signs in to b's portal with a passkey.
func (s *Service) PortalPasskeySignIn(ctx context.Context, b store.Business, handle string, response []byte, c Client) (string, PortalSession, error) {
	l, err := s.passkeySignIn(ctx, b, handle, response, c)
	if err != nil {
		return "", PortalSession{}, err
	}
	now := s.now().UTC()
	sess, cookie, err := s.openSession(ctx, l.user, b, c, 0, func(q store.Queries) error { return l.commit(ctx, q, now) }, "passkey")
	if errors.Is(err, errCounterBehind) {
		return "", PortalSession{}, s.refusedAtCommit(ctx, b, l, c)
	}
	if errors.Is(err, errChallengeSpent) {
		return "", PortalSession{}, s.refusedSpent(ctx, b, l, c)
	}
	if err != nil {
		return "", PortalSession{}, err
	}
	l.committed(now)
	return cookie, PortalSession{Session: sess, User: l.user}, nil
}

// PasskeySignInToken signs in with a passkey for an app: the answer is a
// short-lived one-time token for §5.3's exchange (or a §3.3 link).
func (s *Service) PasskeySignInToken(ctx context.Context, b store.Business, handle string, response []byte, c Client) (Token, error) {
	l, err := s.passkeySignIn(ctx, b, handle, response, c)
	if err != nil {
		return Token{}, err
	}
	// Signing needs no storage; the token is handed out only if the
	// transaction that spends the challenge commits.
	tok, err := s.issue(ctx, l.user, token.KindOneTime, 0, LinkTokenTTL)
	if err != nil {
		return Token{}, err
	}
	now := s.now().UTC()
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := l.commit(ctx, q, now); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "signin.success", UserID: l.user.ID, BusinessID: b.ID,
			Detail: fmt.Sprintf(`{"method":"passkey","passkey":%d,"jti":%s}`, l.passkey.ID, quote(tok.Claims.ID))}, c)
	})
	if err != nil {
		if errors.Is(err, errCounterBehind) {
			return Token{}, s.refusedAtCommit(ctx, b, l, c)
		}
		if errors.Is(err, errChallengeSpent) {
			return Token{}, s.refusedSpent(ctx, b, l, c)
		}
		return Token{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	l.committed(now)
	return tok, nil
}

// Passkeys lists u's passkeys at b's relying party, oldest first.
func (s *Service) Passkeys(ctx context.Context, u store.User, b store.Business) ([]store.Passkey, error) {
	list, err := s.passkeyDB.UserPasskeys(ctx, u.ID, s.passkeyRP(b).ID)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return list, nil
}

// RenamePasskey renames one of u's passkeys at b.
func (s *Service) RenamePasskey(ctx context.Context, u store.User, b store.Business, id int64, name string, c Client) error {
	name, err := passkeyName(name, s.now())
	if err != nil {
		return err
	}
	if err := s.ownPasskey(ctx, u, b, id); err != nil {
		return err
	}
	if err := s.passkeyDB.RenamePasskey(ctx, u.ID, id, name); err != nil {
		if isNotFound(err) {
			return ErrNotFound
		}
		return fmt.Errorf("rename passkey: %w", err)
	}
	return s.audit(ctx, nil, store.AuditEvent{Type: "passkey.renamed", UserID: u.ID, BusinessID: b.ID, Detail: fmt.Sprintf(`{"passkey":%d}`, id)}, c)
}

// RemovePasskey removes one of u's passkeys at b; it signs in no more.
func (s *Service) RemovePasskey(ctx context.Context, u store.User, b store.Business, id int64, c Client) error {
	if err := s.ownPasskey(ctx, u, b, id); err != nil {
		return err
	}
	err := s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.DeletePasskey(ctx, u.ID, id); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "passkey.removed", UserID: u.ID, BusinessID: b.ID, Detail: fmt.Sprintf(`{"passkey":%d}`, id)}, c)
	})
	if isNotFound(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	return nil
}

// ownPasskey checks that id is u's passkey at b's relying party: a member
// of two businesses manages each business's passkeys on its own portal.
func (s *Service) ownPasskey(ctx context.Context, u store.User, b store.Business, id int64) error {
	list, err := s.Passkeys(ctx, u, b)
	if err != nil {
		return err
	}
	for _, p := range list {
		if p.ID == id {
			return nil
		}
	}
	return ErrNotFound
}

// PasskeyOwner resolves the bearer token of a passkey-managing API call.
// An impersonation token is no credential here (SPEC §6: refused as none):
// a passkey added while acting for someone would outlive the impersonation.
func (s *Service) PasskeyOwner(ctx context.Context, bearer string) (store.User, error) {
	u, claims, err := s.VerifyBearer(ctx, bearer)
	if err != nil {
		return store.User{}, err
	}
	if claims.Actor != nil || claims.Kind == token.KindImpersonation {
		return store.User{}, ErrBadCredentials
	}
	return u, nil
}
