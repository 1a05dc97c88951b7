package main

import "testing"

// TestPlainMessages: error texts lose package words and repeated steps
// (issue #15.7: "auth: unknown business", "create business: create business: ...").
func TestPlainMessages(t *testing.T) {
	tests := []struct{ in, want string }{
		{"auth: unknown business: nowhere", "unknown business: nowhere"},
		{"create business: create business: database is locked", "create business: database is locked"},
		{"signing keys: retire keys: sqlstore: disk full", "signing keys: retire keys: disk full"},
		{"plain words stay", "plain words stay"},
	}
	for _, tt := range tests {
		if got := plain(tt.in); got != tt.want {
			t.Errorf("plain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
