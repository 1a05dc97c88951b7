package auth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestAuditErrorsAreUsed (SPEC §6 "Fail closed"): no call of Service.audit
// drops its error. A dropped one is an event the caller goes on without,
// as 80 sign-ins did on a full disk (issue 11.4). Checked on the source so
// that code merged later cannot bring the pattern back.
func TestAuditErrorsAreUsed(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			stmt, ok := n.(*ast.ExprStmt)
			if !ok {
				return true
			}
			call, ok := stmt.X.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "audit" {
				t.Errorf("%s: the error of audit is dropped", fset.Position(call.Pos()))
			}
			return true
		})
	}
}
