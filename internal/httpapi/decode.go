package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// maxBody is the largest request body accepted (SPEC §1).
const maxBody = 64 << 10

// inputError is a request the parser refuses; errors.go renders it.
type inputError struct {
	status int    // 400, 413 or 415
	field  string // the offending field, if any
	key    string // i18n message key
}

func (e *inputError) Error() string {
	return fmt.Sprintf("bad input (%d): %s %s", e.status, e.field, e.key)
}

type valueKind int

const (
	kindString valueKind = iota
	kindNumber
	kindBool
	kindNull
	kindComposite // array or object that was not flattened
)

type value struct {
	text string
	kind valueKind
}

// fields is a decoded body: lower-cased keys (nested objects flattened as
// "auth.validityinminutes") to scalar values.
type fields map[string]value

// decodeBody reads a JSON or form body per SPEC §1: keys match
// case-insensitively, a key given twice is refused, bodies over 64 KiB get
// 413, other media types 415. A missing Content-Type is sniffed.
func decodeBody(w http.ResponseWriter, r *http.Request) (fields, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return fields{}, nil
	}
	return parseBody(r.Header.Get("Content-Type"), body)
}

// readBody reads a request body of at most 64 KiB (413 above it); no body
// is nil.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &inputError{status: http.StatusRequestEntityTooLarge, key: "payload_too_large"}
		}
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
	}
	return body, nil
}

// parseBody is decodeBody without the transport; the fuzz target drives it.
func parseBody(contentType string, body []byte) (fields, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return fields{}, nil
	}
	kind := "form"
	if contentType == "" {
		if trimmed[0] == '{' || trimmed[0] == '[' {
			kind = "json"
		}
	} else {
		mt, _, err := mime.ParseMediaType(contentType)
		switch {
		case err != nil:
			return nil, &inputError{status: http.StatusUnsupportedMediaType, key: "unsupported_media_type"}
		case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
			kind = "json"
		case mt == "application/x-www-form-urlencoded":
			kind = "form"
		default:
			return nil, &inputError{status: http.StatusUnsupportedMediaType, key: "unsupported_media_type"}
		}
	}
	if kind == "json" {
		return parseJSON(body)
	}
	return parseForm(string(body))
}

func parseForm(body string) (fields, error) {
	if !utf8.ValidString(body) {
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_text"}
	}
	vals, err := url.ParseQuery(body)
	if err != nil {
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
	}
	out := fields{}
	for k, vs := range vals {
		if err := out.add(k, value{text: vs[0]}); err != nil {
			return nil, err
		}
		if len(vs) > 1 {
			return nil, &inputError{status: http.StatusBadRequest, field: fieldName(k), key: "duplicate_field"}
		}
	}
	return out, nil
}

func (f fields) add(key string, v value) error {
	lk := strings.ToLower(key)
	if _, dup := f[lk]; dup {
		return &inputError{status: http.StatusBadRequest, field: fieldName(key), key: "duplicate_field"}
	}
	if !utf8.ValidString(v.text) || !utf8.ValidString(key) {
		return &inputError{status: http.StatusBadRequest, field: fieldName(key), key: "invalid_text"}
	}
	f[lk] = v
	return nil
}

// parseJSON walks the tokens itself, because encoding/json silently keeps the
// last of two duplicate keys and replaces invalid UTF-8.
func parseJSON(body []byte) (fields, error) {
	if !utf8.Valid(body) {
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_text"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
	}
	out := fields{}
	if err := readObject(dec, "", out, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
	}
	return out, nil
}

const maxDepth = 8

// malformed is the answer to JSON that cannot be read.
func malformed() error { return &inputError{status: http.StatusBadRequest, key: "invalid_request"} }

// members reads the tokens of an opened object or array, at most maxDepth
// deep, handing each to each, then its closing delimiter.
func members(dec *json.Decoder, depth int, each func(tok json.Token) error) error {
	if depth > maxDepth {
		return malformed()
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed()
		}
		if err := each(tok); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed()
	}
	return nil
}

// nested reads the object or array that d opened; objects inside arrays
// are read into a throwaway set (arrays carry no fields).
func nested(dec *json.Decoder, d json.Delim, prefix string, out fields, depth int) error {
	if d == '{' {
		return readObject(dec, prefix, out, depth)
	}
	return members(dec, depth, func(tok json.Token) error {
		if d, ok := tok.(json.Delim); ok {
			return nested(dec, d, "", fields{}, depth+1)
		}
		return nil
	})
}

func readObject(dec *json.Decoder, prefix string, out fields, depth int) error {
	return members(dec, depth, func(tok json.Token) error {
		key, ok := tok.(string)
		if !ok {
			return malformed()
		}
		full := prefix + key
		tok, err := dec.Token()
		if err != nil {
			return malformed()
		}
		var v value
		switch t := tok.(type) {
		case string:
			v = value{text: t}
		case json.Number:
			v = value{text: t.String(), kind: kindNumber}
		case bool:
			v = value{text: fmt.Sprint(t), kind: kindBool}
		case nil:
			v = value{kind: kindNull}
		case json.Delim:
			if err := nested(dec, t, full+".", out, depth+1); err != nil {
				return err
			}
			v = value{kind: kindComposite}
		}
		return out.add(full, v)
	})
}

// withQuery merges the query parameters into the body's fields, the one
// place the rule of SPEC §5.8 lives, for every handler that reads both. A
// value that is not valid as sent but is valid after one URL-decoding (a
// client that encoded it once too often, {"email":"ana%40example.com"}) is
// taken decoded. A field given in both places: equal values agree; when they
// differ the valid one wins; two valid, different values are a 400, since
// guessing which one the client meant could act on the wrong account. When
// only is given, the other query parameters are ignored (a handler that must
// not take, say, a password from a URL).
func (f fields) withQuery(q url.Values, only ...string) (fields, error) {
	allowed := func(string) bool { return true }
	if len(only) > 0 {
		allowed = func(lk string) bool {
			for _, o := range only {
				if strings.EqualFold(o, lk) {
					return true
				}
			}
			return false
		}
	}
	out := fields{}
	for k, v := range f {
		out[k], _ = resolveInput(k, v)
	}
	seen := map[string]bool{}
	for k, vs := range q {
		lk := strings.ToLower(k)
		if seen[lk] || len(vs) > 1 {
			return nil, &inputError{status: http.StatusBadRequest, field: fieldName(k), key: "duplicate_field"}
		}
		seen[lk] = true
		if !allowed(lk) {
			continue
		}
		if !utf8.ValidString(vs[0]) {
			return nil, &inputError{status: http.StatusBadRequest, field: fieldName(k), key: "invalid_text"}
		}
		fromQuery, queryOK := resolveInput(lk, value{text: vs[0]})
		bodyValue, inBody := f[lk]
		if !inBody || bodyValue.kind == kindNull {
			out[lk] = fromQuery
			continue
		}
		fromBody, bodyOK := resolveInput(lk, bodyValue)
		switch {
		case bodyOK && queryOK:
			if !sameInput(lk, fromBody.text, fromQuery.text) {
				return nil, &inputError{status: http.StatusBadRequest, field: fieldName(k), key: "conflicting_field"}
			}
			out[lk] = fromBody
		case queryOK:
			out[lk] = fromQuery
		default:
			// The body's value, valid or not: the handler names its fault.
			out[lk] = fromBody
		}
	}
	return out, nil
}

// resolveInput applies §5.8's one URL-decoding: v as sent when it is valid
// for field lk, else its decoding when that is valid. ok says whether the
// result is valid.
func resolveInput(lk string, v value) (value, bool) {
	if v.kind != kindString && v.kind != kindNumber {
		return v, false
	}
	if validInput(lk, v.text) {
		return v, true
	}
	if v.kind != kindString || !strings.Contains(v.text, "%") {
		return v, false
	}
	// PathUnescape, not QueryUnescape: a literal '+' is part of many
	// addresses and was not encoded by anyone.
	d, err := url.PathUnescape(v.text)
	if err != nil || !utf8.ValidString(d) || !validInput(lk, d) {
		return v, false
	}
	return value{text: d}, true
}

// validInput is what "valid" means for the fields clients send in both the
// query and the body; any other field is valid when it is non-empty text
// without control characters.
func validInput(lk, text string) bool {
	switch lk {
	case "email":
		return auth.ValidEmail(strings.TrimSpace(text))
	case "validityinminutes", "validforinminutes", "businessid":
		_, err := parseMinutes(strings.TrimSpace(text), errBadMinutes)
		return err == nil
	case "token":
		// JWTs and spaceauth's secrets are base64url with dots.
		return text != "" && strings.IndexFunc(text, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		}) < 0
	}
	return strings.TrimSpace(text) != "" && strings.IndexFunc(text, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) < 0
}

// sameInput compares two valid values of field lk: emails as the store
// matches them, case-insensitively; numbers by value; the rest exactly.
func sameInput(lk, a, b string) bool {
	switch lk {
	case "email":
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	case "validityinminutes", "validforinminutes", "businessid":
		x, _ := parseMinutes(strings.TrimSpace(a), errBadMinutes)
		y, _ := parseMinutes(strings.TrimSpace(b), errBadMinutes)
		return x == y
	}
	return a == b
}

// str returns the text of a string field; numbers are accepted as their
// text. A missing or null field is "". Text with NUL or other C0 control
// characters (tab excepted) is refused.
func (f fields) str(name string) (string, error) {
	v, ok := f[strings.ToLower(name)]
	if !ok || v.kind == kindNull {
		return "", nil
	}
	if v.kind == kindComposite || v.kind == kindBool {
		return "", &inputError{status: http.StatusBadRequest, field: name, key: "wrong_type"}
	}
	for _, r := range v.text {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return "", &inputError{status: http.StatusBadRequest, field: name, key: "invalid_text"}
		}
	}
	return v.text, nil
}

// minutes parses a validity: an integer >= 1 given as a JSON number or a
// numeric string (SPEC §1). Absent gives 0 (the default); the service clamps
// large values to its maximum.
func (f fields) minutes(name string) (int64, error) {
	v, ok := f[strings.ToLower(name)]
	if !ok || v.kind == kindNull {
		return 0, nil
	}
	bad := &inputError{status: http.StatusBadRequest, field: name, key: "invalid_integer"}
	if v.kind != kindString && v.kind != kindNumber {
		return 0, bad
	}
	return parseMinutes(strings.TrimSpace(v.text), bad)
}

// maxNumberLen bounds a number from a client (SPEC §1): twelve characters
// hold every useful value and keep parsing cheap whatever arrives.
const maxNumberLen = 12

// parseMinutes parses a positive integer. The shape is checked before any
// conversion (at most 12 characters: an optional sign, decimal digits and an
// optional fraction of zeros such as ".0"; no exponent), so that no input can
// make the parser build a huge number (issue #18.1).
func parseMinutes(s string, bad error) (int64, error) {
	digits, ok := numberDigits(s)
	if !ok {
		return 0, bad
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 {
		return 0, bad
	}
	return n, nil
}

// numberDigits checks s against the SPEC §1 number shape and returns its
// sign and digits without a "+" or a zero fraction, ready for strconv.
func numberDigits(s string) (string, bool) {
	if s == "" || len(s) > maxNumberLen {
		return "", false
	}
	sign := ""
	switch s[0] {
	case '+':
		s = s[1:]
	case '-':
		sign, s = "-", s[1:]
	}
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		frac := s[dot+1:]
		if frac == "" || strings.Trim(frac, "0") != "" {
			return "", false
		}
		s = s[:dot]
	}
	if !allDigits(s) {
		return "", false
	}
	return sign + s, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fieldName is the name reported in Errors: the canonical spelling of a
// known field, else the key as sent.
func fieldName(key string) string {
	switch strings.ToLower(key) {
	case "email":
		return "email"
	case "password":
		return "password"
	case "validityinminutes":
		return "validityInMinutes"
	case "auth.validityinminutes":
		return "auth.validityInMinutes"
	case "totp":
		return "totp"
	case "token":
		return "token"
	case "confirm":
		return "confirm"
	case "code":
		return "code"
	case "businessid":
		return "businessId"
	case "validforinminutes":
		return "validForInMinutes"
	}
	if len(key) > 64 {
		key = key[:64]
	}
	return key
}

// source says where a handler's input comes from.
type source int

const (
	fromBody         source = iota
	fromBodyAndQuery        // merged per SPEC §5.8 (withQuery)
	fromQuery               // the query alone
)

// input is a request's fields and the problems found reading them.
type input struct {
	f  fields
	fe auth.FieldErrors
}

// readInput is every handler's one opening of its input: the body decoded
// (SPEC §1), merged with the query when the handler reads it (only: the
// query parameters it may take; none named means all), then read by the
// handler's read, whose field problems come back together as one
// auth.FieldErrors.
func readInput(w http.ResponseWriter, r *http.Request, from source, read func(in *input), only ...string) error {
	f := fields{}
	var err error
	if from != fromQuery {
		if f, err = decodeBody(w, r); err != nil {
			return err
		}
	}
	if from != fromBody {
		if f, err = f.withQuery(r.URL.Query(), only...); err != nil {
			return err
		}
	}
	in := newInput(f)
	if read != nil {
		read(in)
	}
	return in.err()
}

func newInput(f fields) *input { return &input{f: f, fe: auth.FieldErrors{}} }

// err is the field problems found so far as one error, nil when none.
func (in *input) err() error {
	if len(in.fe) > 0 {
		return in.fe
	}
	return nil
}

// has reports whether the field was given at all.
func (in *input) has(name string) bool {
	_, ok := in.f[strings.ToLower(name)]
	return ok
}

// bad reports whether a problem is already recorded against name.
func (in *input) bad(name string) bool {
	_, bad := in.fe[name]
	return bad
}

// text reads a string field, recording a type or character problem.
func (in *input) text(name string) string {
	v, err := in.f.str(name)
	if err != nil {
		in.fe.Add(name, err.(*inputError).key)
	}
	return v
}

// given reads a required text field as sent (a password is not trimmed).
func (in *input) given(name string) string {
	v := in.text(name)
	if !in.bad(name) && v == "" {
		in.fe.Add(name, "field_required")
	}
	return v
}

// required reads a required text field, trimmed.
func (in *input) required(name string) string {
	v := strings.TrimSpace(in.text(name))
	if !in.bad(name) && v == "" {
		in.fe.Add(name, "field_required")
	}
	return v
}

// email reads the required email field, which must be an address.
func (in *input) email() string {
	email := in.required("email")
	if !in.bad("email") && !auth.ValidEmail(email) {
		in.fe.Add("email", "invalid_email")
	}
	return email
}

// minutes reads an optional validity (0: the default).
func (in *input) minutes(name string) int64 {
	m, err := in.f.minutes(name)
	if err != nil {
		in.fe.Add(name, "invalid_integer")
	}
	return m
}

// businessID reads an optional positive businessId.
func (in *input) businessID() int64 {
	if !in.has("businessId") {
		return 0
	}
	n, err := in.f.minutes("businessId")
	if err != nil || n == 1<<63-1 {
		in.fe.Add("businessId", "invalid_integer")
		return 0
	}
	return n
}
