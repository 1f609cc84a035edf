package dataproxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/datapath"
	"github.com/stripelab/stripelab/components/dataproxy"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

var req = shardtest.Request

// startProxy serves a proxy of the cluster's plan on a loopback address of its own.
func startProxy(t *testing.T, c *shardtest.Cluster, inst int) string {
	env := c.Env(inst, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stop, err := dataproxy.Start(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", shardtest.Host(79)+".1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- env.Server.ServeListener(ctx, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done; stop() })
	return ln.Addr().String()
}

// A service in proxy mode reaches the shards through its set's proxy:
// writes land on the primary (acknowledged as written), reads come back,
// and writes find the new primary after a failover.
func TestServiceThroughProxy(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	svc := c.Instance(scenarios.RoleService)
	var px int
	for i, in := range c.Plan.Instances {
		if in.Role == scenarios.RoleProxy && in.Set == c.Plan.Instances[svc].Set {
			px = i
		}
	}
	addr := startProxy(t, c, px)
	wc := wire.NewClient(8)
	defer wc.Close()
	env := c.Env(svc, map[int]string{px: addr})
	dp := datapath.New(env, wc)
	ctx := context.Background()
	if rp := dp.Do(ctx, req("1.0", 4, wire.Write)); rp.Outcome != wire.OK || !rp.Wrote {
		t.Fatalf("write through the proxy: %+v", rp)
	}
	if rp := dp.Do(ctx, req("2.0", 4, wire.Read)); rp.Outcome != wire.OK || string(rp.Value) != "v-1.0" {
		t.Fatalf("read through the proxy: %+v %q", rp, rp.Value)
	}
	if n := c.Served(c.Reps()[0], "write"); n != 1 {
		t.Errorf("primary served %v writes, want 1", n)
	}
	old := c.Reps()[0]
	c.Kill(old)
	end := time.Now().Add(c.FailoverBound())
	var rp wire.Reply
	for i := 0; time.Now().Before(end); i++ {
		if rp = dp.Do(ctx, req(fmt.Sprintf("b%d.0", i), 5, wire.Write)); rp.Outcome == wire.OK {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rp.Outcome != wire.OK || !rp.Wrote {
		t.Fatalf("no write through the proxy within %s of the primary's loss: %+v", c.FailoverBound(), rp)
	}
}

const costScenario = `name: proxy-cost
run: {duration: 1m, seed: 1}
topology:
  cities:
    - {name: a, azs: 2, racks: 1, machines: 1}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  services:
    - {name: api, instances: 1, calls: [{data: request}]}
  data:
    mode: proxy
    shards: 1
    replicas: 2
    proxy: {instances: 1, cost: 20ms, concurrency: 1}
workload: {rate: 100/s, users: {count: 100}}
`

func costProxy(t *testing.T) (*node.Env, http.Handler) {
	f, err := scenarios.Parse("t.yaml", []byte(costScenario))
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	inst := -1
	for i, in := range p.Instances {
		if in.Role == scenarios.RoleProxy {
			inst = i
			break
		}
	}
	cfg := &node.Config{Role: "proxy", Scenario: costScenario, Instance: inst, Secret: "s"} // no peers: every route is missing
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &node.Env{Config: cfg, Plan: p, Log: log}
	env.Server = node.NewServer(cfg, log, nil, nil)
	if _, err := dataproxy.Start(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	return env, env.Server.Mux
}

func post(h http.Handler, r *wire.Request) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(http.MethodPost, wire.Path, bytes.NewReader(r.Value))
	r.Encode(hr.Header)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w
}

// Each operation costs data.proxy.cost holding one of
// data.proxy.concurrency slots: with one slot, two operations sent
// together answer one cost apart; /admin/slow multiplies the cost.
func TestCostAndConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := costProxy(t)
		cost := 20 * time.Millisecond
		start := time.Now()
		var mu sync.Mutex
		var took []time.Duration
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := post(h, req(fmt.Sprintf("%d.0", i), 1, wire.Read))
				if w.Header().Get(wire.HOutcome) != "unavailable" {
					t.Errorf("answer %d %v", w.Code, w.Header())
				}
				mu.Lock()
				took = append(took, time.Since(start))
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(took) != 2 || took[0] != cost || took[1] != 2*cost {
			t.Errorf("answers after %v, want %v and %v", took, cost, 2*cost)
		}
		ar := httptest.NewRequest(http.MethodPost, "/admin/slow?factor=3", nil)
		ar.Header.Set("Authorization", "Bearer s")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, ar)
		if w.Code != http.StatusOK {
			t.Fatalf("slow: %d %s", w.Code, w.Body)
		}
		start = time.Now()
		post(h, req("3.0", 1, wire.Read))
		if d := time.Since(start); d != 3*cost {
			t.Errorf("slowed x3: %v, want %v", d, 3*cost)
		}
	})
}

func FuzzProxyHandler(f *testing.F) {
	f.Add("1.0", "3", "0", "normal", "3", "write", "1000", []byte("v"))
	f.Add("1.0", "3", "5", "high", "3", "read", "1000", []byte{})
	f.Add("", "-1", "x", "x", "k", "op", "0", []byte("v"))
	f.Fuzz(func(t *testing.T, id, user, city, prio, key, op, deadline string, body []byte) {
		synctest.Test(t, func(t *testing.T) {
			_, h := costProxy(t)
			r := httptest.NewRequest(http.MethodPost, wire.Path, bytes.NewReader(body))
			for k, v := range map[string]string{wire.HID: id, wire.HUser: user, wire.HCity: city, wire.HPriority: prio, wire.HKey: key, wire.HOp: op, wire.HDeadline: deadline} {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			func() {
				defer func() {
					if v := recover(); v != nil && v != http.ErrAbortHandler {
						panic(v)
					}
				}()
				h.ServeHTTP(w, r)
			}()
			if w.Code == http.StatusBadRequest && strings.TrimSpace(w.Body.String()) == "" {
				t.Fatal("400 without a message")
			}
		})
	})
}
