// Package config owns spaceauth's settings: one Config struct with safe
// defaults, command-line flags, SPACEAUTH_* environment twins and the
// validation that refuses unsafe combinations at start.
package config
