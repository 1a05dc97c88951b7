package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/token/tokentest"
)

type env struct {
	Status        int
	Message       string
	Value         any
	Errors        map[string][]string
	WasSuccessful bool
}

// parseJSON decodes body as a T, failing the test when it is not one.
func parseJSON[T any](t *testing.T, what, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not %s: %v: %q", what, err, body)
	}
	return v
}

func parseEnv(t *testing.T, body string) env {
	t.Helper()
	e := parseJSON[env](t, "an envelope", body)
	if !strings.HasPrefix(body, `{"Status":`) {
		t.Errorf("envelope keys out of order: %s", body)
	}
	return e
}

// claims decodes a JWT's payload without verifying it (the tests verify
// through the service itself).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	return tokentest.Claims(t, jwt)
}

func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func basic(email, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+password))
}
