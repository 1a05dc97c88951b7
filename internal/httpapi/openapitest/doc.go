// Package openapitest holds the HTTP tests to docs/openapi.yaml.
//
// Load reads and validates the document; Spec.Check validates one response
// (status, required headers, Content-Type with its charset, and, for JSON,
// the body's schema) against the operation the request resolves to; and
// Spec.Client wraps an *http.Client so that every response a test receives
// is checked, without following redirects. A mismatch fails the test with
// t.Errorf, so the document cannot drift from the code.
//
// Requests are matched on method and path only: the host and scheme are
// ignored (tenant routes arrive on hosts such as demo.localhost:8080), a
// trailing slash is dropped and the seed's /sys/... spelling is read as
// /api/sys/..., as the server does. HEAD is checked against GET.
//
// Beyond the schemas, Check enforces what SPEC §2 says of every envelope:
// its keys come in the order Status, Message, Value, OpenInDialog,
// OpenInWindow, RedirectURL, JavaScript, UpdatedOn, UpdatedBy, Errors,
// WasSuccessful,
// and its Status equals the HTTP status, the one exception being HTTP 200
// with Status 500 (a failed credential check, allowed only where the
// document's schema allows it). JSON and HTML answers must declare
// charset=utf-8. A request whose path is not documented must be answered
// 404; a documented path with an undocumented method must be answered 405
// with an Allow header naming at least the documented methods; both are
// validated against the document's PageOrEnvelope and MethodNotAllowed
// responses.
package openapitest
