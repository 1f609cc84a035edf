package reports

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoConcurrency: the reports package starts no goroutine and shares
// nothing between goroutines (no go statement, no sync import), so the
// race run leaves it out (Makefile, make race) as it leaves out sim/.
func TestNoConcurrency(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, im := range f.Imports {
			if p := strings.Trim(im.Path.Value, `"`); p == "sync" || p == "sync/atomic" {
				t.Errorf("%s: imports %s: make race would have to run reports/ again", fset.Position(im.Pos()), p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: go statement: make race would have to run reports/ again", fset.Position(g.Pos()))
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked %d files: run from the package folder", checked)
	}
}
