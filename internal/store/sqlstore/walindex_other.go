//go:build !unix

package sqlstore

import (
	"context"
	"errors"
)

// walIndex is not mapped on this platform: the state epoch is read from
// the database on every check (see Store.StateEpoch).
type walIndex struct{}

type walHeader [12]uint32

func openWALIndex(context.Context, string, string) (*walIndex, error) {
	return nil, errors.New("sqlstore: the wal-index is mapped only on unix")
}

func (w *walIndex) header() (walHeader, bool) { return walHeader{}, false }

func (w *walIndex) close() error { return nil }
