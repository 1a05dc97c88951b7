package testkit

import (
	"io"
	"net/http"
	"testing"
)

// Do sends req with c and reads the whole answer, whose body is then
// closed; a failure to send or to read fails the test.
func Do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Get fetches url with the default client: its status and body.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := Do(t, http.DefaultClient, req)
	return resp.StatusCode, body
}
