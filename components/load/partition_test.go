package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/network"
	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/reports"
)

// TestRehomeThroughPartition runs the generator over real links of the
// network package to fake gateways: a partition (drop) between the users
// and one set's machines makes the health checks time out, the access
// layer acts rehome_delay after it saw that, and from then on the set's
// users are served OK by the other set; the revert leaves every link at
// its base toxics.
func TestRehomeThroughPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("6s of real time")
	}
	p := planOf(t, `name: partition
run: {duration: 6s, warmup: 0s, window: 1s}
topology:
  cities: [{name: a, azs: 2, racks: 1, machines: 2}]
  latency: {client: 1ms}
striping: {granularity: az}
stack:
  access: {rehome_delay: 300ms, failback: false}
  gateway: {instances: 2}
  discovery: {mode: mesh}
  services: [{name: api, instances: 1}]
  data: {mode: none}
workload:
  rate: 200/s
  client: {timeout: 500ms, retries: 0}
`)
	var bad atomic.Int64
	net := network.NewServer(context.Background(), 1)
	defer net.Close()
	links := map[int]string{}
	for _, pr := range network.PlanLinks(p) {
		if !pr.User() {
			continue
		}
		gw := gateway(t, []byte("k"), &bad)
		l, err := net.Add(network.Spec{Name: pr.Name(), Listen: "127.0.0.1:0", Upstream: gw.Listener.Addr().String(),
			From: pr.From, City: pr.City, To: pr.To, Delay: pr.Delay, Jitter: network.Jitter(p)})
		if err != nil {
			t.Fatal(err)
		}
		links[pr.To] = l.Listen
	}
	set0 := p.Cities[0].Sets[0]
	fault := &faults.Planned{Index: 0, Kind: faults.Partition, Target: faults.Scope{Kind: faults.ScopeSet}, PeerAll: true,
		Machines: p.Sets[set0].Machines, Params: faults.Params{Direction: "both", Action: "drop"}}
	var mu sync.Mutex
	var changes []RouteChange
	col := &collect{}
	start := time.Now()
	cut := 1 * time.Second
	// a check timeout well above what a loaded host (or the race detector)
	// takes to answer, so only the partition fails checks
	g, err := New(Config{Plan: p, Secret: []byte("k"), Start: start, Addr: func(c, gw int) string { return links[gw] }, HealthTimeout: time.Second,
		Record: col.record, OnRoute: func(rc RouteChange) { mu.Lock(); changes = append(changes, rc); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	var inj *network.Injection
	injected := make(chan error, 1)
	time.AfterFunc(cut, func() {
		var err error
		inj, err = net.Inject(p, fault)
		injected <- err
	})
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-injected; err != nil {
		t.Fatal(err)
	}
	if len(inj.Links) != len(p.Sets[set0].Machines) { // one gateway per machine of the set
		t.Fatalf("partition on %d links, want the %d to the set's gateways", len(inj.Links), len(p.Sets[set0].Machines))
	}
	var emptied time.Time
	spurious := int64(math.MaxInt64)
	for _, rc := range changes {
		if rc.Up {
			t.Fatalf("failback is off, yet %+v", rc)
		}
		if rc.Set != set0 {
			t.Logf("a gateway outside the cut was seen down (a host too loaded to answer its checks): %+v", rc)
			spurious = min(spurious, rc.Time.Sub(start).Nanoseconds())
			continue
		}
		if rc.Seen.Sub(start) < cut || rc.Time.Sub(rc.Seen) < 300*time.Millisecond {
			t.Fatalf("seen at %v, acted %v later; want after the cut at %v and at least the rehome_delay later",
				rc.Seen.Sub(start), rc.Time.Sub(rc.Seen), cut)
		}
		if rc.Emptied {
			emptied = rc.Time
		}
	}
	if emptied.IsZero() {
		t.Fatalf("set %d never emptied: %+v", set0, changes)
	}
	const timeout = 500 * time.Millisecond
	moved := emptied.Sub(start).Nanoseconds() + int64(timeout) // requests in flight at the move end by their timeout
	var before, lost, after int
	for _, r := range col.reqs {
		if int(r.Set) != set0 {
			continue
		}
		switch {
		case r.Send < int64(cut-timeout): // done before the cut
			if r.Outcome == reports.OK {
				before++
			} else {
				t.Logf("before the cut (a host too loaded to answer in time): %+v", r)
			}
		case r.Send > moved:
			after++
			if (r.Outcome != reports.OK || !r.CrossSet) && r.Send < spurious {
				t.Fatalf("after the move: %+v, want OK in the other set", r)
			}
		case r.Outcome == reports.Timeout:
			lost++
		}
	}
	if before == 0 || lost == 0 || after == 0 {
		t.Fatalf("set %d's users: %d OK before the cut, %d timed out in it, %d re-homed after", set0, before, lost, after)
	}
	if err := inj.Revert(); err != nil {
		t.Fatal(err)
	}
	if err := net.VerifyAll(); err != nil {
		t.Fatal(err)
	}
}
