package shard

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// The timer tests run three copies in a synctest bubble: pebble on a temp
// dir, and the copies' HTTP calls served in-process by memNet, so fake
// time advances exactly and every bound is the configured one.

const bubbleScenario = `name: shard-timers
run: {duration: 1m, seed: 1}
topology:
  cities:
    - {name: a, azs: 3, racks: 1, machines: 1}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  services:
    - {name: api, instances: 1, calls: [{data: request}]}
  data:
    mode: proxy
    shards: 1
    replicas: 3
    placement: az
    detection: 2s
    promotion: 1s
    service_time: {dist: constant, mean: 100us}
    proxy: {instances: 1}
%s
workload: {rate: 100/s, users: {count: 100}}
`

// memNet serves HTTP requests by calling the target copy's handler.
type memNet struct {
	mu   sync.Mutex
	mux  map[string]http.Handler
	down map[string]bool
	held map[string]bool // a dead host behind a blackholed link: calls hang
}

func (n *memNet) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	h, down, held := n.mux[r.URL.Host], n.down[r.URL.Host], n.held[r.URL.Host]
	n.mu.Unlock()
	if held {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	if h == nil || down {
		return nil, fmt.Errorf("dial %s: %w", r.URL.Host, syscall.ECONNREFUSED)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func (n *memNet) setDown(addr string, down bool) {
	n.mu.Lock()
	n.down[addr] = down
	n.mu.Unlock()
}

type bubble struct {
	t      *testing.T
	plan   *scenarios.Plan
	text   string
	net    *memNet
	shards map[int]*Shard
	stops  map[int]func()
	dirs   map[int]string
}

func newBubble(t *testing.T, repl string) *bubble {
	return newBubbleText(t, fmt.Sprintf(bubbleScenario, repl))
}

func newBubbleText(t *testing.T, text string) *bubble {
	f, err := scenarios.Parse("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	b := &bubble{t: t, plan: scenarios.NewPlan(f), text: text, net: &memNet{mux: map[string]http.Handler{}, down: map[string]bool{}, held: map[string]bool{}}, shards: map[int]*Shard{}, stops: map[int]func(){}, dirs: map[int]string{}}
	for _, in := range b.reps() {
		b.start(in)
	}
	return b
}

func (b *bubble) reps() []int                { return b.plan.Shards[0].Replicas }
func (b *bubble) addr(in int) string         { return fmt.Sprintf("copy%d", in) }
func (b *bubble) events(in int) []node.Event { return b.shards[in].ev.After(0) }

func (b *bubble) start(in int) {
	if b.dirs[in] == "" {
		b.dirs[in] = b.t.TempDir()
	}
	cfg := &node.Config{Role: "shard", Scenario: b.text, Instance: in, Listen: b.addr(in), DataDir: b.dirs[in], Seed: 1, Secret: "s"}
	for _, o := range b.reps() {
		if o != in {
			cfg.Peers = append(cfg.Peers, node.Peer{Instance: o, Addr: b.addr(o)})
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &node.Env{Config: cfg, Plan: b.plan, Log: log}
	env.Server = node.NewServer(cfg, log, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := newShard(ctx, env)
	if err != nil {
		b.t.Fatal(err)
	}
	s.peer.c.HTTP.Transport = b.net
	s.routes(env.Server)
	if err := s.boot(); err != nil {
		b.t.Fatal(err)
	}
	s.wg.Add(2)
	go s.monitor()
	go s.reportAcks()
	b.net.mu.Lock()
	b.net.mux[b.addr(in)] = env.Server.Mux
	b.net.mu.Unlock()
	b.net.setDown(b.addr(in), false)
	b.shards[in] = s
	b.stops[in] = func() { cancel(); s.close() }
}

// kill takes a copy off the network and stops it.
func (b *bubble) kill(in int) {
	b.net.setDown(b.addr(in), true)
	b.stops[in]()
	delete(b.stops, in)
}

func (b *bubble) stopAll() {
	for in := range b.stops {
		b.kill(in)
	}
}

func (b *bubble) write(in int, id string) wire.Reply {
	r := &wire.Request{ID: id, User: 1, Priority: 1, Key: 1, Op: wire.Write, Deadline: time.Minute, Value: []byte("v")}
	return b.shards[in].serve(context.Background(), r, 0, http.Header{})
}

func eventAt(evs []node.Event, kind string) (node.Event, bool) {
	for _, e := range evs {
		if e.Kind == kind {
			return e, true
		}
	}
	return node.Event{}, false
}

// A dead primary is declared lost one detection after its last heartbeat
// (not before), and the first copy in the replica list is promoted one
// promotion later under epoch 2.
func TestDetectionAndPromotionTimes(t *testing.T) {
	for _, held := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "blackholed"}[held], func(t *testing.T) { detectionAndPromotion(t, held) })
	}
}

// detectionAndPromotion kills the primary; held, calls to it hang until
// their timeout instead of failing at once.
func detectionAndPromotion(t *testing.T, held bool) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, "    replication: sync\n    acks: majority")
		defer b.stopAll()
		set := b.shards[b.reps()[0]].set
		time.Sleep(time.Second)
		old, c1, c2 := b.reps()[0], b.reps()[1], b.reps()[2]
		if rp := b.write(old, "1.0"); rp.Outcome != wire.OK {
			t.Fatalf("write: %+v", rp)
		}
		synctest.Wait()
		killed := time.Now()
		if held {
			b.net.mu.Lock()
			b.net.held[b.addr(old)] = true
			b.net.mu.Unlock()
		}
		b.kill(old)
		time.Sleep(set.detection - set.heartbeat)
		if _, ok := eventAt(b.events(c1), node.EvPrimaryLost); ok {
			t.Fatalf("primary lost declared before detection %s", set.detection)
		}
		time.Sleep(set.promotion + 3*set.heartbeat)
		for _, in := range []int{c1, c2} {
			ev, ok := eventAt(b.events(in), node.EvPrimaryLost)
			if d := time.Unix(0, ev.Time).Sub(killed); !ok || d < set.detection-set.heartbeat || d > set.detection+set.heartbeat {
				t.Errorf("copy %d: primary lost %v after the kill, want detection %s within a heartbeat %s", in, d, set.detection, set.heartbeat)
			}
		}
		ev, ok := eventAt(b.events(c1), node.EvPromoted)
		if !ok || ev.Epoch != 2 {
			t.Fatalf("copy %d not promoted to epoch 2: %+v", c1, b.events(c1))
		}
		want := set.detection + set.promotion
		if d := time.Unix(0, ev.Time).Sub(killed); d < want-set.heartbeat || d > want+2*set.heartbeat {
			t.Errorf("promoted %s after the kill, want detection+promotion %s within heartbeats", d, want)
		}
		if _, ok := eventAt(b.events(c2), node.EvPromoted); ok {
			t.Errorf("two copies promoted")
		}
		if r := b.shards[c2].role(); r.KnownPrimary != c1 || r.Epoch != 2 {
			t.Errorf("other copy: %+v, want following %d in epoch 2", r, c1)
		}
	})
}

// A sync write with acks: all waits for a dead copy until the primary's
// failure detector drops it, one detection after its last answer.
func TestSyncWriteWaitsForDetection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, "    replication: sync\n    acks: all")
		defer b.stopAll()
		p := b.reps()[0]
		set := b.shards[p].set
		time.Sleep(time.Second)
		start := time.Now()
		if rp := b.write(p, "1.0"); rp.Outcome != wire.OK || time.Since(start) > time.Millisecond {
			t.Fatalf("write with every copy up: %+v after %s", rp, time.Since(start))
		}
		b.kill(b.reps()[2])
		start = time.Now()
		rp := b.write(p, "2.0")
		took := time.Since(start)
		if rp.Outcome != wire.OK || took < set.detection-set.heartbeat || took > set.detection+set.heartbeat {
			t.Errorf("write with a dead copy: %+v after %s, want ok after detection %s", rp, took, set.detection)
		}
	})
}

// An async write is shipped once lag has passed, not before.
func TestAsyncShipsAfterLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, "    replication: async\n    lag: 500ms")
		defer b.stopAll()
		p, c1 := b.reps()[0], b.reps()[1]
		lag := b.shards[p].set.lag
		time.Sleep(time.Second)
		if rp := b.write(p, "1.0"); rp.Outcome != wire.OK || !rp.Wrote {
			t.Fatalf("write: %+v", rp)
		}
		time.Sleep(lag - time.Millisecond)
		synctest.Wait()
		if a := b.shards[c1].role().Applied; a != 0 {
			t.Fatalf("copy applied %d before lag %s", a, lag)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if a := b.shards[c1].role().Applied; a != 1 {
			t.Fatalf("copy applied %d just after lag %s, want 1", a, lag)
		}
	})
}

// The most caught-up copy is promoted, not the first in the list: a copy
// that missed writes while it was down loses the election to one that
// has them, then follows it and catches up.
func TestMostCaughtUpPromoted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, "    replication: sync\n    acks: majority")
		defer b.stopAll()
		old, c1, c2 := b.reps()[0], b.reps()[1], b.reps()[2]
		set := b.shards[old].set
		time.Sleep(time.Second)
		b.write(old, "1.0")
		synctest.Wait() // every copy has it
		b.kill(c1)
		for i := 2; i <= 4; i++ {
			if rp := b.write(old, fmt.Sprintf("%d.0", i)); rp.Outcome != wire.OK {
				t.Fatalf("write %d: %+v", i, rp)
			}
		}
		synctest.Wait()
		b.kill(old)
		b.start(c1) // from its disk, one write behind three
		if r := b.shards[c1].role(); r.Applied != 1 {
			t.Fatalf("restarted copy at %d, want 1", r.Applied)
		}
		time.Sleep(set.detection + set.promotion + 3*set.heartbeat + set.rpcTimeout)
		if _, ok := eventAt(b.events(c2), node.EvPromoted); !ok {
			t.Fatalf("the caught-up copy %d was not promoted: %+v", c2, b.events(c2))
		}
		if _, ok := eventAt(b.events(c1), node.EvPromoted); ok {
			t.Fatalf("the copy behind (%d) was promoted", c1)
		}
		r := b.shards[c1].role()
		if r.KnownPrimary != c2 || r.Applied != 4 || r.Epoch != 2 {
			t.Errorf("copy behind after the election: %+v, want following %d at 4 in epoch 2", r, c2)
		}
		if _, ok := eventAt(b.events(c1), node.EvCaughtUp); !ok {
			t.Errorf("copy behind emitted no caught_up")
		}
	})
}

// Each operation holds one of data.concurrency slots for one
// data.service_time: with one slot of 10ms, two reads sent together
// answer 10ms apart; /admin/slow doubles the time.
func TestServiceTimeAndConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		text := strings.Replace(fmt.Sprintf(bubbleScenario, "    replication: async\n    concurrency: 1"), "mean: 100us", "mean: 10ms", 1)
		b := newBubbleText(t, text)
		defer b.stopAll()
		p := b.reps()[0]
		time.Sleep(time.Second)
		read := func() time.Duration {
			start := time.Now()
			r := &wire.Request{ID: "r.0", User: 1, Priority: 1, Key: 1, Op: wire.Read, Deadline: time.Minute}
			if rp := b.shards[p].serve(context.Background(), r, 0, http.Header{}); rp.Outcome != wire.OK {
				t.Errorf("read: %+v", rp)
			}
			return time.Since(start)
		}
		var mu sync.Mutex
		var took []time.Duration
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := read()
				mu.Lock()
				took = append(took, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(took)
		if !slices.Equal(took, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}) {
			t.Errorf("two reads on one slot answered after %v, want 10ms and 20ms", took)
		}
		req := httptest.NewRequest(http.MethodPost, "/admin/slow?factor=2", nil)
		w := httptest.NewRecorder()
		b.shards[p].env.Server.Mux.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("slow without the secret: %d", w.Code)
		}
		req.Header.Set("Authorization", "Bearer s")
		w = httptest.NewRecorder()
		b.shards[p].env.Server.Mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("slow: %d %s", w.Code, w.Body)
		}
		if d := read(); d != 20*time.Millisecond {
			t.Errorf("slowed x2: %v, want 20ms", d)
		}
	})
}

// Acknowledged writes are reported once a second as a count.
func TestWriteAckedCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, "    replication: async")
		defer b.stopAll()
		p := b.reps()[0]
		for i := range 3 {
			b.write(p, fmt.Sprintf("%d.0", i))
		}
		b.write(b.reps()[1], "x.0") // a copy: not acknowledged
		time.Sleep(1500 * time.Millisecond)
		var n []string
		for _, e := range b.events(p) {
			if e.Kind == node.EvWriteAcked {
				n = append(n, e.Detail)
			}
		}
		if !slices.Equal(n, []string{"3"}) {
			t.Errorf("write_acked events %v, want one with 3", n)
		}
	})
}
