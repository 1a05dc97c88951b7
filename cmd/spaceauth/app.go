package main

import (
	"context"
	"log/slog"

	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/wire"
)

// app is the wired service (internal/wire builds it for the binary and
// the tests alike).
type app = wire.App

// openApp opens the database (applying migrations), prepares the signing
// keys as use says and builds the domain.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger, use wire.KeyUse) (*app, error) {
	return wire.Open(ctx, wire.Config{Config: cfg, Logger: log, Keys: use})
}

// openExistingStore opens a database that must already exist, for commands
// that only read (SPEC §7: they never create one).
func openExistingStore(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, cfg.DB, sqlstore.Options{MustExist: true})
}

// withExistingStore runs fn on an app that has only its store, opened with
// openExistingStore: what the listing commands need, and nothing that
// writes (such as making the first signing key).
func withExistingStore(ctx context.Context, cfg config.Config, fn func(a *app) error) error {
	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(&app{Config: wire.Config{Config: cfg}, Store: st})
}

// openStoreOnly opens (and migrates) the database without the rest.
func openStoreOnly(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, cfg.DB, sqlstore.Options{})
}
