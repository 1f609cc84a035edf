package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// scenario is a one-shard, three-copy plan; %s is the replication block.
const scenarioText = `name: shard-test
run: {duration: 1m, seed: 1}
topology:
  cities:
    - name: a
      azs: 3
      racks: 1
      machines: 1
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  services:
    - name: api
      instances: 1
      calls:
        - data: request
  data:
    mode: proxy
    shards: 1
    replicas: 3
    placement: az
    detection: 300ms
    promotion: 100ms
    service_time: {dist: constant, mean: 100us}
    proxy: {instances: 1}
%s
workload:
  rate: 100/s
  users: {count: 100}
`

const (
	syncMajority = "    replication: sync\n    acks: majority"
	asyncLag     = "    replication: async\n    lag: 400ms"
)

func testPlan(t testing.TB, repl string) (string, *scenarios.Plan) {
	t.Helper()
	text := fmt.Sprintf(scenarioText, repl)
	f, err := scenarios.Parse("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return text, scenarios.NewPlan(f)
}

// cluster runs the copies of shard 0 as real HTTP servers on 127.0.77.x.
type cluster struct {
	t      *testing.T
	text   string
	plan   *scenarios.Plan
	dirs   map[int]string
	addrs  map[int]string
	nodes  map[int]*running
	client *wire.Client
}

type running struct {
	sh     *Shard
	env    *node.Env
	cancel context.CancelFunc
	hs     *http.Server
	stop   func()
	served chan struct{}
}

func newCluster(t *testing.T, repl string) *cluster {
	text, p := testPlan(t, repl)
	c := &cluster{t: t, text: text, plan: p, dirs: map[int]string{}, addrs: map[int]string{}, nodes: map[int]*running{}, client: wire.NewClient(8)}
	for i, in := range p.Shards[0].Replicas {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.77.%d:0", i+1))
		if err != nil {
			t.Fatal(err)
		}
		c.addrs[in] = ln.Addr().String()
		ln.Close()
		c.dirs[in] = t.TempDir()
	}
	t.Cleanup(func() {
		for in := range c.nodes {
			c.kill(in)
		}
		c.client.Close()
	})
	for _, in := range p.Shards[0].Replicas {
		c.start(in)
	}
	return c
}

func (c *cluster) reps() []int { return c.plan.Shards[0].Replicas }

func (c *cluster) start(in int) {
	c.t.Helper()
	cfg := &node.Config{Role: "shard", Run: "t", Scenario: c.text, Instance: in, Listen: c.addrs[in], Secret: "s3cret", Seed: uint64(in), DataDir: c.dirs[in]}
	for o, a := range c.addrs {
		if o != in {
			cfg.Peers = append(cfg.Peers, node.Peer{Instance: o, Addr: a})
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &node.Env{Config: cfg, Plan: c.plan, Clock: node.RealClock{}, Log: log}
	env.Server = node.NewServer(cfg, log, env.Clock, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var ln net.Listener
	var err error
	for range 50 { // the old socket of a killed copy may linger a moment
		if ln, err = net.Listen("tcp", c.addrs[in]); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	stop, err := Start(ctx, env)
	if err != nil {
		cancel()
		ln.Close()
		c.t.Fatal(err)
	}
	r := &running{env: env, cancel: cancel, hs: &http.Server{Handler: env.Server.Mux}, stop: stop, served: make(chan struct{})}
	go func() { r.hs.Serve(ln); close(r.served) }()
	c.nodes[in] = r
}

// kill stops a copy the way SIGKILL does: connections cut, nothing flushed.
func (c *cluster) kill(in int) {
	r := c.nodes[in]
	if r == nil {
		return
	}
	delete(c.nodes, in)
	r.hs.Close()
	r.cancel()
	<-r.served
	r.stop()
}

// call sends one request straight to a copy.
func (c *cluster) call(in int, op wire.Op, id string, user int, val string) wire.Reply {
	r := &wire.Request{ID: id, User: user, Priority: 1, Key: uint64(user), Op: op, Deadline: 2 * time.Second, Value: []byte(val)}
	return c.client.Call(context.Background(), c.addrs[in], r, "")
}

func (c *cluster) role(in int) Role {
	c.t.Helper()
	resp, err := http.Get("http://" + c.addrs[in] + "/v1/role")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Role
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

func (c *cluster) check(in int, ids []string) CheckReply {
	c.t.Helper()
	b, _ := json.Marshal(CheckRequest{IDs: ids})
	resp, err := http.Post("http://"+c.addrs[in]+"/v1/check", "application/json", strings.NewReader(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r CheckReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

// waitPrimary waits until a copy other than except reports primary.
func (c *cluster) waitPrimary(except int, within time.Duration) (int, Role) {
	c.t.Helper()
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		for _, in := range c.reps() {
			if in == except || c.nodes[in] == nil {
				continue
			}
			if r := c.role(in); r.Primary {
				return in, r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("no primary other than %d within %s", except, within)
	return -1, Role{}
}

// writer sends writes to the primary until stopped, following
// not_primary answers, and logs the acknowledged ids.
type writer struct {
	mu    sync.Mutex
	acked []string
	n     int
}

func (c *cluster) write(w *writer, target *int, user int) {
	w.mu.Lock()
	w.n++
	id := strconv.Itoa(w.n) + ".0"
	w.mu.Unlock()
	rp := c.call(*target, wire.Write, id, user, "v"+id)
	if rp.Outcome == wire.OK && rp.Wrote {
		w.mu.Lock()
		w.acked = append(w.acked, id)
		w.mu.Unlock()
	}
}

func (c *cluster) events(in int) []node.Event {
	r := c.nodes[in]
	if r == nil {
		return nil
	}
	return r.env.Server.Events.After(0)
}

func hasEvent(evs []node.Event, kind string) (node.Event, bool) {
	for _, e := range evs {
		if e.Kind == kind {
			return e, true
		}
	}
	return node.Event{}, false
}
