// Package shardtest runs the copies of one shard as real HTTP servers on
// loopback addresses for tests, with cuttable links between them.
package shardtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/shard"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// ScenarioText is a one-shard, three-copy plan; %s is the replication block.
const ScenarioText = `name: shard-test
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
    detection: 1s
    promotion: 300ms
    service_time: {dist: constant, mean: 100us}
    proxy: {instances: 1}
%s
workload:
  rate: 100/s
  users: {count: 100}
`

// Secret is the run secret every copy started here is given.
const Secret = "s3cret"

// Replication blocks for ScenarioText.
const (
	SyncMajority = "    replication: sync\n    acks: majority"
	AsyncLag     = "    replication: async\n    lag: 400ms"
)

// Plan builds the plan of ScenarioText with a replication block.
func Plan(t testing.TB, repl string) (string, *scenarios.Plan) {
	t.Helper()
	text := fmt.Sprintf(ScenarioText, repl)
	f, err := scenarios.Parse("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return text, scenarios.NewPlan(f)
}

// Cluster runs the copies of shard 0 as real HTTP servers on
// 127.77.P.x (links on 127.78.P.x), P from the test process's pid, so
// test binaries running at once do not share addresses.
type Cluster struct {
	t      testing.TB
	Text   string
	Plan   *scenarios.Plan
	dirs   map[int]string
	Addrs  map[int]string // where each copy listens
	nodes  map[int]*Copy
	links  map[[2]int]*link // from, to: the address from dials to reach to
	open   map[int]net.Listener
	client *wire.Client
}

// Copy is one shard copy serving on its listener.
type Copy struct {
	sh     *shard.Shard
	env    *node.Env
	cancel context.CancelFunc
	hs     *http.Server
	stop   func()
	served chan struct{}
}

// NewCluster starts the three copies of shard 0 of Plan(repl).
func NewCluster(t testing.TB, repl string) *Cluster { return NewClusterLinks(t, repl, false) }

// NewClusterLinks, with links, puts a cuttable link on every path between
// two copies.
func NewClusterLinks(t testing.TB, repl string, links bool) *Cluster {
	text, p := Plan(t, repl)
	c := &Cluster{t: t, Text: text, Plan: p, dirs: map[int]string{}, Addrs: map[int]string{}, nodes: map[int]*Copy{}, links: map[[2]int]*link{}, open: map[int]net.Listener{}, client: wire.NewClient(8)}
	for i, in := range p.Shards[0].Replicas {
		ln, err := net.Listen("tcp", fmt.Sprintf("%s.%d:0", Host(77), i+1))
		if err != nil {
			t.Fatal(err)
		}
		c.Addrs[in] = ln.Addr().String()
		c.open[in] = ln // kept until the copy serves on it
		c.dirs[in] = t.TempDir()
	}
	if links {
		for i, from := range p.Shards[0].Replicas {
			for _, to := range p.Shards[0].Replicas {
				if from != to {
					c.links[[2]int{from, to}] = newLink(t, fmt.Sprintf("%s.%d", Host(78), i+1), c.Addrs[to])
				}
			}
		}
	}
	t.Cleanup(func() {
		for in := range c.nodes {
			c.Kill(in)
		}
		for _, ln := range c.open {
			ln.Close()
		}
		c.client.Close()
	})
	for _, in := range p.Shards[0].Replicas {
		c.Start(in)
	}
	return c
}

// Isolate cuts (or heals) every link to and from a copy.
func (c *Cluster) Isolate(in int, cut bool) {
	for k, l := range c.links {
		if k[0] == in || k[1] == in {
			l.setCut(cut)
		}
	}
}

// Reps are the copies, the initial primary first.
func (c *Cluster) Reps() []int { return c.Plan.Shards[0].Replicas }

// Start starts (or restarts, from its disk) one copy.
func (c *Cluster) Start(in int) {
	c.t.Helper()
	var peers []node.Peer
	for o, a := range c.Addrs {
		if l := c.links[[2]int{in, o}]; l != nil {
			a = l.addr()
		}
		if o != in {
			peers = append(peers, node.Peer{Instance: o, Addr: a})
		}
	}
	ln, err := c.open[in], error(nil)
	delete(c.open, in)
	for range 50 { // the old socket of a killed copy may linger a moment
		if ln != nil {
			break
		}
		if ln, err = net.Listen("tcp", c.Addrs[in]); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	r, err := StartCopy(c.Text, c.Plan, in, ln, peers, c.dirs[in])
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[in] = r
}

// StartCopy starts shard copy instance in of plan p (scenario text) on
// ln, with its data in dir and its peers' addresses; Kill stops it.
func StartCopy(text string, p *scenarios.Plan, in int, ln net.Listener, peers []node.Peer, dir string) (*Copy, error) {
	cfg := &node.Config{Role: "shard", Run: "t", Scenario: text, Instance: in, Listen: ln.Addr().String(), Secret: Secret, Seed: uint64(in), DataDir: dir, Peers: peers}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &node.Env{Config: cfg, Plan: p, Clock: node.RealClock{}, Log: log}
	env.Server = node.NewServer(cfg, log, env.Clock, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stop, err := shard.Start(ctx, env)
	if err != nil {
		cancel()
		ln.Close()
		return nil, err
	}
	r := &Copy{env: env, cancel: cancel, hs: &http.Server{Handler: env.Server.Mux}, stop: stop, served: make(chan struct{})}
	go func() { r.hs.Serve(ln); close(r.served) }()
	return r, nil
}

// Kill stops a copy the way SIGKILL does: connections cut, nothing flushed.
func (r *Copy) Kill() {
	r.hs.Close()
	r.cancel()
	<-r.served
	r.stop()
}

// Kill stops a copy the way SIGKILL does: connections cut, nothing flushed.
func (c *Cluster) Kill(in int) {
	r := c.nodes[in]
	if r == nil {
		return
	}
	delete(c.nodes, in)
	r.Kill()
}

// Call sends one request straight to a copy (key = user).
func (c *Cluster) Call(in int, op wire.Op, id string, user int, val string) wire.Reply {
	r := &wire.Request{ID: id, User: user, Priority: 1, Key: uint64(user), Op: op, Deadline: 2 * time.Second, Value: []byte(val)}
	return c.client.Call(context.Background(), c.Addrs[in], r, "")
}

// Role asks a copy for its role.
func (c *Cluster) Role(in int) shard.Role {
	c.t.Helper()
	resp, err := http.Get("http://" + c.Addrs[in] + "/v1/role")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r shard.Role
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

// Check asks a copy which ids it stores.
func (c *Cluster) Check(in int, ids []string) shard.CheckReply {
	c.t.Helper()
	return Check(c.t, c.Addrs[in], ids)
}

// Check asks the copy at addr which ids it stores.
func Check(t testing.TB, addr string, ids []string) shard.CheckReply {
	t.Helper()
	b, _ := json.Marshal(shard.CheckRequest{IDs: ids})
	resp, err := http.Post("http://"+addr+"/v1/check", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r shard.CheckReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// WaitPrimary waits until a copy other than except reports primary.
func (c *Cluster) WaitPrimary(except int, within time.Duration) (int, shard.Role) {
	c.t.Helper()
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		for _, in := range c.Reps() {
			if in == except || c.nodes[in] == nil {
				continue
			}
			if r := c.Role(in); r.Primary {
				return in, r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("no primary other than %d within %s", except, within)
	return -1, shard.Role{}
}

// Events are the events a running copy emitted.
func (c *Cluster) Events(in int) []node.Event {
	r := c.nodes[in]
	if r == nil {
		return nil
	}
	return r.env.Server.Events.After(0)
}

// HasEvent finds the first event of a kind.
func HasEvent(evs []node.Event, kind string) (node.Event, bool) {
	for _, e := range evs {
		if e.Kind == kind {
			return e, true
		}
	}
	return node.Event{}, false
}

// Do sends r to a copy with an X-Sl-Epoch header (0: none) and returns the
// reply and its headers.
func (c *Cluster) Do(in int, r *wire.Request, epoch uint64) (wire.Reply, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+c.Addrs[in]+wire.Path, bytes.NewReader(r.Value))
	if err != nil {
		c.t.Fatal(err)
	}
	r.Encode(req.Header)
	if epoch > 0 {
		req.Header.Set(shard.HEpoch, strconv.FormatUint(epoch, 10))
	}
	resp, err := c.client.HTTP.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	rp, err := wire.ReadReply(resp.Header, body)
	if err != nil {
		c.t.Fatalf("%s: %v", body, err)
	}
	return rp, resp.Header
}

// Running reports whether a copy runs.
func (c *Cluster) Running(in int) bool { return c.nodes[in] != nil }

// FailoverBound is the longest a failover may take after a primary dies:
// detection, promotion, a heartbeat of slack on each side, the election's
// calls, and scheduling slack for a busy machine.
func (c *Cluster) FailoverBound() time.Duration {
	d := c.Plan.Scenario.Stack.Data
	return d.Detection.Std() + d.Promotion.Std() + d.Detection.Std()/5 + d.Detection.Std() + 2*time.Second
}

// Env is the environment of another instance of the plan (a service or a
// proxy) that reaches the copies directly and extra instances at extra.
func (c *Cluster) Env(instance int, extra map[int]string) *node.Env {
	cfg := &node.Config{Role: c.Plan.Instances[instance].Role.String(), Run: "t", Scenario: c.Text, Instance: instance, Secret: Secret, Seed: 1}
	for in, a := range c.Addrs {
		cfg.Peers = append(cfg.Peers, node.Peer{Instance: in, Addr: a})
	}
	for in, a := range extra {
		cfg.Peers = append(cfg.Peers, node.Peer{Instance: in, Addr: a})
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &node.Env{Config: cfg, Plan: c.Plan, Clock: node.RealClock{}, Log: log}
	env.Server = node.NewServer(cfg, log, env.Clock, nil)
	return env
}

// Served is how many operations of op (read or write) a copy answered ok.
func (c *Cluster) Served(in int, op string) float64 {
	r := c.nodes[in]
	if r == nil {
		return 0
	}
	mfs, err := r.env.Server.Metrics.Gather()
	if err != nil {
		c.t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "stripelab_shard_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == op && labels["outcome"] == "ok" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// Instance is the first instance of the plan with a role.
func (c *Cluster) Instance(role scenarios.Role) int {
	for i, in := range c.Plan.Instances {
		if in.Role == role {
			return i
		}
	}
	c.t.Fatalf("no %s in the plan", role)
	return -1
}

// Host is 127.A.P, P picked from the pid: the first three parts of the
// loopback addresses this test process uses for role A.
func Host(a int) string { return fmt.Sprintf("127.%d.%d", a, 1+os.Getpid()%250) }

// Request is a data request of user (its key is the user) with a second
// of deadline; a write carries the value "v-" + id.
func Request(id string, user int, op wire.Op) *wire.Request {
	r := &wire.Request{ID: id, User: user, Priority: 1, Key: uint64(user), Op: op, Deadline: time.Second}
	if op == wire.Write {
		r.Value = []byte("v-" + id)
	}
	return r
}
