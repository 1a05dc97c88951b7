package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spaceauth/spaceauth/internal/passkey"
	"github.com/spaceauth/spaceauth/internal/store"
)

// maxCached bounds each map of the state cache; a full map is emptied (the
// cache is a fast path, not a store). The bound is also a memory budget:
// the cache lives on the heap under the soft memory limit
// (cmd/spaceauth/memory.go), and 4,096 users (about 0.5 KB each) or parsed
// passkeys (about 1 KB) are 2–4 MB.
const maxCached = 4096

// stateCache keeps the reads every bearer check and every tenant request
// repeat: users by id, businesses by id, slug and domain, and "this jti is
// revoked". An entry is served only while the store's state epoch still
// reads what it read before the entry was loaded: on SQLite a counter moved
// by triggers inside the writing transaction, on PostgreSQL a count of
// commit-time notifications. Anything that cannot be checked that way is
// read from the database. Unknown users and hosts are not cached: misses
// stay database reads.
type stateCache struct {
	st stateSource

	mu       sync.RWMutex
	users    map[int64]cached[store.User]
	byID     map[int64]cached[store.Business]
	bySlug   map[string]cached[store.Business]
	byDomain map[string]cached[store.Business]
	live     map[string]cached[bool] // jti -> revoked
	passkeys map[passkeyKey]cached[*cachedPasskey]
}

// passkeyKey names a credential: its relying party and its id.
type passkeyKey struct{ rpID, credentialID string }

// cachedPasskey is a passkey as a sign-in needs it, its record parsed
// once. The counter and last use held here are hints only: a sign-in's
// transaction checks the stored counter, and this process moves them
// after its own sign-ins (other processes' sign-ins do not move the
// epoch), under mu.
type cachedPasskey struct {
	rec *passkey.Record

	mu sync.Mutex
	p  store.Passkey
}

// snapshot returns the passkey with the latest counter and last use this
// process knows of.
func (c *cachedPasskey) snapshot() store.Passkey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.p
}

// used records a committed sign-in; counters only move forward.
func (c *cachedPasskey) used(count int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p.SignCount = max(c.p.SignCount, count)
	if at.After(c.p.LastUsedAt) {
		c.p.LastUsedAt = at
	}
}

type cached[T any] struct {
	v     T
	epoch int64
}

func newStateCache(st stateSource) *stateCache {
	return &stateCache{st: st, users: map[int64]cached[store.User]{}, byID: map[int64]cached[store.Business]{},
		bySlug: map[string]cached[store.Business]{}, byDomain: map[string]cached[store.Business]{}, live: map[string]cached[bool]{},
		passkeys: map[passkeyKey]cached[*cachedPasskey]{}}
}

// stateView is the cache as of one reading of the state epoch; a function
// that makes several cached reads takes one view, so that it reads the epoch
// once.
type stateView struct {
	c     *stateCache
	epoch int64
	ok    bool // the epoch can be trusted: serve and keep entries
}

func (c *stateCache) view(ctx context.Context) stateView {
	e, ok := c.st.StateEpoch(ctx)
	return stateView{c: c, epoch: e, ok: ok}
}

// through serves key from m when its entry is current, else loads it and
// keeps it under the view's epoch, which was read before the load.
func through[K comparable, V any](v stateView, m map[K]cached[V], key K, load func() (V, error)) (V, error) {
	c := v.c
	if v.ok {
		c.mu.RLock()
		hit, found := m[key]
		c.mu.RUnlock()
		if found && hit.epoch == v.epoch {
			return hit.v, nil
		}
	}
	val, err := load()
	if err != nil || !v.ok {
		return val, err
	}
	c.mu.Lock()
	if len(m) >= maxCached {
		clear(m)
	}
	m[key] = cached[V]{v: val, epoch: v.epoch}
	c.mu.Unlock()
	return val, nil
}

func (v stateView) user(ctx context.Context, id int64) (store.User, error) {
	u, err := through(v, v.c.users, id, func() (store.User, error) { return v.c.st.UserByID(ctx, id) })
	// The slices are shared with the cache: hand out copies.
	u.Roles, u.BusinessIDs = append([]string(nil), u.Roles...), append([]int64(nil), u.BusinessIDs...)
	return u, err
}

func (v stateView) businessByID(ctx context.Context, id int64) (store.Business, error) {
	return through(v, v.c.byID, id, func() (store.Business, error) { return v.c.st.BusinessByID(ctx, id) })
}

func (v stateView) businessBySlug(ctx context.Context, slug string) (store.Business, error) {
	return through(v, v.c.bySlug, slug, func() (store.Business, error) { return v.c.st.BusinessBySlug(ctx, slug) })
}

func (v stateView) businessByDomain(ctx context.Context, domain string) (store.Business, error) {
	return through(v, v.c.byDomain, domain, func() (store.Business, error) { return v.c.st.BusinessByDomain(ctx, domain) })
}

// revoked reports whether jti is revoked.
func (v stateView) revoked(ctx context.Context, jti string) (bool, error) {
	return through(v, v.c.live, jti, func() (bool, error) { return v.c.st.TokenRevoked(ctx, jti) })
}

// passkey returns the credential credentialID of relying party rpID. The
// epoch moves when a passkey is removed or its record, owner or id
// changes (migration 00020), so a removed passkey is never served.
func (v stateView) passkey(ctx context.Context, rpID string, credentialID []byte) (*cachedPasskey, error) {
	return through(v, v.c.passkeys, passkeyKey{rpID, string(credentialID)}, func() (*cachedPasskey, error) {
		p, err := v.c.st.PasskeyByCredentialID(ctx, rpID, credentialID)
		if err != nil {
			return nil, err
		}
		rec, err := passkey.ParseRecord(p.Data)
		if err != nil {
			return nil, fmt.Errorf("passkey %d: %w", p.ID, err)
		}
		return &cachedPasskey{rec: rec, p: p}, nil
	})
}

// forgetPasskey drops a cached credential whose counter turned out stale.
func (c *stateCache) forgetPasskey(rpID string, credentialID []byte) {
	c.mu.Lock()
	delete(c.passkeys, passkeyKey{rpID, string(credentialID)})
	c.mu.Unlock()
}
