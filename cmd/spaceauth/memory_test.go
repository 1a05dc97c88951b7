package main

import (
	"math"
	"testing"
)

// TestMemoryLimit: an explicit --memory-limit wins, then GOMEMLIMIT (left
// to the runtime: -1), then auto: the heap's budget, the same on any number
// of CPUs since the hashing buffers are outside the heap.
func TestMemoryLimit(t *testing.T) {
	cases := []struct {
		setting, gomemlimit string
		want                int64
		source              string
		err                 bool
	}{
		{"auto", "", memoryBase, "auto", false},
		{"auto", "200MiB", -1, "GOMEMLIMIT", false},
		{"96MiB", "200MiB", 96 << 20, "--memory-limit", false},
		{"off", "200MiB", math.MaxInt64, "--memory-limit off", false},
		{"96MB", "", 0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.setting+"/"+tc.gomemlimit, func(t *testing.T) {
			got, source, err := memoryLimit(tc.setting, tc.gomemlimit)
			if tc.err {
				if err == nil {
					t.Fatalf("memoryLimit(%q) = %d, want an error", tc.setting, got)
				}
				return
			}
			if err != nil || got != tc.want || source != tc.source {
				t.Fatalf("memoryLimit(%q, %q) = %d, %q, %v; want %d, %q", tc.setting, tc.gomemlimit, got, source, err, tc.want, tc.source)
			}
		})
	}
	if memoryBase != 20<<20 {
		t.Errorf("auto limit = %d MiB; docs/deploy.md says 20 MiB", memoryBase>>20)
	}
}
