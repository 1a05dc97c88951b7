package sqlstore

// BatchCommits reports how many group commits s has made.
func BatchCommits(s *Store) int64 { return s.batch.commits.Load() }
