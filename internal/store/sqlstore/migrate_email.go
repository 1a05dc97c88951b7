package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/spaceauth/spaceauth/internal/store"
)

// emailKeyVersion is migration 11 of both dialects: a Go migration, since
// SQL cannot normalize Unicode. It rewrites users.email_key from the old
// lower-case key to store.EmailKey (NFC and case folding, SPEC §7).
const emailKeyVersion = 11

func emailKeyMigration(d *dialect) *goose.Migration {
	return goose.NewGoMigration(emailKeyVersion, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return backfillEmailKeys(ctx, tx, d)
	}}, nil)
}

// backfillEmailKeys gives every user the new key. Two accounts that only
// the new rule makes equal (an NFC and an NFD "josé@", created before)
// cannot share it: the older account (lower id) gets the address and the
// other keeps its old key, so nothing is lost and an operator can merge
// or rename it; lookups by email then find the older one.
func backfillEmailKeys(ctx context.Context, tx *sql.Tx, d *dialect) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, email, email_key FROM users ORDER BY id`)
	if err != nil {
		return fmt.Errorf("email keys: read users: %w", err)
	}
	type change struct {
		id       int64
		old, key string
	}
	var all []change
	for rows.Next() {
		var c change
		var email string
		if err := rows.Scan(&c.id, &email, &c.old); err != nil {
			rows.Close()
			return fmt.Errorf("email keys: read users: %w", err)
		}
		c.key = store.EmailKey(email)
		all = append(all, c)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("email keys: read users: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("email keys: read users: %w", err)
	}
	claimed := map[string]bool{}
	var changed []change
	for _, c := range all {
		final := c.key
		if claimed[final] {
			final = c.old
		}
		if claimed[final] { // the old key is now someone's new key
			final = fmt.Sprintf("%s#%d", c.old, c.id)
		}
		claimed[final] = true
		if final != c.old {
			changed = append(changed, change{id: c.id, old: c.old, key: final})
		}
	}
	// Two passes, so that no update collides with a key another row is
	// about to give up.
	park := d.rebind(`UPDATE users SET email_key = ? WHERE id = ?`)
	for _, c := range changed {
		if _, err := tx.ExecContext(ctx, park, fmt.Sprintf("#migrating#%d", c.id), c.id); err != nil {
			return fmt.Errorf("email keys: user %d: %w", c.id, err)
		}
	}
	for _, c := range changed {
		if _, err := tx.ExecContext(ctx, park, c.key, c.id); err != nil {
			return fmt.Errorf("email keys: user %d: %w", c.id, err)
		}
	}
	return nil
}
