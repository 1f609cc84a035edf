package scenarios

import "testing"

// TestKeyMoves: adding a third set moves about a third of the city's
// users, every one of them to the added set, in KeyPhase order; removing
// it moves them back; data kept apart from the sets moves nothing.
func TestKeyMoves(t *testing.T) {
	text := func(mode string) string {
		return `name: moves
run: {duration: 1m}
topology:
  cities: [{name: a, azs: 3, racks: 1, machines: 1}]
striping: {granularity: az, reserve: [a/c]}
stack:
  gateway: {instances: 1}
  services: [{name: api, instances: 1}]
  data: {mode: ` + mode + `}
workload: {users: {count: 3000}}
scaling:
  sets: [{at: 40s, remove: a/c}, {at: 10s, add: a/c}]
`
	}
	f, err := Parse("moves.yaml", []byte(text("sharded")))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlan(f)
	ms := p.KeyMoves()
	if len(ms) != 2 || ms[0].Change != 1 || ms[0].Remove || ms[1].Change != 0 || !ms[1].Remove {
		t.Fatalf("moves %+v: want the add (entry 1) first, then the remove", ms)
	}
	add, rm := &ms[0], &ms[1]
	if n := len(add.Users); n < 900 || n > 1100 {
		t.Errorf("%d of 3000 users move to the added set, want about a third", n)
	}
	for i, u := range add.Users {
		if add.To(p, u) != add.Set || add.From(p, u) == add.Set {
			t.Fatalf("user %d moves from %d to %d, want to the added set %d", u, add.From(p, u), add.To(p, u), add.Set)
		}
		if i > 0 && KeyPhase(add.Users[i-1]) > KeyPhase(u) {
			t.Fatalf("users not in copy order at %d", i)
		}
	}
	if len(rm.Users) != len(add.Users) {
		t.Errorf("removing the set moves %d users, adding it moved %d", len(rm.Users), len(add.Users))
	}
	if d := add.Duration(100); d.Seconds() != float64(len(add.Users))/100 {
		t.Errorf("copy of %d keys at 100/s lasts %s", len(add.Users), d)
	}
	f, err = Parse("moves.yaml", []byte(text("proxy")))
	if err != nil {
		t.Fatal(err)
	}
	if ms := NewPlan(f).KeyMoves(); ms != nil {
		t.Errorf("proxy data moves keys: %+v", ms)
	}
}
