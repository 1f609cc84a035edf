package scenarios

import "testing"

func TestCountAndPlural(t *testing.T) {
	for _, tc := range []struct {
		n          int
		noun, want string
	}{
		{1, "fault", "1 fault"}, {2, "fault", "2 faults"}, {0, "set", "0 sets"}, {1, "set", "1 set"},
		{3, "city", "3 cities"}, {2, "copy", "2 copies"}, {4, "shard primary", "4 shard primaries"},
		{2, "az", "2 azs"}, {2, "day", "2 days"}, {2, "process", "2 processes"},
	} {
		if got := Quantity(tc.n, tc.noun); got != tc.want {
			t.Errorf("Quantity(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}

// TestSummaryPlurals checks the one-line summary every command prints of a
// plan with one city, set and fault.
func TestSummaryPlurals(t *testing.T) {
	f, err := Parse("one.yaml", []byte(`
topology: {cities: [{name: c, azs: 1, racks: 1, machines: 1}]}
striping: {granularity: city}
stack: {gateway: {instances: 1}, services: [{name: a, instances: 1}], data: {mode: none}}
faults: [{at: 1m, for: 1m, kind: machine-down, target: machine=c/a/r1/m1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := NewPlan(f).Summary(), "1 city, 1 machine, 1 set (city), 3 instances, 0 shards, 1 fault"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}
