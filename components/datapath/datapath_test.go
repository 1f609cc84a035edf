package datapath_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/datapath"
	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

var req = shardtest.Request

// The data path sends writes to the primary, and after the primary dies
// it finds the promoted copy by itself: through a refused connection, the
// next copy's not_primary answer naming the new primary, and the epoch.
func TestFollowsPromotion(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	wc := wire.NewClient(8)
	defer wc.Close()
	dp := datapath.New(c.Env(c.Instance(scenarios.RoleProxy), nil), wc) // a proxy routes directly
	ctx := context.Background()
	old := c.Reps()[0]
	var acked []string
	for i := range 20 {
		id := fmt.Sprintf("a%d.0", i)
		if rp := dp.Do(ctx, req(id, i, wire.Write)); rp.Outcome != wire.OK || !rp.Wrote {
			t.Fatalf("write %d: %+v", i, rp)
		}
		acked = append(acked, id)
	}
	if p, e := dp.Primary(0); p != old || e != 1 {
		t.Fatalf("believed primary %d epoch %d, want %d epoch 1", p, e, old)
	}
	c.Kill(old)
	end := time.Now().Add(c.FailoverBound())
	var last wire.Reply
	for i := 0; time.Now().Before(end); i++ {
		id := fmt.Sprintf("b%d.0", i)
		last = dp.Do(ctx, req(id, i, wire.Write))
		if last.Outcome == wire.OK {
			acked = append(acked, id)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if last.Outcome != wire.OK || !last.Wrote {
		t.Fatalf("no write acknowledged within %s of the kill; last %+v", c.FailoverBound(), last)
	}
	next, role := c.WaitPrimary(old, time.Second)
	if p, e := dp.Primary(0); p != next || e != role.Epoch {
		t.Errorf("believed primary %d epoch %d, want %d epoch %d", p, e, next, role.Epoch)
	}
	found := c.Check(next, acked).Found
	for _, id := range acked {
		if !slices.Contains(found, id) {
			t.Errorf("acknowledged write %s missing", id)
		}
	}
	if rp := dp.Do(ctx, req("r.0", 3, wire.Read)); rp.Outcome != wire.OK || string(rp.Value) != "v-a3.0" {
		t.Errorf("read after the failover: %+v %q", rp, rp.Value)
	}
}

// Reads go to the copy nearest the caller's machine, and to the next one
// when it is down; writes never go anywhere but the primary.
func TestReadsNearest(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	wc := wire.NewClient(8)
	defer wc.Close()
	me, near := -1, -1 // a proxy sharing its machine with a copy that is not the primary
	for i, pi := range c.Plan.Instances {
		for _, in := range c.Reps()[1:] {
			if pi.Role == scenarios.RoleProxy && c.Plan.Instances[in].Machine == pi.Machine {
				me, near = i, in
			}
		}
	}
	if near < 0 {
		t.Fatal("test plan: no proxy on a machine with a copy that is not the primary")
	}
	dp := datapath.New(c.Env(me, nil), wc)
	ctx := context.Background()
	dp.Do(ctx, req("w.0", 1, wire.Write))
	for i := range 10 {
		if rp := dp.Do(ctx, req(fmt.Sprintf("r%d.0", i), 1, wire.Read)); rp.Outcome != wire.OK {
			t.Fatalf("read: %+v", rp)
		}
	}
	if got := c.Served(near, "read"); got != 10 {
		t.Errorf("nearest copy %d served %v reads, want 10", near, got)
	}
	c.Kill(near)
	if rp := dp.Do(ctx, req("r.1", 1, wire.Read)); rp.Outcome != wire.OK || string(rp.Value) != "v-w.0" {
		t.Errorf("read with the nearest copy down: %+v", rp)
	}
}

// With data.reads: primary every read goes to the primary.
func TestReadsPrimary(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority+"\n    reads: primary")
	wc := wire.NewClient(8)
	defer wc.Close()
	dp := datapath.New(c.Env(c.Instance(scenarios.RoleProxy), nil), wc)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dp.Do(context.Background(), req(fmt.Sprintf("r%d.0", i), 1, wire.Read))
		}()
	}
	wg.Wait()
	if got := c.Served(c.Reps()[0], "read"); got != 10 {
		t.Errorf("primary served %v of 10 reads", got)
	}
}

// A deadline already spent, or a city outside the plan, is answered at once.
func TestBadRequests(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	wc := wire.NewClient(8)
	defer wc.Close()
	dp := datapath.New(c.Env(c.Instance(scenarios.RoleProxy), nil), wc)
	r := req("x.0", 1, wire.Write)
	r.City = 7
	if rp := dp.Do(context.Background(), r); rp.Outcome != wire.Rejected {
		t.Errorf("bad city: %+v", rp)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rp := dp.Do(ctx, req("y.0", 1, wire.Write)); rp.Outcome.Definite() {
		t.Errorf("cancelled: %+v, want an indefinite outcome", rp)
	}
}

// A primary cut off without refusing connections (a blackhole) costs one
// timed-out write; the next write asks a live copy, which names the
// promoted primary.
func TestBlackholedPrimary(t *testing.T) {
	c := shardtest.NewClusterLinks(t, shardtest.SyncMajority, true)
	old := c.Reps()[0]
	c.Isolate(old, true)
	next, _ := c.WaitPrimary(old, c.FailoverBound())
	hole, err := net.Listen("tcp", shardtest.Host(79)+".9:0") // never accepts: requests get no answer
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	wc := wire.NewClient(8)
	defer wc.Close()
	me := c.Instance(scenarios.RoleProxy)
	env := c.Env(me, nil)
	for i := range env.Config.Peers {
		if env.Config.Peers[i].Instance == old {
			env.Config.Peers[i].Addr = hole.Addr().String()
		}
	}
	dp := datapath.New(env, wc)
	r := req("1.0", 1, wire.Write)
	r.Deadline = 200 * time.Millisecond
	if rp := dp.Do(context.Background(), r); rp.Outcome != wire.Timeout {
		t.Fatalf("write to the blackholed primary: %+v, want timeout", rp)
	}
	if rp := dp.Do(context.Background(), req("2.0", 1, wire.Write)); rp.Outcome != wire.OK || !rp.Wrote {
		t.Fatalf("next write: %+v, want acknowledged by %d", rp, next)
	}
	if p, _ := dp.Primary(0); p != next {
		t.Errorf("believed primary %d, want %d", p, next)
	}
}

// A primary whose host is gone behind a network link (the link accepts,
// then closes: a reset) costs one write; the next write asks a live copy.
func TestResetPrimary(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	old := c.Reps()[0]
	c.Kill(old)
	next, _ := c.WaitPrimary(old, c.FailoverBound())
	ln, err := net.Listen("tcp", shardtest.Host(79)+".8:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	wc := wire.NewClient(8)
	defer wc.Close()
	env := c.Env(c.Instance(scenarios.RoleProxy), nil)
	for i := range env.Config.Peers {
		if env.Config.Peers[i].Instance == old {
			env.Config.Peers[i].Addr = ln.Addr().String()
		}
	}
	dp := datapath.New(env, wc)
	if rp := dp.Do(context.Background(), req("1.0", 1, wire.Write)); rp.Outcome != wire.Reset {
		t.Fatalf("write to the reset primary: %+v, want reset (and no retry)", rp)
	}
	if got := c.Check(next, []string{"1.0"}).Found; len(got) != 0 {
		t.Fatalf("a write answered reset was retried elsewhere: %v", got)
	}
	if rp := dp.Do(context.Background(), req("2.0", 1, wire.Write)); rp.Outcome != wire.OK || !rp.Wrote {
		t.Fatalf("next write: %+v, want acknowledged by %d", rp, next)
	}
}
