package auth

import (
	"context"
	"sync"

	"github.com/spaceauth/spaceauth/internal/store"
)

// maxCached bounds each map of the state cache; a full map is emptied (the
// cache is a fast path, not a store).
const maxCached = 20000

// stateCache keeps the reads every bearer check and every tenant request
// repeat: users by id, businesses by id, slug and domain, and "this jti is
// not revoked". An entry is served only while the store's state epoch still
// reads what it read before the entry was loaded: on SQLite a counter moved
// by triggers inside the writing transaction, on PostgreSQL a count of
// commit-time notifications. Anything that cannot be checked that way is
// read from the database. Only hits are cached: misses stay database reads.
type stateCache struct {
	st store.Store

	mu       sync.RWMutex
	users    map[int64]cached[store.User]
	byID     map[int64]cached[store.Business]
	bySlug   map[string]cached[store.Business]
	byDomain map[string]cached[store.Business]
	live     map[string]int64 // jti -> epoch at which it was not revoked
}

type cached[T any] struct {
	v     T
	epoch int64
}

func newStateCache(st store.Store) *stateCache {
	return &stateCache{st: st, users: map[int64]cached[store.User]{}, byID: map[int64]cached[store.Business]{},
		bySlug: map[string]cached[store.Business]{}, byDomain: map[string]cached[store.Business]{}, live: map[string]int64{}}
}

func (c *stateCache) epoch(ctx context.Context) (int64, bool) { return c.st.StateEpoch(ctx) }

// through serves key from m when its entry is current, else loads it and
// keeps it under the epoch read before the load.
func through[K comparable, V any](ctx context.Context, c *stateCache, m map[K]cached[V], key K, load func() (V, error)) (V, error) {
	e, ok := c.epoch(ctx)
	if ok {
		c.mu.RLock()
		hit, found := m[key]
		c.mu.RUnlock()
		if found && hit.epoch == e {
			return hit.v, nil
		}
	}
	v, err := load()
	if err != nil || !ok {
		return v, err
	}
	c.mu.Lock()
	if len(m) >= maxCached {
		clear(m)
	}
	m[key] = cached[V]{v: v, epoch: e}
	c.mu.Unlock()
	return v, nil
}

func (c *stateCache) user(ctx context.Context, id int64) (store.User, error) {
	u, err := through(ctx, c, c.users, id, func() (store.User, error) { return c.st.UserByID(ctx, id) })
	// The slices are shared with the cache: hand out copies.
	u.Roles, u.BusinessIDs = append([]string(nil), u.Roles...), append([]int64(nil), u.BusinessIDs...)
	return u, err
}

func (c *stateCache) businessByID(ctx context.Context, id int64) (store.Business, error) {
	return through(ctx, c, c.byID, id, func() (store.Business, error) { return c.st.BusinessByID(ctx, id) })
}

func (c *stateCache) businessBySlug(ctx context.Context, slug string) (store.Business, error) {
	return through(ctx, c, c.bySlug, slug, func() (store.Business, error) { return c.st.BusinessBySlug(ctx, slug) })
}

func (c *stateCache) businessByDomain(ctx context.Context, domain string) (store.Business, error) {
	return through(ctx, c, c.byDomain, domain, func() (store.Business, error) { return c.st.BusinessByDomain(ctx, domain) })
}

// revoked reports whether jti is revoked; "not revoked" is what is cached.
func (c *stateCache) revoked(ctx context.Context, jti string) (bool, error) {
	e, ok := c.epoch(ctx)
	if ok {
		c.mu.RLock()
		at, found := c.live[jti]
		c.mu.RUnlock()
		if found && at == e {
			return false, nil
		}
	}
	revoked, err := c.st.TokenRevoked(ctx, jti)
	if err != nil || revoked || !ok {
		return revoked, err
	}
	c.mu.Lock()
	if len(c.live) >= maxCached {
		clear(c.live)
	}
	c.live[jti] = e
	c.mu.Unlock()
	return false, nil
}
