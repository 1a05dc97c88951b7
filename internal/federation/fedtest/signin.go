package fedtest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var authRequestID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// SignIn walks the provider's real login page the way a browser would:
// it opens authURL, fills in the login form, and follows redirects until the
// provider sends the browser to a URL starting with stopAt (the relying
// party's redirect URI), which it returns without fetching. client should
// have a cookie jar when the relying party binds the flow to the browser;
// its CheckRedirect is replaced for the walk.
func SignIn(client *http.Client, authURL, username, password, stopAt string) (*url.URL, error) {
	c := *client
	var stopped *url.URL
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), stopAt) {
			stopped = req.URL
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}
	resp, err := c.Get(authURL)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", authURL, err)
	}
	if stopped != nil {
		resp.Body.Close()
		return stopped, nil
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := authRequestID.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no login form at %s (status %d): %.300s", resp.Request.URL, resp.StatusCode, body)
	}
	form := url.Values{"id": {string(m[1])}, "username": {username}, "password": {password}}
	post := resp.Request.URL.ResolveReference(&url.URL{Path: "/login/username"})
	resp, err = c.PostForm(post.String(), form)
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if stopped == nil {
		return nil, fmt.Errorf("provider did not redirect back (status %d at %s): %.300s", resp.StatusCode, resp.Request.URL, body)
	}
	return stopped, nil
}
