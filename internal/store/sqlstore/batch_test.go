package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// TestGroupCommit: transactions that share a SQLite commit keep their own
// outcomes. Failing, panicking and abandoned ones leave nothing behind; the
// rest all land; and at least one commit was shared.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := storetest.SQLite(t)
	errBoom := errors.New("boom")
	type outcome int
	const (
		lands outcome = iota
		fails
		panics
		cancelled
	)
	kinds := make([]outcome, 60)
	for i := range kinds {
		switch i % 6 {
		case 1:
			kinds[i] = fails
		case 3:
			kinds[i] = panics
		case 5:
			kinds[i] = cancelled
		}
	}
	// The first transaction holds the writer until the others are queued.
	gate, started := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.InTx(ctx, func(q store.Queries) error {
			close(started)
			<-gate
			return q.CreateBusiness(ctx, &store.Business{Slug: "gate", Name: "Gate"})
		})
	}()
	<-started
	before := sqlstore.BatchCommits(s)
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jctx := ctx
			if k == cancelled {
				// Given up before its turn: whether the queue or the
				// batch notices, it must not run.
				c, cancel := context.WithCancel(ctx)
				cancel()
				jctx = c
			}
			errs[i] = s.InTx(jctx, func(q store.Queries) error {
				if err := q.CreateBusiness(ctx, &store.Business{Slug: fmt.Sprintf("b%d", i), Name: "B"}); err != nil {
					return err
				}
				switch k {
				case fails:
					return errBoom
				case panics:
					panic("job panicked")
				}
				return nil
			})
		}()
	}
	time.Sleep(200 * time.Millisecond) // let them queue behind the gate
	close(gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("gate transaction: %v", err)
	}
	for i, k := range kinds {
		_, getErr := s.BusinessBySlug(ctx, fmt.Sprintf("b%d", i))
		landed := getErr == nil
		switch k {
		case lands:
			if errs[i] != nil || !landed {
				t.Errorf("job %d: err %v, landed %v; want it to land", i, errs[i], landed)
			}
		case fails:
			if !errors.Is(errs[i], errBoom) || landed {
				t.Errorf("failing job %d: err %v, landed %v", i, errs[i], landed)
			}
		case panics:
			if errs[i] == nil || landed {
				t.Errorf("panicking job %d: err %v, landed %v", i, errs[i], landed)
			}
		case cancelled:
			if !errors.Is(errs[i], context.Canceled) || landed {
				t.Errorf("cancelled job %d: err %v, landed %v", i, errs[i], landed)
			}
		}
	}
	if n := sqlstore.BatchCommits(s) - before; n >= int64(len(kinds)) {
		t.Fatalf("%d commits for %d transactions: none was shared", n, len(kinds)+1)
	}
}
