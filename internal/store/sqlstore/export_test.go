package sqlstore

import "context"

// BatchCommits reports how many group commits s has made.
func BatchCommits(s *Store) int64 { return s.batch.commits.Load() }

// UndoMigration rolls back migration version alone, as a database that
// never had it.
func UndoMigration(ctx context.Context, s *Store, version int64) error {
	_, err := s.provider.ApplyVersion(ctx, version, false)
	return err
}
