package shard_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/shard"
	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
)

// ackLog is the acknowledged writes a test sent, as the checker keeps them.
type ackLog struct {
	mu    sync.Mutex
	n     atomic.Int64
	acked []string
	at    map[string]time.Time
}

// write sends one write; at records when it was sent (no later than the
// primary wrote it).
func (a *ackLog) write(c *shardtest.Cluster, target int, prefix string) wire.Reply {
	id := fmt.Sprintf("%s%d.0", prefix, a.n.Add(1))
	sent := time.Now()
	rp := c.Call(target, wire.Write, id, int(a.n.Load()%50), "v-"+id)
	if rp.Outcome == wire.OK && rp.Wrote {
		a.mu.Lock()
		a.acked = append(a.acked, id)
		if a.at == nil {
			a.at = map[string]time.Time{}
		}
		a.at[id] = sent
		a.mu.Unlock()
	}
	return rp
}

func (a *ackLog) ids() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.acked)
}

func missing(want, found []string) []string {
	var out []string
	for _, id := range want {
		if !slices.Contains(found, id) {
			out = append(out, id)
		}
	}
	return out
}

func data(c *shardtest.Cluster) (detection, promotion time.Duration) {
	d := c.Plan.Scenario.Stack.Data
	return d.Detection.Std(), d.Promotion.Std()
}

// With sync replication and majority acks, losing the primary while
// writes are in flight loses no acknowledged write; a copy is promoted no
// sooner than detection plus promotion after the last heartbeat, and the
// old primary restarts from its disk as a copy of the new epoch.
func TestSyncMajoritySurvivesPrimaryLoss(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	old := c.Reps()[0]
	var log ackLog
	var target atomic.Int64
	target.Store(int64(old))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if rp := log.write(c, int(target.Load()), "s"); rp.Outcome != wire.OK {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	before := len(log.ids())
	killed := time.Now()
	c.Kill(old)
	next, role := c.WaitPrimary(old, c.FailoverBound())
	took := time.Since(killed)
	target.Store(int64(next))
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()

	detection, promotion := data(c)
	hb := detection / 10
	if took < detection+promotion-hb {
		t.Errorf("promoted %s after the kill, sooner than detection %s + promotion %s", took, detection, promotion)
	}
	if role.Epoch != 2 {
		t.Errorf("new primary epoch %d, want 2", role.Epoch)
	}
	ids := log.ids()
	t.Logf("promoted %d after %s; %d writes acknowledged, %d before the kill", next, took.Round(time.Millisecond), len(ids), before)
	if before == 0 || len(ids) == before {
		t.Fatalf("writes acknowledged: %d before the kill, %d in all: the test wrote too little", before, len(ids))
	}
	if m := missing(ids, c.Check(next, ids).Found); len(m) > 0 {
		t.Fatalf("%d of %d acknowledged writes missing on the new primary: %v", len(m), len(ids), m[:min(len(m), 10)])
	}
	if ev, ok := shardtest.HasEvent(c.Events(next), node.EvPromoted); !ok || ev.Epoch != 2 {
		t.Errorf("new primary's events: %+v", c.Events(next))
	}
	for _, in := range c.Reps() {
		if in != old {
			if _, ok := shardtest.HasEvent(c.Events(in), node.EvPrimaryLost); !ok {
				t.Errorf("copy %d emitted no %s", in, node.EvPrimaryLost)
			}
		}
	}

	// The old primary comes back from its disk, learns epoch 2 and catches up.
	c.Start(old)
	want := c.Role(next)
	waitFor(t, c.FailoverBound(), func() bool {
		r := c.Role(old)
		return !r.Primary && r.Epoch == 2 && r.Applied == want.Applied && r.Hash == want.Hash
	})
	for _, k := range []string{node.EvFenced, node.EvCaughtUp} {
		if _, ok := shardtest.HasEvent(c.Events(old), k); !ok {
			t.Errorf("restarted old primary emitted no %s: %+v", k, c.Events(old))
		}
	}
	if m := missing(ids, c.Check(old, ids).Found); len(m) > 0 {
		t.Errorf("restarted old primary lacks %d acknowledged writes", len(m))
	}
}

func waitFor(t *testing.T, within time.Duration, ok func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With async replication, writes the primary acknowledged less than lag
// before it died never reached a copy: after the failover they are gone;
// writes the copies had applied survive.
func TestAsyncLagLosesRecentWrites(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.AsyncLag)
	old := c.Reps()[0]
	lag := c.Plan.Scenario.Stack.Data.Lag.Std()
	var early, late ackLog
	for range 20 {
		early.write(c, old, "a")
	}
	time.Sleep(lag)
	waitFor(t, c.FailoverBound(), func() bool { // shipped to every copy
		return c.Role(c.Reps()[1]).Applied == 20 && c.Role(c.Reps()[2]).Applied == 20
	})
	for range 5 {
		late.write(c, old, "b")
	}
	killed := time.Now()
	c.Kill(old)
	next, _ := c.WaitPrimary(old, c.FailoverBound())

	e := early.ids()
	if len(e) != 20 {
		t.Fatalf("early writes acknowledged: %d of 20", len(e))
	}
	if m := missing(e, c.Check(next, e).Found); len(m) > 0 {
		t.Errorf("writes older than lag lost: %v", m)
	}
	l := late.ids()
	found := c.Check(next, l).Found
	var young []string // sent less than lag before the kill: cannot have shipped
	for _, id := range l {
		if killed.Sub(late.at[id]) < lag {
			young = append(young, id)
		}
	}
	if len(young) == 0 {
		t.Fatalf("no write sent within lag %s of the kill: the machine is too slow for this test", lag)
	}
	for _, id := range young {
		if slices.Contains(found, id) {
			t.Errorf("write %s, sent %s before the kill (lag %s), reached a copy", id, killed.Sub(late.at[id]), lag)
		}
	}
	t.Logf("lost %d of %d acknowledged writes", len(l)-len(found), len(l)+len(e))
}

// A copy restarted from its disk keeps its writes, epoch and role.
func TestRestartFromDisk(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	p := c.Reps()[0]
	var log ackLog
	for range 30 {
		log.write(c, p, "r")
	}
	last := log.write(c, p, "r")
	for _, in := range c.Reps() {
		c.Kill(in)
	}
	for _, in := range c.Reps() {
		c.Start(in)
	}
	r := c.Role(p)
	if !r.Primary || r.Epoch != 1 || r.Applied != last.Version {
		t.Fatalf("after restart: %+v, want primary of epoch 1 at %d", r, last.Version)
	}
	ids := log.ids()
	if m := missing(ids, c.Check(p, ids).Found); len(m) > 0 {
		t.Fatalf("lost across a restart: %v", m)
	}
	rp := c.Call(p, wire.Read, "x.0", int(log.n.Load()%50), "")
	if rp.Outcome != wire.OK || string(rp.Value) != fmt.Sprintf("v-r%d.0", log.n.Load()) {
		t.Fatalf("read after restart: %+v %q", rp, rp.Value)
	}
}

// partition isolates the primary and waits for a copy to be promoted.
func partition(t *testing.T) (c *shardtest.Cluster, old, next int) {
	c = shardtest.NewClusterLinks(t, shardtest.SyncMajority, true)
	old = c.Reps()[0]
	if rp := c.Call(old, wire.Write, "1.0", 1, "before"); rp.Outcome != wire.OK {
		t.Fatalf("first write: %+v", rp)
	}
	c.Isolate(old, true)
	next, role := c.WaitPrimary(old, c.FailoverBound())
	if role.Epoch != 2 {
		t.Fatalf("promoted under epoch %d, want 2", role.Epoch)
	}
	if r := c.Role(old); !r.Primary || r.Epoch != 1 {
		t.Fatalf("isolated old primary: %+v, want still primary of epoch 1", r)
	}
	return c, old, next
}

// An isolated old primary that took a write nobody received is fenced by
// the new primary's epoch when the partition heals, steps down, drops its
// diverged log and catches up; then it refuses writes, naming the primary.
func TestFencedOldPrimaryRejoins(t *testing.T) {
	c, old, next := partition(t)
	rp := c.Call(old, wire.Write, "d.0", 2, "diverged") // on the old primary only
	t.Logf("write to the isolated old primary: %v %s", rp.Outcome, rp.Reason)
	c.Isolate(old, false)
	want := c.Role(next)
	waitFor(t, c.FailoverBound(), func() bool {
		r := c.Role(old)
		want = c.Role(next)
		return !r.Primary && r.Epoch == 2 && r.KnownPrimary == next && r.Applied == want.Applied && r.Hash == want.Hash
	})
	for _, k := range []string{node.EvFenced, node.EvCaughtUp} {
		if _, ok := shardtest.HasEvent(c.Events(old), k); !ok {
			t.Errorf("old primary emitted no %s", k)
		}
	}
	if got := c.Check(old, []string{"1.0", "d.0"}).Found; !slices.Equal(got, []string{"1.0"}) {
		t.Errorf("old primary after catching up holds %v, want [1.0]", got)
	}
	rp, h := c.Do(old, &wire.Request{ID: "w.0", User: 3, Priority: 1, Key: 3, Op: wire.Write, Deadline: time.Second}, 0)
	if rp.Outcome != wire.Rejected || rp.Reason != "not_primary" || h.Get(shard.HPrimary) != fmt.Sprint(next) {
		t.Errorf("write to the old primary: %+v, primary header %q, want not_primary naming %d", rp, h.Get(shard.HPrimary), next)
	}
}

// A write carrying a newer epoch than the copy's (the data path saw the
// new primary) is refused as fenced, and the old primary steps down.
func TestFencedByClientEpoch(t *testing.T) {
	c, old, next := partition(t)
	rp, _ := c.Do(old, &wire.Request{ID: "f.0", User: 3, Priority: 1, Key: 3, Op: wire.Write, Deadline: time.Second, Value: []byte("x")}, 2)
	if rp.Outcome != wire.Rejected || rp.Reason != "fenced" {
		t.Fatalf("write with epoch 2 to the old primary: %+v, want rejected fenced", rp)
	}
	if r := c.Role(old); r.Primary || r.Epoch != 2 {
		t.Fatalf("old primary after a fenced write: %+v", r)
	}
	if got := c.Check(old, []string{"f.0"}).Found; len(got) != 0 {
		t.Errorf("fenced write stored: %v", got)
	}
	c.Isolate(old, false)
	waitFor(t, c.FailoverBound(), func() bool { return c.Role(old).KnownPrimary == next })
}
