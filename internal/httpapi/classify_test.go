package httpapi

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// authErrors are the exported errors of package auth, by name. A new one
// makes TestEveryAuthErrorHasARow fail until it is listed here and has a
// row in classify.
var authErrors = map[string]error{
	"ErrBadCredentials":       auth.ErrBadCredentials,
	"ErrNoCredentials":        auth.ErrNoCredentials,
	"ErrForbidden":            auth.ErrForbidden,
	"ErrNotFound":             auth.ErrNotFound,
	"ErrLinkInvalid":          auth.ErrLinkInvalid,
	"ErrPasskeyInvalid":       auth.ErrPasskeyInvalid,
	"ErrResetInvalid":         auth.ErrResetInvalid,
	"ErrNoSession":            auth.ErrNoSession,
	"ErrBusy":                 auth.ErrBusy,
	"ErrEmailTaken":           auth.ErrEmailTaken,
	"ErrSlugTaken":            auth.ErrSlugTaken,
	"ErrUnknownBusiness":      auth.ErrUnknownBusiness,
	"ErrTwoFactorNeeded":      auth.ErrTwoFactorNeeded,
	"ErrTwoFactorInvalid":     auth.ErrTwoFactorInvalid,
	"ErrMustReset":            auth.ErrMustReset,
	"ErrInvalidGrant":         auth.ErrInvalidGrant,
	"ErrCodeInvalid":          auth.ErrCodeInvalid,
	"ErrTOTPEnabled":          auth.ErrTOTPEnabled,
	"ErrUnavailable":          auth.ErrUnavailable,
	"ErrNotMember":            auth.ErrNotMember,
	"ErrSecondFactorRequired": auth.ErrSecondFactorRequired,
	"ErrSSOFailed":            auth.ErrSSOFailed,
	"ErrProviderUnavailable":  auth.ErrProviderUnavailable,
	"FieldErrors":             auth.FieldErrors{"email": {"field_required"}},
	"RateLimited":             &auth.RateLimited{RetryAfter: 3 * time.Second},
	"MustReset":               &auth.MustReset{Token: "t"},
	"TwoFactorPending":        &auth.TwoFactorPending{Token: "t"},
}

// exportedAuthErrors parses internal/auth (not its tests) for exported Err*
// variables and exported types with an Error method.
func exportedAuthErrors(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, f := range sourceFiles(t, filepath.Join("..", "auth"), 0) {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
							names = append(names, n.Name)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Error" || len(d.Recv.List) != 1 {
					continue
				}
				typ := d.Recv.List[0].Type
				if st, ok := typ.(*ast.StarExpr); ok {
					typ = st.X
				}
				if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
					names = append(names, id.Name)
				}
			}
		}
	}
	return names
}

// TestEveryAuthErrorHasARow: classify is the one table from errors to
// answers, so no error auth can return falls through to a 500.
func TestEveryAuthErrorHasARow(t *testing.T) {
	names := exportedAuthErrors(t)
	if len(names) < len(authErrors) {
		t.Fatalf("found %d exported errors in internal/auth, fewer than the %d listed: is the parser looking at the right package?", len(names), len(authErrors))
	}
	for _, name := range names {
		err, ok := authErrors[name]
		if !ok {
			t.Errorf("auth.%s has no entry in authErrors (and maybe no row in classify)", name)
			continue
		}
		for _, on := range []surface{onToken, onCaller, onMe, onCode, onResetRequest, onResetComplete, onForm, onPage, onOAuth, onAccount} {
			if f := classify(err, on); f.key == "internal_error" || f.http == 500 {
				t.Errorf("classify(auth.%s, surface %d) = %+v: no row", name, on, f)
			}
		}
	}
}

// TestRetryAfterRounding: one rounding for every answer that says when to
// come back, envelope or OAuth2.
func TestRetryAfterRounding(t *testing.T) {
	for _, c := range []struct {
		ns   int64
		want string
	}{{1, "1"}, {1e9, "1"}, {1e9 + 1, "2"}, {5e9, "5"}, {59e8, "6"}} {
		if got := retryAfter(time.Duration(c.ns)); got != c.want {
			t.Errorf("retryAfter(%dns) = %s, want %s", c.ns, got, c.want)
		}
	}
}

// TestNoStoreImport: httpapi speaks auth's vocabulary (auth.User,
// auth.Business, auth.ErrUnavailable); the storage package stays below auth.
func TestNoStoreImport(t *testing.T) {
	for name, f := range sourceFiles(t, ".", parser.ImportsOnly) {
		for _, imp := range f.Imports {
			if strings.Contains(imp.Path.Value, "/internal/store") {
				t.Errorf("%s imports %s", name, imp.Path.Value)
			}
		}
	}
}

// sourceFiles parses the non-test Go files of dir, by name.
func sourceFiles(t *testing.T, dir string, mode parser.Mode) map[string]*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string]*ast.File{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, mode)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = f
	}
	return out
}

// TestPasskeyInvalidRow: a refused passkey is 401 passkey_invalid on every
// surface but the account page's (400), without a Basic challenge (a
// browser ceremony, not a client that can answer with Basic).
func TestPasskeyInvalidRow(t *testing.T) {
	for _, on := range []surface{onToken, onCaller, onMe, onCode, onResetRequest, onResetComplete, onForm, onPage, onOAuth, onAccount} {
		want := 401
		if on == onAccount {
			want = 400 // signed in: the passkey being added failed
		}
		f := classify(fmt.Errorf("finish: %w", auth.ErrPasskeyInvalid), on)
		if f.http != want || f.status != want || f.key != "passkey_invalid" || f.challenge {
			t.Errorf("surface %d: %+v, want %d passkey_invalid without a challenge", on, f, want)
		}
	}
}
