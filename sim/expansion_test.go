package sim

import (
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
)

// grow is one city of three AZ sets, the third kept in reserve and added
// at 60s (ready at 80s, routed at 90s). #DATA is replaced.
const grow = `
run: {duration: 2m, warmup: 5s, seed: 4}
topology:
  cities: [{name: a, azs: 3, racks: 2, machines: 3}]
striping: {granularity: az, reserve: [a/c]}
stack:
  access: {rehome_delay: 10s}
  discovery: {mode: registry, heartbeat: 2s, ttl: 6s, refresh: 5s}
  services:
    - {name: api, instances: 2, concurrency: 16, service_time: {dist: exponential, mean: 2ms}, calls: [{data: request, timeout: 300ms}]}
  data: {mode: sharded, replicas: 2, placement: az} #DATA
workload:
  rate: 2k/s
  users: {count: 30k}
  client: {timeout: 1s, retries: 0}
scaling:
  startup: 20s
  copy_rate: 1k/s
  sets: [{at: 60s, add: a/c}]
`

func growWith(data string) string {
	return strings.Replace(grow, "data: {mode: sharded, replicas: 2, placement: az} #DATA", data, 1)
}

// An added set takes about 1/(N+1) of the users and no user moves between
// the sets already in service (rendezvous hashing): checked user by user.
func TestAddedSetMovesOnlyItsUsers(t *testing.T) {
	p := planOf(t, grow)
	sets := p.Cities[0].Sets
	moved := 0
	for u := 0; u < 30000; u++ {
		before := p.HomeSet(0, u)
		after := p.Rendezvous(sets, u, func(int) bool { return true })
		if p.Sets[before].Reserve {
			t.Fatalf("user %d homed on the reserved set", u)
		}
		if after != before {
			if p.Sets[after].Name != "a/c" {
				t.Fatalf("user %d moved from %s to %s, not to the added set", u, p.Sets[before].Name, p.Sets[after].Name)
			}
			moved++
		}
	}
	if share := float64(moved) / 30000; share < 0.32 || share > 0.347 {
		t.Errorf("%.3f of users moved, want about 1/3", share)
	}
}

func TestAddedSetShardedCopiesProxyDoesNot(t *testing.T) {
	_, sh := runWorld(t, grow)
	_, px := runWorld(t, growWith("data: {mode: proxy, shards: 6, replicas: 2, placement: az}"))
	_, gl := runWorld(t, growWith("data: {mode: global, shards: 6, replicas: 2, placement: az}"))
	for name, res := range map[string]*reports.Result{"sharded": sh, "proxy": px, "global": gl} {
		if len(res.Scaling.Sets) != 1 {
			t.Fatalf("%s: %d sets added, want 1", name, len(res.Scaling.Sets))
		}
		s := res.Scaling.Sets[0]
		if s.Added != 60e9 || s.Ready != 80e9 || s.Routed != 90e9 {
			t.Errorf("%s: added %s, ready %s, routed %s; want 60s, 80s (startup 20s), 90s (rehome 10s)", name, dur(s.Added), dur(s.Ready), dur(s.Routed))
		}
		if share := float64(s.Moved) / float64(s.Users); share < 0.32 || share > 0.347 {
			t.Errorf("%s: %d of %d users moved, want about 1/3", name, s.Moved, s.Users)
		}
		if c := res.Totals.Counts; c.OK() != c.Offered {
			t.Errorf("%s: %d of %d requests failed while adding a set", name, c.Offered-c.OK(), c.Offered)
		}
		// after routing the new set serves about its third of the traffic
		if got := float64(res.Totals.BySet[2].Offered) / float64(res.Totals.Counts.Offered); got < 0.08 || got > 0.1 {
			t.Errorf("%s: the added set served %.3f of the requests, want about 1/3 of the 30s of 115s measured (0.087)", name, got)
		}
	}
	s := sh.Scaling.Sets[0]
	if s.Keys != s.Moved || s.CopyEnd-s.CopyStart != (s.Moved*1e9+999)/1000 || s.Forwarded == 0 {
		t.Errorf("sharded: %d keys copied in %s with %d requests forwarded; want the %d moved users' keys at 1k/s and some forwarded", s.Keys, dur(s.CopyEnd-s.CopyStart), s.Forwarded, s.Moved)
	}
	for name, res := range map[string]*reports.Result{"proxy": px, "global": gl} {
		if s := res.Scaling.Sets[0]; s.Keys != 0 || s.Forwarded != 0 || s.CopyStart != -1 {
			t.Errorf("%s: %d keys moved, %d forwarded; want nothing moved", name, s.Keys, s.Forwarded)
		}
	}
	// forwarding crosses sets while the copy runs, and stops after it
	during, after := crossSet(sh, 90, 99), crossSet(sh, 101, 120)
	if during == 0 || after != 0 {
		t.Errorf("sharded: cross-set requests %d during the copy, %d after; want some, then none", during, after)
	}
}

func crossSet(res *reports.Result, from, to float64) int64 {
	var n int64
	for _, w := range res.Windows {
		if s := float64(w.Start) / 1e9; s >= from && s < to {
			n += w.CrossSet
		}
	}
	return n
}

// Before it is added a reserved set runs nothing: no user is homed there,
// and its instances count in no queue row.
func TestReservedSetIdleUntilAdded(t *testing.T) {
	_, res := runWorld(t, strings.Replace(grow, "sets: [{at: 60s, add: a/c}]", "sets: []", 1))
	if res.Sets[2].Name != "a/c" || res.Totals.BySet[2].Offered != 0 {
		t.Errorf("the reserved set %s got %d requests", res.Sets[2].Name, res.Totals.BySet[2].Offered)
	}
	if c := res.Totals.Counts; c.OK() != c.Offered {
		t.Errorf("%d requests failed", c.Offered-c.OK())
	}
	for _, q := range res.Queues {
		if q.Name == "api" && q.Instances != 4 {
			t.Errorf("%d api instances counted, want the 4 of the sets in service", q.Instances)
		}
	}
}

// A scale action on every set leaves a reserved set alone until it is
// added, and scales it like the others afterwards.
func TestScaleActionSkipsReservedSet(t *testing.T) {
	y := strings.Replace(grow, "sets: [{at: 60s, add: a/c}]", "sets: [{at: 60s, add: a/c}]\n  actions: [{at: 30s, service: api, to: 3}, {at: 100s, service: api, to: 4}]", 1)
	_, res := runWorld(t, y)
	per := map[int]int{}
	for _, st := range res.Scaling.Starts {
		if st.Decided == 30e9 {
			per[st.Set]++
		}
	}
	if per[0] != 1 || per[1] != 1 || per[2] != 0 {
		t.Errorf("instances started at 30s by set: %v; want one in a/a and a/b, none in the reserved a/c", per)
	}
	c := &res.Scaling.Components[0]
	if got := c.Ready[len(c.Ready)-1]; got != 12 {
		t.Errorf("%d api instances ready at the end, want 4 in each of the 3 sets", got)
	}
}

// Removing a set is the reverse: its users move to their next sets after
// the rehome delay, its keys are copied out with forwarding meanwhile, and
// its instances stop grace after the copy; nothing fails.
func TestRemovedSetMovesItsUsersAway(t *testing.T) {
	y := strings.Replace(grow, "striping: {granularity: az, reserve: [a/c]}", "striping: {granularity: az}", 1)
	y = strings.Replace(y, "sets: [{at: 60s, add: a/c}]", "grace: 5s\n  sets: [{at: 30s, remove: a/c}]", 1)
	_, res := runWorld(t, y)
	if len(res.Scaling.Sets) != 1 {
		t.Fatalf("%d set changes", len(res.Scaling.Sets))
	}
	s := res.Scaling.Sets[0]
	if !s.Removed || s.Routed != 40e9 || s.Keys != s.Moved || s.CopyEnd != 40e9+(s.Moved*1e9+999)/1000 || s.Ready != s.CopyEnd+5e9 {
		t.Errorf("removal %+v: want routed away at 40s, its users' keys copied at 1k/s, stopped 5s after the copy", s)
	}
	if share := float64(s.Moved) / float64(s.Users); share < 0.31 || share > 0.35 {
		t.Errorf("%d of %d users left, want about a third", s.Moved, s.Users)
	}
	if s.Forwarded == 0 {
		t.Errorf("no request forwarded to the removed set's shard during the copy")
	}
	if c := res.Totals.Counts; c.OK() != c.Offered {
		t.Errorf("%d of %d requests failed while removing a set", c.Offered-c.OK(), c.Offered)
	}
	if n := crossSet(res, sec(s.CopyEnd)+1, 120); n != 0 {
		t.Errorf("%d cross-set requests after the copy, want 0", n)
	}
}
