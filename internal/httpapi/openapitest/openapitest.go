// Package openapitest holds HTTP tests to docs/openapi.yaml: every response
// a test receives is validated against the document (status, headers,
// content type and, for JSON, the body schema), so the document cannot
// drift from the code.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Spec is a loaded, validated document and its router.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
}

// Load reads and validates the document at path, failing the test if it is
// not a valid OpenAPI 3 document.
func Load(t testing.TB, path string) *Spec {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("openapi: load %s: %v", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi: %s is invalid: %v", path, err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi: router: %v", err)
	}
	return &Spec{doc: doc, router: r}
}

// canonicalPath folds the spellings the server accepts onto the documented
// one: no trailing slash, /api before /sys.
func canonicalPath(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	if strings.HasPrefix(p, "/sys/") {
		p = "/api" + p
	}
	return p
}

// Check validates one response to req, reporting mismatches with t.Errorf.
func (s *Spec) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := s.check(req, status, header, body); err != nil {
		t.Errorf("openapi: %s %s -> %d: %v\nbody: %.400s", req.Method, req.URL.Path, status, err, body)
	}
}

func (s *Spec) check(req *http.Request, status int, header http.Header, body []byte) error {
	// The document's server is "/": match on the path alone, whatever the
	// (tenant) host.
	u := &url.URL{Path: canonicalPath(req.URL.Path), RawQuery: req.URL.RawQuery}
	probe := &http.Request{Method: req.Method, URL: u, Header: req.Header}
	if probe.Method == http.MethodHead {
		probe.Method = http.MethodGet
	}
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		// No documented operation: the server must answer with the generic
		// refusal, a 404 or 405 envelope (or HTML page).
		return checkUnrouted(status, header, body)
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, route.Method, route.Path)
	}
	ct := header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if len(resp.Value.Content) > 0 && req.Method != http.MethodHead {
		if resp.Value.Content.Get(mt) == nil {
			return fmt.Errorf("content type %q is not documented for status %d", ct, status)
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		ExcludeResponseBody: mt != "application/json" || req.Method == http.MethodHead}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	rin.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), rin)
}

func checkUnrouted(status int, header http.Header, body []byte) error {
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return fmt.Errorf("no documented operation answers this request, yet the status is %d", status)
	}
	if status == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
		return fmt.Errorf("405 without Allow")
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	switch mt {
	case "text/html":
		return nil
	case "application/json":
		var env map[string]json.RawMessage
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("not an envelope: %v", err)
		}
		for _, k := range []string{"Status", "Message", "Value", "Errors", "WasSuccessful"} {
			if _, ok := env[k]; !ok {
				return fmt.Errorf("envelope lacks %s", k)
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected content type %q", header.Get("Content-Type"))
}

// Client returns a client whose every response is validated; it does not
// follow redirects, so tests see 302s.
func (s *Spec) Client(t testing.TB, base *http.Client) *http.Client {
	c := *base
	inner := c.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c.Transport = &validating{t: t, s: s, next: inner}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

type validating struct {
	t    testing.TB
	s    *Spec
	next http.RoundTripper
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.s.Check(v.t, req, resp.StatusCode, resp.Header, body)
	return resp, nil
}
