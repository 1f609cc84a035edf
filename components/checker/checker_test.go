package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// fakeShard is one shard copy: a role and the ids it stores.
type fakeShard struct {
	role   Role
	stored map[string]bool
	checks atomic.Int64
}

func (f *fakeShard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/role":
		json.NewEncoder(w).Encode(f.role)
	case "/v1/check":
		f.checks.Add(1)
		var req checkReq
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := checkResp{Epoch: f.role.Epoch, Primary: f.role.Primary, Found: []string{}}
		for _, id := range req.IDs {
			if f.stored[id] {
				resp.Found = append(resp.Found, id)
			}
		}
		json.NewEncoder(w).Encode(resp)
	default:
		http.NotFound(w, r)
	}
}

// refusing is an address that refuses connections: a shard copy gone.
func refusing() string {
	dead := httptest.NewServer(http.NotFoundHandler())
	defer dead.Close()
	return dead.Listener.Addr().String()
}

func plan(t *testing.T) *scenarios.Plan {
	f, err := scenarios.LoadLibrary("ci/smoke")
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	if len(p.Shards) < 2 || len(p.Shards[0].Replicas) < 2 {
		t.Fatalf("ci/smoke: want 2 shards of 2 copies, got %d", len(p.Shards))
	}
	return p
}

// TestCheck: shard 0's new primary (epoch 2) holds all but three writes
// and its old primary still claims primacy at epoch 1 with every write:
// the three are lost, read from the epoch-2 copy. Shard 1 answers on no
// copy: its writes are unknown, not lost.
func TestCheck(t *testing.T) {
	p := plan(t)
	sh0, sh1 := p.Shards[0].Replicas, p.Shards[1].Replicas
	old := &fakeShard{role: Role{Instance: sh0[0], Primary: true, Epoch: 1}, stored: map[string]bool{}}
	cur := &fakeShard{role: Role{Instance: sh0[1], Primary: true, Epoch: 2}, stored: map[string]bool{}}
	addrs := map[int]string{}
	for in, f := range map[int]*fakeShard{sh0[0]: old, sh0[1]: cur} {
		ts := httptest.NewServer(f)
		defer ts.Close()
		addrs[in] = ts.Listener.Addr().String()
	}
	deadAddr := refusing()
	for _, in := range sh1 {
		addrs[in] = deadAddr
	}
	var writes []Write
	lostAt := map[string]bool{}
	for i := range 1200 {
		w := Write{ID: fmt.Sprintf("%d.1", i), User: i, Shard: i % 2, Key: uint64(i), Time: int64(i) * int64(time.Millisecond)}
		writes = append(writes, w)
		if w.Shard != 0 {
			continue
		}
		old.stored[w.ID] = true
		if i == 100 || i == 102 || i == 900 {
			lostAt[w.ID] = true
			continue
		}
		cur.stored[w.ID] = true
	}
	faultOf := func(t int64) int {
		if t < int64(500*time.Millisecond) {
			return 0
		}
		return -1
	}
	res := Check(context.Background(), Config{Plan: p, Addr: func(i int) string { return addrs[i] }, Batch: 100, Timeout: time.Second, FaultOf: faultOf}, writes)
	if res.Acked != 1200 || res.Found != 597 || res.Lost != 3 || res.Unknown != 600 {
		t.Fatalf("acked %d found %d lost %d unknown %d, want 1200 597 3 600", res.Acked, res.Found, res.Lost, res.Unknown)
	}
	if res.Shards[0].Primary != sh0[1] || res.Shards[0].Epoch != 2 {
		t.Fatalf("shard 0 read from %d at epoch %d, want %d at 2", res.Shards[0].Primary, res.Shards[0].Epoch, sh0[1])
	}
	if old.checks.Load() != 0 {
		t.Fatalf("the stale primary was read back %d times", old.checks.Load())
	}
	if cur.checks.Load() != 6 {
		t.Fatalf("600 ids in batches of 100 took %d requests", cur.checks.Load())
	}
	if res.Shards[1].Primary != -1 || res.Shards[1].Err == "" {
		t.Fatalf("shard 1: %+v, want no primary and an error", res.Shards[1])
	}
	if len(res.Faults) != 1 || res.Faults[0].Fault != 0 || res.Faults[0].Lost != 2 ||
		res.Faults[0].First != 100*int64(time.Millisecond) || res.Faults[0].Span() != 2*int64(time.Millisecond) {
		t.Fatalf("fault 0 losses: %+v", res.Faults)
	}
	if res.Other.Lost != 1 || res.Other.First != 900*int64(time.Millisecond) {
		t.Fatalf("other losses: %+v", res.Other)
	}
	for _, w := range res.Sample {
		if !lostAt[w.ID] {
			t.Fatalf("sample holds %s, which is stored", w.ID)
		}
	}
}

// TestCheckPrimaryMoves: the primary steps down between finding it and
// the read-back; the batch is retried on the copy that took over.
func TestCheckPrimaryMoves(t *testing.T) {
	p := plan(t)
	sh0 := p.Shards[0].Replicas
	a := &fakeShard{role: Role{Primary: true, Epoch: 1}, stored: map[string]bool{"1.1": true}}
	b := &fakeShard{role: Role{Primary: false, Epoch: 1}, stored: map[string]bool{"1.1": true}}
	var calls atomic.Int64
	ha := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/check" && calls.Add(1) == 1 {
			// step down: b takes over
			a.role.Primary, b.role.Primary, b.role.Epoch = false, true, 2
		}
		a.ServeHTTP(w, r)
	})
	ta, tb := httptest.NewServer(ha), httptest.NewServer(b)
	defer ta.Close()
	defer tb.Close()
	addrs := map[int]string{sh0[0]: ta.Listener.Addr().String(), sh0[1]: tb.Listener.Addr().String()}
	res := Check(context.Background(), Config{Plan: p, Addr: func(i int) string { return addrs[i] }}, []Write{{ID: "1.1", Shard: 0}})
	if res.Found != 1 || res.Unknown != 0 || res.Shards[0].Primary != sh0[1] {
		t.Fatalf("%+v", res)
	}
}

// removalPlan is three sets of one city under sharded data, the third
// removed at 2s: its users' keys move to the other two shards.
func removalPlan(t *testing.T) *scenarios.Plan {
	t.Helper()
	return setsPlan(t, "{granularity: az}", "{at: 2s, remove: shenzhen/c}")
}

// setsPlan is three AZ sets of one city under sharded data with the given
// striping and set changes.
func setsPlan(t *testing.T, striping, sets string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse("removal.yaml", []byte(`
name: removal
run: {duration: 6s, warmup: 1s, seed: 7}
topology:
  cities:
    - {name: shenzhen, azs: 3, racks: 1, machines: 1}
striping: `+striping+`
stack:
  gateway: {instances: 1}
  services:
    - {name: api, instances: 1, calls: [{data: request}]}
  data: {mode: sharded, replicas: 1}
workload:
  rate: 10/s
  users: {count: 300}
scaling:
  copy_rate: 500/s
  sets:
    - `+sets+`
`))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// TestCheckFollowsRemovedSet: the removed set's shard answers on no copy
// after the run; its writes are read back from the shards their keys moved
// to (found there, or lost when missing), and unknown only when the shard a
// key moved to does not answer either.
func TestCheckFollowsRemovedSet(t *testing.T) {
	p := removalPlan(t)
	moves := p.KeyMoves()
	if len(p.Shards) != 3 || len(moves) != 1 || !moves[0].Remove || moves[0].Set != 2 || len(moves[0].Users) == 0 {
		t.Fatalf("want 3 shards and one removal of shard 2 moving keys, got %d shards, moves %+v", len(p.Shards), moves)
	}
	m := &moves[0]
	live := map[int]*fakeShard{}
	addrs := map[int]string{}
	for s := range 2 {
		f := &fakeShard{role: Role{Instance: p.Shards[s].Replicas[0], Primary: true, Epoch: 1}, stored: map[string]bool{}}
		ts := httptest.NewServer(f)
		defer ts.Close()
		live[s], addrs[p.Shards[s].Replicas[0]] = f, ts.Listener.Addr().String()
	}
	deadAddr := refusing()
	addrs[p.Shards[2].Replicas[0]] = deadAddr
	var writes []Write
	lostID := ""
	for i, u := range m.Users {
		w := Write{ID: fmt.Sprintf("%d.0", i), User: u, City: m.City, Shard: 2, Key: uint64(u), Time: int64(i)}
		writes = append(writes, w)
		if lostID == "" {
			lostID = w.ID
			continue
		}
		live[m.To(p, u)].stored[w.ID] = true
	}
	u0 := -1 // a user of shard 0 that no move touches
	for u := range 300 {
		if m.From(p, u) == 0 {
			u0 = u
			break
		}
	}
	writes = append(writes, Write{ID: "x.0", User: u0, City: m.City, Shard: 0, Key: uint64(u0)})
	live[0].stored["x.0"] = true
	addr := func(i int) string { return addrs[i] }
	res := Check(context.Background(), Config{Plan: p, Addr: addr, Batch: 50, Timeout: time.Second}, writes)
	n := int64(len(m.Users))
	if res.Acked != n+1 || res.Found != n || res.Lost != 1 || res.Unknown != 0 {
		t.Fatalf("acked %d found %d lost %d unknown %d, want %d %d 1 0", res.Acked, res.Found, res.Lost, res.Unknown, n+1, n)
	}
	if len(res.Sample) != 1 || res.Sample[0].ID != lostID {
		t.Fatalf("lost sample %+v, want %s", res.Sample, lostID)
	}
	if sc := res.Shards[2]; sc.MovedOn != n || res.MovedOn != n || sc.Unknown != 0 || sc.Err == "" {
		t.Fatalf("removed shard: %+v, want %d moved on, none unknown, the error kept", sc, n)
	}
	if live[0].checks.Load() == 0 || live[1].checks.Load() == 0 {
		t.Fatalf("read-backs on shards 0 and 1: %d and %d, want both", live[0].checks.Load(), live[1].checks.Load())
	}

	// shard 1 gone too: the writes whose key moved there stay unknown
	addrs[p.Shards[1].Replicas[0]] = deadAddr
	to1 := int64(0)
	for _, u := range m.Users {
		if m.To(p, u) == 1 {
			to1++
		}
	}
	res = Check(context.Background(), Config{Plan: p, Addr: addr, Timeout: time.Second}, writes)
	if res.Unknown != to1 || res.Shards[1].Unknown != to1 || res.Found+res.Lost != n+1-to1 {
		t.Fatalf("with shard 1 gone: found %d lost %d unknown %d (shard 1 %d), want %d unknown", res.Found, res.Lost, res.Unknown, res.Shards[1].Unknown, to1)
	}
}

// TestCheckFollowsAddedSet: a set added, then a set the added one took
// keys from removed. A write the removed shard took before the add, for a
// user whose key then moved to the added set, is read back from the added
// set's shard (the add's import carried it), not from where the removal
// sent the removed shard's other keys.
func TestCheckFollowsAddedSet(t *testing.T) {
	p := setsPlan(t, "{granularity: az, reserve: [shenzhen/c]}", "{at: 2s, add: shenzhen/c}\n    - {at: 5s, remove: shenzhen/a}")
	moves := p.KeyMoves()
	if len(moves) != 2 || moves[0].Remove || !moves[1].Remove {
		t.Fatalf("want an add then a removal, got %+v", moves)
	}
	add, a, c := &moves[0], moves[1].Set, moves[0].Set
	u := -1 // a user of a whose key the add moved to c
	for _, v := range add.Users {
		if add.From(p, v) == a {
			u = v
			break
		}
	}
	if u < 0 {
		t.Fatal("no key moved from the removed set by the add")
	}
	cs := &fakeShard{role: Role{Primary: true, Epoch: 1}, stored: map[string]bool{"1.0": true}}
	other := &fakeShard{role: Role{Primary: true, Epoch: 1}, stored: map[string]bool{}}
	tc, to := httptest.NewServer(cs), httptest.NewServer(other)
	defer tc.Close()
	defer to.Close()
	deadAddr := refusing()
	addr := func(i int) string {
		switch p.Instances[i].Shard {
		case a:
			return deadAddr
		case c:
			return tc.Listener.Addr().String()
		}
		return to.Listener.Addr().String()
	}
	res := Check(context.Background(), Config{Plan: p, Addr: addr, Timeout: time.Second}, []Write{{ID: "1.0", User: u, City: add.City, Shard: a, Key: uint64(u)}})
	if res.Found != 1 || res.Unknown != 0 || res.Shards[a].MovedOn != 1 || cs.checks.Load() != 1 || other.checks.Load() != 0 {
		t.Fatalf("found %d unknown %d, moved on %d, read on the added shard %d times and elsewhere %d: want found on the added shard",
			res.Found, res.Unknown, res.Shards[a].MovedOn, cs.checks.Load(), other.checks.Load())
	}
}
