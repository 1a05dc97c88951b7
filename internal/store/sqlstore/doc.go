// Package sqlstore implements store.Store over database/sql with plain SQL.
// SQLite (pure Go, no cgo) is the embedded default; the few places where
// PostgreSQL differs live in dialect.go. Migrations are embedded per dialect
// and applied by Open.
package sqlstore
