package scenarios

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite schema.json and docs/scenarios.md from the Go types")

// TestSchemaUpToDate fails when schema.json is not what the Go types and
// their comments generate; run make schema (go test -update) to refresh it.
func TestSchemaUpToDate(t *testing.T) {
	got, err := generateSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("schema.json is stale: run make schema (%s)", firstDiff(string(want), string(got)))
	}
	if !bytes.Equal(want, SchemaJSON) {
		t.Errorf("the embedded SchemaJSON differs from schema.json on disk")
	}
}

// firstDiff names the first line where two texts differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, x, y)
		}
	}
	return "no difference"
}

// compileSchema compiles the embedded schema, which checks it against the
// 2020-12 meta-schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema.json is not a valid JSON Schema: %v", err)
	}
	return sch
}

// yamlToJSON reads a YAML document into the values a JSON decoder would
// give: string-keyed maps, lists, strings, numbers, booleans and nil.
func yamlToJSON(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return jsonValue(v)
}

func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = j
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case nil, bool, string, int, int64, uint64, float64:
		return x, nil
	}
	return nil, fmt.Errorf("a YAML value of type %T has no JSON form", v)
}

func TestSchemaIsValid(t *testing.T) {
	compileSchema(t)
	var m map[string]any
	if err := json.Unmarshal(SchemaJSON, &m); err != nil {
		t.Fatal(err)
	}
	if m["$id"] != SchemaID {
		t.Errorf("$id = %v, want %s", m["$id"], SchemaID)
	}
}

// TestLibraryMatchesSchema checks every shipped scenario against the
// schema that its first line points editors at.
func TestLibraryMatchesSchema(t *testing.T) {
	sch := compileSchema(t)
	names := LibraryNames()
	if len(names) == 0 {
		t.Fatal("no library scenarios found")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(LibraryFS(), name+".yaml")
			if err != nil {
				t.Fatal(err)
			}
			v, err := yamlToJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s does not match the schema:\n%v", name, err)
			}
		})
	}
}

// TestSchemaRejects checks that the schema catches mistakes an editor
// should underline, each in an otherwise valid scenario.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	const base = "topology:\n  cities: [{name: a}]\nstack:\n  services: [{name: s}]\n"
	valid, err := yamlToJSON([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(valid); err != nil {
		t.Fatalf("the base document should match: %v", err)
	}
	for _, tc := range []struct{ name, extra, want string }{
		{"unknown top-level field", "colour: red\n", "colour"},
		{"unknown nested field", "run: {duraton: 5m}\n", "duraton"},
		{"duration without unit", "run: {duration: 5}\n", "/run/duration"},
		{"duration words", "run: {duration: five minutes}\n", "/run/duration"},
		{"rate without per", "workload: {rate: 10k}\n", "/workload/rate"},
		{"percent without sign", "slo: {availability: 99.9}\n", "/slo/availability"},
		{"bad granularity", "striping: {granularity: region}\n", "/striping/granularity"},
		{"unknown fault kind", "faults: [{at: 1m, kind: meteor, target: city=a}]\n", "/faults/0/kind"},
		{"param not for kind", "faults: [{at: 1m, kind: az-down, target: az=a/a, factor: 2}]\n", "/faults/0"},
		{"missing required param", "faults: [{at: 1m, kind: overload}]\n", "/faults/0"},
		{"wrong target kind", "faults: [{at: 1m, kind: rack-down, target: az=a/a}]\n", "/faults/0"},
		{"missing target", "faults: [{at: 1m, kind: machine-down}]\n", "/faults/0"},
		{"fault without at", "faults: [{kind: overload, factor: 2}]\n", "/faults/0"},
		{"slow machine speeds up", "faults: [{at: 1m, kind: slow-machine, target: machine=a/a/r1/m1, factor: 0.5}]\n", "/faults/0"},
		{"call names both", "stack:\n  services: [{name: s, calls: [{service: s, data: read}]}]\n", "/stack/services/0/calls/0"},
		{"call names neither", "stack:\n  services: [{name: s, calls: [{timeout: 1s}]}]\n", "/stack/services/0/calls/0"},
		{"bad distribution", "stack:\n  services: [{name: s, service_time: {dist: pareto, mean: 1ms}}]\n", "/stack/services/0/service_time"},
		{"unknown priority", "slo: {availability_by_priority: {urgent: 99%}}\n", "urgent"},
		{"unknown percentile", "slo: {latency: {p75: 10ms}}\n", "p75"},
		{"string for a count", "topology:\n  cities: [{name: a, azs: two}]\n", "/topology/cities/0/azs"},
		{"city name with slash", "topology:\n  cities: [{name: a/b}]\n", "/topology/cities/0/name"},
		// the validator's location for a propertyNames error varies between
		// runs, so this case looks for the key itself
		{"bad city key", "workload: {users: {by_city: {'a/b': 100%}}}\n", "invalid propertyName 'a/b'"},
		{"retries above ten", "workload: {client: {retries: 11}}\n", "/workload/client/retries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := mergeYAML(t, base, tc.extra)
			err := sch.Validate(doc)
			if err == nil {
				t.Fatalf("the schema accepted:\n%s", tc.extra)
			}
			if !strings.Contains(fmt.Sprintf("%v", err), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// mergeYAML overlays the top-level keys of extra on base.
func mergeYAML(t *testing.T, base, extra string) any {
	t.Helper()
	b, err := yamlToJSON([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	e, err := yamlToJSON([]byte(extra))
	if err != nil {
		t.Fatal(err)
	}
	m := b.(map[string]any)
	for k, v := range e.(map[string]any) {
		m[k] = v
	}
	return m
}
