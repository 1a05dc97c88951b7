package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// RefreshTTL is the life of a refresh token (SPEC §5.1).
const RefreshTTL = 15 * 24 * time.Hour

// ErrInvalidGrant is a refresh token that is unknown, expired, revoked,
// rotated away (reuse) or presented by another client.
var ErrInvalidGrant = errors.New("auth: invalid grant")

// Grant is the answer of the OAuth2 token endpoint.
type Grant struct {
	Access  Token
	Refresh string
}

// PasswordGrant is grant_type=password: it checks the credentials and
// issues an access token and a refresh token for clientID (the email when
// empty). Earlier refresh tokens of the same user and client die.
func (s *Service) PasswordGrant(ctx context.Context, email, password, totpCode, clientID string, c Client) (Grant, error) {
	a, u, err := s.passwordAttempt(ctx, email, password, c)
	if err != nil {
		return Grant{}, err
	}
	if err := s.checkSecondFactor(ctx, a, u, totpCode, u.DefaultBusinessID); err != nil {
		return Grant{}, err
	}
	if err := s.mustReset(ctx, u, nil); err != nil {
		a.succeed(ctx)
		return Grant{}, err
	}
	// The release of the attempt's slots commits with the grant's family
	// and its audit event: one commit after the takes. It goes last, so
	// that the address's row (which every sign-in from there takes) is
	// locked only for that statement and the commit. Once the transaction
	// runs, its outcome decides the slots: released with its commit, or,
	// if it fails, left counted (the safe side).
	hold := func(store.Queries) error { a.closed = true; return nil }
	release := func(q store.Queries) error { return a.releaseIn(ctx, q) }
	g, err := s.newGrant(ctx, u, 0, clientID, s.opts.DefaultValidity, hold, release, "oauth_password", c)
	if err != nil {
		// Failed before the transaction ran (signing, randomness): as
		// before, the right password gives the slots back. After it ran,
		// this does nothing.
		a.succeed(ctx)
		return Grant{}, err
	}
	return g, nil
}

// newGrant issues an access token and a new refresh-token family for u and
// clientID (the email when empty), killing that client's earlier refresh
// tokens; before and after, if any, run in the same transaction, first
// and last. Both carry
// u.TokenVersion and actorID (the impersonating user, 0 when none), so the
// family dies with a revocation that commits after u was read and every
// token it yields keeps the act claim.
func (s *Service) newGrant(ctx context.Context, u store.User, actorID int64, clientID string, validity time.Duration, before, after func(store.Queries) error, method string, c Client) (Grant, error) {
	if clientID == "" {
		clientID = u.Email
	}
	tok, err := s.issue(ctx, u, token.KindAccess, actorID, validity)
	if err != nil {
		return Grant{}, err
	}
	fid, err := newFamilyID()
	if err != nil {
		return Grant{}, err
	}
	raw, hash, err := newRefreshToken(fid, 0)
	if err != nil {
		return Grant{}, err
	}
	now := s.now().UTC()
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if before != nil {
			if err := before(q); err != nil {
				return err
			}
		}
		if err := q.RevokeRefreshTokens(ctx, u.ID, clientID, now); err != nil {
			return err
		}
		if err := q.CreateRefreshFamily(ctx, store.RefreshFamily{ID: familyKey(fid), Hash: hash, UserID: u.ID, ClientID: clientID,
			CreatedAt: now, IssuedAt: now, ExpiresAt: now.Add(RefreshTTL), TokenVersion: u.TokenVersion, ActorID: actorID}); err != nil {
			return err
		}
		if err := s.auditSignIn(ctx, q, u, u.DefaultBusinessID, actorID, method, tok.Claims.ID, c); err != nil {
			return err
		}
		if after != nil {
			return after(q)
		}
		return nil
	})
	if err != nil {
		return Grant{}, fmt.Errorf("grant: %w", err)
	}
	return Grant{Access: tok, Refresh: raw}, nil
}

// Exchange turns a one-time token (from a reset completion, a sign-in code,
// a link) or an access token into an access token and a refresh token
// (SPEC §5.3). The token is spent, so it works once, here or on the
// portal; an impersonation token's act carries over to both.
func (s *Service) Exchange(ctx context.Context, raw string, validity time.Duration, c Client) (Grant, error) {
	claims, err := s.tokens.Verify(ctx, raw)
	if err != nil {
		return Grant{}, ErrLinkInvalid
	}
	u, err := s.liveUser(ctx, claims)
	if errors.Is(err, ErrBadCredentials) {
		return Grant{}, ErrLinkInvalid
	}
	if err != nil {
		return Grant{}, err
	}
	return s.newGrant(ctx, u, actorOf(claims), "", validity, func(q store.Queries) error {
		spent, err := q.SpendToken(ctx, claims.ID, claims.ExpiresAt)
		if err != nil {
			return err
		}
		if !spent {
			return ErrLinkInvalid
		}
		return nil
	}, nil, "exchange", c)
}

// LinkTokenTTL is the life of a one-time token for a ?t= link.
const LinkTokenTTL = 5 * time.Minute

// LinkToken gives the bearer of a valid access token a short-lived
// one-time token for a §3.3 ?t= link (SPEC §5.3, POST
// /api/sys/users/token/refresh). A one-time token is no bearer, so it
// cannot mint another; an impersonation token's act carries over.
func (s *Service) LinkToken(ctx context.Context, bearer string) (Token, error) {
	u, claims, err := s.VerifyBearer(ctx, bearer)
	if err != nil {
		return Token{}, err
	}
	return s.issue(ctx, u, token.KindOneTime, actorOf(claims), LinkTokenTTL)
}

// OneTimeToken issues u a one-time token for a §3.3 ?t= link or the
// exchange (SPEC §5.8 me's AccessToken). u must come from a credential
// check that just passed.
func (s *Service) OneTimeToken(ctx context.Context, u store.User) (Token, error) {
	return s.issue(ctx, u, token.KindOneTime, 0, LinkTokenTTL)
}

// RefreshGrant is grant_type=refresh_token: it rotates raw into a new pair.
// Presenting a token that was already rotated away is taken as theft: the
// whole family, including its newest token, is revoked.
func (s *Service) RefreshGrant(ctx context.Context, raw, clientID string, c Client) (Grant, error) {
	if raw == "" || len(raw) > 256 {
		return Grant{}, ErrInvalidGrant
	}
	now := s.now().UTC()
	f, ref, standing, err := s.findRefresh(ctx, raw, now)
	if err != nil {
		return Grant{}, fmt.Errorf("refresh grant: %w", err)
	}
	switch standing {
	case refreshUnknown:
		return Grant{}, ErrInvalidGrant
	case refreshRotated:
		if err := s.refreshReuse(ctx, f, c, now); err != nil {
			return Grant{}, err
		}
		return Grant{}, ErrInvalidGrant
	}
	if clientID != "" && clientID != f.ClientID {
		return Grant{}, ErrInvalidGrant
	}
	// The family dies with any revocation after its grant began (SPEC §6),
	// and a user who must reset gets nothing but the reset.
	u, holds, err := holder(ctx, s.cache.view(ctx), f.UserID, f.TokenVersion)
	if err != nil {
		return Grant{}, fmt.Errorf("refresh grant: %w", err)
	}
	if !holds {
		return Grant{}, ErrInvalidGrant
	}
	tok, err := s.issue(ctx, u, token.KindAccess, f.ActorID, s.opts.DefaultValidity)
	if err != nil {
		return Grant{}, err
	}
	fid := ref.fid
	if ref.legacy { // its first rotation gives a migrated family an id
		if fid, err = newFamilyID(); err != nil {
			return Grant{}, err
		}
	}
	newRaw, newHash, err := newRefreshToken(fid, f.Generation+1)
	if err != nil {
		return Grant{}, err
	}
	// The rotation in place and the audit event in one transaction (one
	// statement on PostgreSQL).
	ok, err := s.revocable.ExchangeRefreshToken(ctx, f,
		store.RefreshRotation{ID: familyKey(fid), Hash: newHash, IssuedAt: now, ExpiresAt: now.Add(RefreshTTL)},
		store.AuditEvent{Type: "token.refreshed", UserID: u.ID, ActorID: f.ActorID, Detail: `{"jti":"` + tok.Claims.ID + `"}`, ClientIP: c.IP, UserAgent: truncate(c.UserAgent, 512), At: now})
	if err != nil {
		return Grant{}, fmt.Errorf("refresh grant: %w", err)
	}
	if !ok {
		// Another rotation of the same token won (a reuse), or the family
		// was revoked or pruned meanwhile (nothing more to do): look again.
		f, _, standing, err := s.findRefresh(ctx, raw, now)
		if err != nil {
			return Grant{}, fmt.Errorf("refresh grant: %w", err)
		}
		if standing == refreshRotated {
			if err := s.refreshReuse(ctx, f, c, now); err != nil {
				return Grant{}, err
			}
		}
		return Grant{}, ErrInvalidGrant
	}
	s.opts.Event("token.refreshed") // audited above, in the exchange
	return Grant{Access: tok, Refresh: newRaw}, nil
}

// refreshReuse revokes the family of a token presented after rotation. Its
// error (the revocation or its audit not stored) is answered as such, never
// as a plain invalid grant.
func (s *Service) refreshReuse(ctx context.Context, f store.RefreshFamily, c Client, now time.Time) error {
	if err := s.revocable.RevokeRefreshFamily(ctx, f.ID, now); err != nil {
		return fmt.Errorf("refresh reuse: %w", err)
	}
	return s.audit(ctx, nil, store.AuditEvent{Type: "refresh.reuse", UserID: f.UserID, Detail: `{"client_id":` + quote(f.ClientID) + `}`}, c)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
