// Package e2e runs the real spaceauth binary as a separate process and
// attacks it: SIGKILL under mixed load, and overload. It has tests only.
package e2e
