package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// pruneSpec is one table's retention condition: where selects, by key,
// the rows past cutoff (every ? in where is the cutoff). then, when set, is
// the table pruned next within the same limit.
type pruneSpec struct {
	table, key, where, then string
}

// pruneSpecs lists the conditions; each has an index that serves it
// (migration 00019, and TestPrunePlansUseIndexes).
func pruneSpecs(d *dialect) []pruneSpec {
	return []pruneSpec{
		{"revoked_tokens", "jti", `expires_at < ?`, ""},
		{"spent_tokens", "jti", `expires_at < ?`, ""},
		{"sessions", "id", `expires_at < ? OR (revoked_at <> 0 AND revoked_at < ?)`, ""},
		{"reset_tokens", "hash", `expires_at < ?`, ""},
		// The user's newest code is the one checked (LatestOTP): were it to
		// go while an older one could still be valid, the older, replaced
		// code would count again. So a code waits for every older code of
		// its user.
		{"otp_codes", "id", `expires_at < ? AND NOT EXISTS (SELECT 1 FROM otp_codes o
			WHERE o.user_id = otp_codes.user_id AND o.id < otp_codes.id AND o.expires_at >= ?)`, ""},
		{"twofactor_pending", "hash", `expires_at < ?`, ""},
		{"oidc_flows", "state_hash", `expires_at < ?`, ""},
		{"webauthn_challenges", "hash", `expires_at < ?`, ""},
		{"throttle", "key", `last_at < ?`, ""},
		// The condition repeats outbox_settled's, so the partial index serves it.
		{"outbox", "id", `(sent_at <> 0 OR dead <> ` + d.falseLit + `) AND created_at < ?`, ""},
		{"audit_events", "id", `at < ?`, ""},
		// A revoked family's expires_at is its revocation (refresh.go). The
		// legacy tokens go with the families: one rule, one batch limit.
		{"refresh_families", "id", `expires_at < ?`, "refresh_legacy"},
		{"refresh_legacy", "hash", `expires_at < ?`, ""},
	}
}

// query is the statement that deletes at most one batch: on PostgreSQL the
// rows are taken with SKIP LOCKED, so two pruners at once take disjoint
// rows instead of waiting on (or deadlocking over) each other's; on SQLite
// writes are serial anyway.
func (p pruneSpec) query(d *dialect) string {
	return `DELETE FROM ` + p.table + ` WHERE ` + p.key + ` IN (SELECT ` + p.key + ` FROM ` + p.table +
		` WHERE ` + p.where + ` LIMIT ?` + d.skipLocked + `)`
}

// Prune deletes at most limit rows of table past before (store.Pruning):
// one statement, in one short transaction, then, if the batch was short
// and the table has a then, that table's.
func (s *Store) Prune(ctx context.Context, table string, before time.Time, limit int) (int64, error) {
	n, err := s.pruneOne(ctx, table, before, limit)
	if err != nil || n >= int64(limit) {
		return n, err
	}
	if next := s.pruneSpec(table).then; next != "" {
		m, err := s.Prune(ctx, next, before, limit-int(n))
		return n + m, err
	}
	return n, nil
}

// pruneSpec returns table's spec, the zero spec if it has none.
func (s *Store) pruneSpec(table string) pruneSpec {
	specs := pruneSpecs(s.d)
	if i := slices.IndexFunc(specs, func(p pruneSpec) bool { return p.table == table }); i >= 0 {
		return specs[i]
	}
	return pruneSpec{}
}

// pruneOne deletes at most limit rows of table alone.
func (s *Store) pruneOne(ctx context.Context, table string, before time.Time, limit int) (int64, error) {
	op := "prune " + table
	if limit <= 0 {
		return 0, fmt.Errorf("%s: limit %d must be positive", op, limit)
	}
	spec := s.pruneSpec(table)
	if spec.table == "" {
		return 0, fmt.Errorf("%s: no such rule", op)
	}
	var args []any
	for range strings.Count(spec.where, "?") {
		args = append(args, ns(before))
	}
	args = append(args, limit)
	run := func(q *queries) (int64, error) {
		res, err := q.exec(ctx, spec.query(s.d), args...)
		if err != nil {
			return 0, q.wrap(op, err)
		}
		n, err := res.RowsAffected()
		return n, q.wrap(op, err)
	}
	if s.batch == nil {
		// Deleted rows change nothing the bearer-check cache holds (a
		// revocation goes only after its token expired): no epoch move.
		q := s.queries
		q.wrote = nil
		return run(&q)
	}
	// SQLite: through the group commit like every other write, so a batch
	// waits its turn behind (and shares a commit with) the sign-ins instead
	// of holding the one writer for longer than a statement.
	var n int64
	err := s.InTx(ctx, func(tq store.Queries) error {
		q, ok := tq.(*queries)
		if !ok {
			return fmt.Errorf("%s: unexpected transaction type %T", op, tq)
		}
		var err error
		n, err = run(q)
		return err
	})
	return n, err
}
