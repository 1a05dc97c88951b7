package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/spaceauth/spaceauth/internal/httpapi"
)

// Spec is a loaded, validated document and its router.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
	// unrouted answers requests the document does not describe: 404 for
	// an unknown path, 405 for a known path with another method.
	unrouted *openapi3.Operation
}

// probeMethods are the methods tried to tell an unknown path from a known
// path asked with the wrong method.
func probeMethods() []string {
	return []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace}
}

// envelopeKeys are the envelope's keys in the order SPEC §2 fixes.
func envelopeKeys() []string {
	return []string{"Status", "Message", "Value", "OpenInDialog", "OpenInWindow", "RedirectURL",
		"JavaScript", "UpdatedOn", "UpdatedBy", "Errors", "WasSuccessful"}
}

// Load reads and validates the OpenAPI document at path (relative to the
// calling test's package directory), failing the test if it cannot be read
// or is not a valid OpenAPI 3 document.
func Load(t testing.TB, path string) *Spec {
	t.Helper()
	s, err := load(path)
	if err != nil {
		t.Fatalf("openapi: %s: %v", path, err)
		return nil
	}
	return s
}

func load(path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("invalid document: %w", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	var responses []openapi3.NewResponsesOption
	for status, name := range map[int]string{http.StatusNotFound: "PageOrEnvelope", http.StatusMethodNotAllowed: "MethodNotAllowed"} {
		var ref *openapi3.ResponseRef
		if doc.Components != nil {
			ref = doc.Components.Responses[name]
		}
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("components.responses.%s is missing (it describes the %d answer to undocumented requests)", name, status)
		}
		responses = append(responses, openapi3.WithStatus(status, ref))
	}
	unrouted := openapi3.NewOperation()
	unrouted.Responses = openapi3.NewResponses(responses...)
	return &Spec{doc: doc, router: r, unrouted: unrouted}, nil
}

// Check validates one response to req against the document, reporting any
// mismatch (an undocumented status included) with t.Errorf.
func (s *Spec) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := s.check(req, status, header, body); err != nil {
		t.Errorf("openapi: %s %s -> %d: %v\nbody: %.400s", req.Method, req.URL.Path, status, err, body)
	}
}

func (s *Spec) check(req *http.Request, status int, header http.Header, body []byte) error {
	if header == nil {
		header = http.Header{}
	}
	head := req.Method == http.MethodHead
	method := req.Method
	if head {
		method = http.MethodGet
	}
	path := httpapi.CanonicalPath(req.URL.Path)
	// The document's only server is "/": match on the path alone, whatever
	// the (tenant) host and scheme.
	probe := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: req.URL.RawQuery}, Header: req.Header}
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		var rerr *routers.RouteError
		if !errors.As(err, &rerr) {
			return fmt.Errorf("router: %w", err)
		}
		return s.checkUnrouted(probe, path, head, status, header, body)
	}
	return s.validate(route, params, probe, head, status, header, body)
}

// checkUnrouted validates the answer to a request the document does not
// describe: 404 for an unknown path, 405 with Allow for a known one.
func (s *Spec) checkUnrouted(req *http.Request, path string, head bool, status int, header http.Header, body []byte) error {
	var documented []string
	for _, m := range probeMethods() {
		if _, _, err := s.router.FindRoute(&http.Request{Method: m, URL: req.URL, Header: req.Header}); err == nil {
			documented = append(documented, m)
		}
	}
	route := &routers.Route{Spec: s.doc, Path: path, Method: req.Method, Operation: s.unrouted}
	if len(documented) == 0 {
		if status != http.StatusNotFound {
			return fmt.Errorf("no documented path matches %s, so the answer must be 404, not %d", path, status)
		}
		return s.validate(route, nil, req, head, status, header, body)
	}
	if status != http.StatusMethodNotAllowed {
		return fmt.Errorf("%s is documented for %s only, so the answer must be 405, not %d", path, strings.Join(documented, ", "), status)
	}
	if err := s.validate(route, nil, req, head, status, header, body); err != nil {
		return err
	}
	var allow []string
	for _, v := range header.Values("Allow") {
		for m := range strings.SplitSeq(v, ",") {
			allow = append(allow, strings.ToUpper(strings.TrimSpace(m)))
		}
	}
	for _, m := range documented {
		if !slices.Contains(allow, m) {
			return fmt.Errorf("header Allow %q lacks the documented method %s", header.Values("Allow"), m)
		}
	}
	return nil
}

// validate checks status, headers, content type and body against route.
func (s *Spec) validate(route *routers.Route, params map[string]string, req *http.Request, head bool, status int, header http.Header, body []byte) error {
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, route.Method, route.Path)
	}
	resp := ref.Value
	ct := header.Get("Content-Type")
	var mt string
	if len(resp.Content) > 0 && !head {
		if ct == "" {
			return fmt.Errorf("no Content-Type; the document lists %s", mediaTypes(resp.Content))
		}
		var mtParams map[string]string
		var err error
		mt, mtParams, err = mime.ParseMediaType(ct)
		if err != nil {
			return fmt.Errorf("Content-Type %q: %v", ct, err)
		}
		if resp.Content.Get(mt) == nil {
			return fmt.Errorf("Content-Type %q is not documented for status %d (the document lists %s)", ct, status, mediaTypes(resp.Content))
		}
		if (isJSON(mt) || mt == "text/html") && !strings.EqualFold(mtParams["charset"], "utf-8") {
			return fmt.Errorf("Content-Type %q: want charset=utf-8", ct)
		}
		if len(body) == 0 {
			return errors.New("empty body")
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		ExcludeResponseBody: !isJSON(mt),
		// The schema's JSON dump drowns the reason; the pointer names the field.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	rin.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		return err
	}
	if isJSON(mt) {
		return checkEnvelope(status, body)
	}
	return nil
}

// checkEnvelope enforces what a schema cannot say about an envelope (SPEC
// §2): the key order, and Status equal to the HTTP status (or 500 under a
// 200, which the schemas allow only on the token endpoints).
func checkEnvelope(status int, body []byte) error {
	want := envelopeKeys()
	keys, err := topLevelKeys(body)
	if err != nil || len(keys) != len(want) {
		return nil // not an object, or not an envelope: the schema judged it
	}
	for _, k := range want {
		if !slices.Contains(keys, k) {
			return nil
		}
	}
	if !slices.Equal(keys, want) {
		return fmt.Errorf("envelope keys in the order %v, want %v", keys, want)
	}
	var env struct{ Status int }
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("envelope: %v", err)
	}
	if env.Status != status && !(status == http.StatusOK && env.Status == http.StatusInternalServerError) {
		return fmt.Errorf("envelope Status %d under HTTP %d", env.Status, status)
	}
	return nil
}

// topLevelKeys lists the keys of the JSON object in body, in order.
func topLevelKeys(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errors.New("not an object key")
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

func mediaTypes(c openapi3.Content) string {
	var ts []string
	for k := range c {
		ts = append(ts, k)
	}
	slices.Sort(ts)
	return strings.Join(ts, ", ")
}

// Client returns a copy of base (nil means a zero http.Client) whose
// Transport checks every response against the document before handing it
// back with its body intact, and which does not follow redirects, so that
// tests see 302s.
func (s *Spec) Client(t testing.TB, base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &validating{t: t, s: s, next: next}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// validating is the RoundTripper of Client.
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
		return nil, fmt.Errorf("openapitest: reading the response to %s %s: %w", req.Method, req.URL, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.s.Check(v.t, req, resp.StatusCode, resp.Header, body)
	return resp, nil
}
