package scenarios

import (
	"bytes"
	"io"
	"io/fs"
	"testing"
)

// brokenSeeds are snippets that once tripped, or could trip, the loader.
var brokenSeeds = []string{
	"",
	"---\n",
	"null\n",
	"[]\n",
	"topology: {cities: [{name: a}]}\n",
	"topology: {cities: [{name: a}]}\nstack: {services: [{name: s}]}\n",
	"topology: {cities: [{name: a, azs: 0}]}\nstack: {services: [{name: s}]}\n",
	"topology: {cities: [{name: a, azs: [x, x]}]}\nstack: {services: [{name: s}]}\n",
	"topology: {cities: [{name: a, machines: 1}]}\nstriping: {granularity: machine}\nstack: {services: [{name: s}], data: {replicas: 1, placement: machine}}\n",
	"topology: {cities: [{name: a}, {name: b}]}\nstack: {services: [{name: s}], data: {mode: global, replicas: 2, placement: city}}\n",
	"topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy, shards: 3}}\nfaults: [{at: 1m, kind: shard-primary-down, target: shard=2}]\n",
	"topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{service: s}]}]}\n",
	"topology: {cities: [{name: a}]}\nstack: {services: [{name: s}]}\nfaults: [{at: 1m, kind: partition, target: az=a/a}]\n",
	"topology: {cities: [{name: a}]}\nstack: {services: [{name: s}]}\nrun: {duration: 9223372036s}\n",
	"a: &a [*a]\n",
	"run: {<<: {seed: 1}}\n",
	"topology: {cities: [{name: a}]}\nstack: &s {services: [{name: s}]}\nx: *s\n",
	"workload: {users: {count: 1e300}}\n",
	"run:\n\tduration: 1m\n",
	"topology: {cities: [{name: a, azs: 99999, racks: 99999}]}\n",
}

// FuzzLoad checks that no input makes Parse panic, and that whatever it
// accepts expands into a consistent plan.
func FuzzLoad(f *testing.F) {
	lib := LibraryFS()
	for _, name := range LibraryNames() {
		data, err := fs.ReadFile(lib, name+".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range brokenSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err != nil {
			if file != nil {
				t.Fatalf("Parse returned both a file and an error: %v", err)
			}
			if msg := err.Error(); msg == "" {
				t.Fatal("empty error message")
			}
			return
		}
		p := NewPlan(file)
		if err := checkPlan(p); err != nil {
			t.Fatalf("inconsistent plan: %v\n%s", err, data)
		}
		if err := p.Describe(io.Discard); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(file.Text, data) {
			t.Fatal("the file's text is not the input")
		}
	})
}
