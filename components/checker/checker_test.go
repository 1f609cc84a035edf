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
	dead := httptest.NewServer(http.NotFoundHandler())
	deadAddr := dead.Listener.Addr().String()
	dead.Close() // refuses from now on
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
