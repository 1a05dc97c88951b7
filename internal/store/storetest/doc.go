// Package storetest is the conformance suite every store.Store
// implementation runs: the same behaviour, asserted the same way, on SQLite
// and PostgreSQL alike.
package storetest
