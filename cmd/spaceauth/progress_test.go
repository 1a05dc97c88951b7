package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestImportProgressBar: the bar of `user import` on a terminal (issue
// #15.7 had no test for it), and nothing at all when the output is not one.
func TestImportProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, on: true}
	// ImportUsers reports preparing and storing each row: 2 calls a row.
	total := 8
	for done := 0; done <= total; done++ {
		p.update(done, total)
	}
	p.finish()
	out := buf.String()
	if !strings.HasSuffix(out, "\r["+strings.Repeat("=", 30)+"] 4/4\n") {
		t.Errorf("the last frame is not a full bar of 4 rows: %q", out)
	}
	if !strings.HasPrefix(out, "\r["+strings.Repeat(" ", 30)+"] 0/4") {
		t.Errorf("the first frame is not an empty bar: %q", out)
	}

	buf.Reset()
	quiet := newProgress(&buf) // a buffer is no terminal
	quiet.update(1, 2)
	quiet.update(2, 2)
	quiet.finish()
	if buf.Len() != 0 {
		t.Errorf("a progress bar was drawn on a non-terminal: %q", buf.String())
	}
}
