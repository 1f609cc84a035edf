package draw

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeterministic keeps the package to the simulator's rules (it runs
// inside it): no go statement, and no import that could reach the wall
// clock or a global random source, so that every draw comes from the
// Source a caller passes in.
func TestDeterministic(t *testing.T) {
	allowed := map[string]bool{"math": true, "sort": true, "github.com/stripelab/stripelab/scenarios": true}
	files, _ := filepath.Glob("*.go")
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			if p := strings.Trim(im.Path.Value, `"`); !allowed[p] {
				t.Errorf("%s imports %s", path, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if _, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: a go statement", path)
			}
			return true
		})
	}
}
