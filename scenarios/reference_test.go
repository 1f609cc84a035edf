package scenarios

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

const referencePath = "../docs/scenarios.md"

// TestReferenceUpToDate fails when the generated parts of
// docs/scenarios.md differ from what the Go comments and faults.Table
// give; run make schema (go test -update) to refresh them.
func TestReferenceUpToDate(t *testing.T) {
	old, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := generateReference(string(old))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(referencePath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != string(old) {
		t.Errorf("docs/scenarios.md is stale: run make schema (%s)", firstDiff(string(old), doc))
	}
}

// TestDocExamples loads every complete scenario shown in the docs.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	sch := compileSchema(t)
	n := 0
	for i, b := range blocks {
		if !strings.Contains(b[1], "topology:") {
			continue
		}
		n++
		f, err := Parse(referencePath, []byte(b[1]))
		if err != nil {
			t.Errorf("example %d does not load:\n%v\n%s", i, err, b[1])
			continue
		}
		if err := checkPlan(NewPlan(f)); err != nil {
			t.Errorf("example %d: %v", i, err)
		}
		if v, err := yamlToJSON([]byte(b[1])); err != nil {
			t.Error(err)
		} else if err := sch.Validate(v); err != nil {
			t.Errorf("example %d does not match the schema: %v", i, err)
		}
	}
	if n < 3 {
		t.Errorf("found %d complete examples, want at least 3", n)
	}
}
