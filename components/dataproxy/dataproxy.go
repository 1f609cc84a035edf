// Package dataproxy is the "proxy" role of the real stack (data.mode:
// proxy): the data proxy of a set. It takes each operation from the set's
// services, takes one of its data.proxy.concurrency slots,
// spends data.proxy.cost and, still holding the slot, routes it with the data path: the
// user's shard, writes to the primary, reads to the nearest live copy or
// the primary per data.reads.
package dataproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripelab/stripelab/components/datapath"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// nodeQueue is how many operations may wait for a slot, as in the simulator.
const nodeQueue = 1000

// Proxy is one running data proxy.
type Proxy struct {
	plan    *scenarios.Plan
	set     int // the set of its machine
	dp      *datapath.Client
	wc      *wire.Client
	clock   node.Clock
	cost    time.Duration
	slots   chan struct{}
	waiting atomic.Int64
	slow    atomic.Uint64
	ops     *prometheus.CounterVec
	latency *prometheus.HistogramVec
	queue   prometheus.Gauge
}

// Start serves /v1/call and /admin/slow on env.Server.
func Start(ctx context.Context, env *node.Env) (func(), error) {
	px, err := New(env)
	if err != nil {
		return nil, err
	}
	env.Server.Mux.HandleFunc("POST "+wire.Path, px.ServeHTTP)
	env.Server.Admin("POST /admin/slow", px.handleSlow)
	return px.wc.Close, nil
}

// New builds a proxy from env's plan.
func New(env *node.Env) (*Proxy, error) {
	p := env.Plan
	d := &p.Scenario.Stack.Data
	if d.Mode != "proxy" || d.Proxy == nil {
		return nil, errors.New("data proxy: the scenario's data.mode is not proxy")
	}
	if in := p.Instances[env.Config.Instance]; in.Role != scenarios.RoleProxy {
		return nil, fmt.Errorf("instance %d is a %s, not a proxy", env.Config.Instance, in.Role)
	}
	clock := env.Clock
	if clock == nil {
		clock = node.RealClock{}
	}
	wc := wire.NewClient(d.Proxy.Concurrency)
	px := &Proxy{
		plan: p, set: p.Machines[p.Instances[env.Config.Instance].Machine].Set, dp: datapath.New(env, wc), wc: wc, clock: clock, cost: d.Proxy.Cost.Std(),
		slots: make(chan struct{}, max(1, d.Proxy.Concurrency)),
		ops:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_proxy_requests_total", Help: "Operations answered, by op and outcome."}, []string{"op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "stripelab_proxy_request_seconds", Help: "Time from receipt to answer, by op.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"op"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "stripelab_proxy_queue_depth", Help: "Operations waiting for a slot."}),
	}
	px.slow.Store(math.Float64bits(1))
	env.Server.Metrics.MustRegister(px.ops, px.latency, px.queue)
	return px, nil
}

// ServeHTTP routes one operation.
func (px *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := px.clock.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxValue+1))
	var req wire.Request
	if err == nil {
		req, err = wire.Decode(r.Header, body)
	}
	if err == nil && req.City >= len(px.plan.Cities) {
		err = fmt.Errorf("%s: the plan has %d cities, got %d", wire.HCity, len(px.plan.Cities), req.City)
	}
	if err != nil {
		px.ops.WithLabelValues("bad", "bad_request").Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), req.Deadline)
	defer cancel()
	rp := px.route(ctx, &req)
	rp.CrossSet = rp.CrossSet || req.Crosses(px.set)
	px.ops.WithLabelValues(req.Op.String(), rp.Outcome.String()).Inc()
	if !rp.Outcome.Definite() {
		// Nobody knows whether it was done: the caller must see the same.
		panic(http.ErrAbortHandler)
	}
	wire.WriteReply(w, rp)
	px.latency.WithLabelValues(req.Op.String()).Observe(px.clock.Now().Sub(start).Seconds())
}

func (px *Proxy) route(ctx context.Context, req *wire.Request) wire.Reply {
	if px.waiting.Add(1) > nodeQueue {
		px.waiting.Add(-1)
		return wire.Reply{Outcome: wire.Shed, Reason: "queue_full", Served: -1}
	}
	px.queue.Inc()
	select {
	case px.slots <- struct{}{}:
	case <-ctx.Done():
		px.waiting.Add(-1)
		px.queue.Dec()
		return wire.Reply{Outcome: wire.Timeout, Served: -1}
	}
	px.waiting.Add(-1)
	px.queue.Dec()
	defer func() { <-px.slots }() // held through the forward, as in the simulator
	if d := time.Duration(float64(px.cost) * math.Float64frombits(px.slow.Load())); d > 0 {
		select {
		case <-px.clock.After(d):
		case <-ctx.Done():
			return wire.Reply{Outcome: wire.Timeout, Served: -1}
		}
	}
	return px.dp.Do(ctx, req)
}

func (px *Proxy) handleSlow(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("factor")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1000 {
		http.Error(w, fmt.Sprintf("factor: want a number above 0 and at most 1000, got %q", v), http.StatusBadRequest)
		return
	}
	px.slow.Store(math.Float64bits(f))
	fmt.Fprintf(w, "factor %g\n", f)
}
