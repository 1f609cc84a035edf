package sim

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wallClock lists the time functions that read or wait on the wall clock.
var wallClock = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"NewTimer": true, "NewTicker": true, "Tick": true, "AfterFunc": true,
}

// randConstructors are the math/rand/v2 functions that build a generator
// from an explicit source; every other package-level function uses the
// global source.
var randConstructors = map[string]bool{"New": true, "NewPCG": true, "NewZipf": true, "NewChaCha8": true}

// lintFile reports the uses of the wall clock, of the global random
// source and go statements in one file. A line may opt out with a
// "lint:ignore" comment saying why.
func lintFile(name string, src []byte) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	imports := map[string]string{} // local name -> path
	for _, im := range f.Imports {
		path := strings.Trim(im.Path.Value, `"`)
		local := filepath.Base(path)
		if path == "math/rand/v2" {
			local = "rand"
		}
		if im.Name != nil {
			local = im.Name.Name
		}
		imports[local] = path
	}
	lines := strings.Split(string(src), "\n")
	var out []string
	report := func(p token.Pos, format string, args ...any) {
		pos := fset.Position(p)
		if !strings.Contains(lines[pos.Line-1], "lint:ignore") {
			out = append(out, fmt.Sprintf("%s: %s", pos, fmt.Sprintf(format, args...)))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.GoStmt:
			report(x.Pos(), "go statement: one simulation runs on one goroutine")
		case *ast.SelectorExpr:
			id, ok := x.X.(*ast.Ident)
			if !ok || id.Obj != nil {
				return true
			}
			switch imports[id.Name] {
			case "time":
				if wallClock[x.Sel.Name] {
					report(x.Pos(), "time.%s reads the wall clock", x.Sel.Name)
				}
			case "math/rand", "math/rand/v2":
				if ast.IsExported(x.Sel.Name) && !randConstructors[x.Sel.Name] && !isRandType(x.Sel.Name) {
					report(x.Pos(), "rand.%s uses the global random source; draw from a stream", x.Sel.Name)
				}
			}
		}
		return true
	})
	return out, nil
}

func isRandType(name string) bool {
	switch name {
	case "Rand", "Zipf", "PCG", "ChaCha8", "Source":
		return true
	}
	return false
}

// TestNoNondeterminism fails if the simulator reads the wall clock, uses
// the global random source or starts a goroutine.
func TestNoNondeterminism(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		found, err := lintFile(path, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Error(f)
		}
	}
}

// TestLintCatches makes sure the lint notices each banned construct and
// honours the escape hatch.
func TestLintCatches(t *testing.T) {
	src := `package sim
import ("time"; r "math/rand/v2")
func f() {
	go f()
	_ = time.Now()
	_ = r.IntN(3)
	_ = r.New(r.NewPCG(1, 2))
	_ = time.Duration(5)
	time.Sleep(1) // lint:ignore a test of the escape hatch
}
`
	found, err := lintFile("x.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Fatalf("expected 3 findings (go, time.Now, rand.IntN), got %d: %q", len(found), found)
	}
	for i, want := range []string{"go statement", "time.Now", "rand.IntN"} {
		if !strings.Contains(found[i], want) {
			t.Errorf("finding %d = %q, want it to mention %s", i, found[i], want)
		}
	}
}
