package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeSaysHowToGetTheBinary: the README gives one way to get the
// binary its examples use, says the first compile is slow, and the
// Makefile's build target makes exactly that binary (issue #15.1, #15.2).
func TestReadmeSaysHowToGetTheBinary(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	r := string(readme)
	for _, want := range []string{"make build", "go install ./cmd/spaceauth", "./spaceauth demo", "few minutes"} {
		if !strings.Contains(r, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^build:\n(\t.*\n)*\t.*go build .*-o spaceauth \./cmd/spaceauth`).Match(makefile) {
		t.Error("make build does not write ./spaceauth")
	}
}
