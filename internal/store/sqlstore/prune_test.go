package sqlstore_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// TestPrunePlansUseIndexes: no prune batch scans its table (issue #17: the
// pruner's cost follows the rows it deletes, not the table's size).
func TestPrunePlansUseIndexes(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *sqlstore.Store
		scan *regexp.Regexp
	}{
		// SQLite says "SCAN t" for a full scan, "SEARCH t USING ..." otherwise.
		{"sqlite", func(t *testing.T) *sqlstore.Store { return storetest.SQLite(t) }, regexp.MustCompile(`(?m)^SCAN `)},
		{"postgres", func(t *testing.T) *sqlstore.Store { return storetest.Open(t, storetest.PostgresDSN(t)) }, regexp.MustCompile(`Seq Scan`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			plans, err := sqlstore.PrunePlans(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if len(plans) != 13 {
				t.Errorf("%d plans, want one per table (13)", len(plans))
			}
			for table, plan := range plans {
				if tc.scan.MatchString(plan) {
					t.Errorf("%s: the prune statement scans:\n%s", table, plan)
				}
				t.Logf("%s:\n%s", table, plan)
			}
		})
	}
}
