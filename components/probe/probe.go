// Package probe measures the overheads the real stack pays on this host
// that a scenario does not state: a hop over loopback through a network
// proxy (the HTTP round trip, the proxy's copy, the scheduling of three
// processes' goroutines) and how late a sleep wakes (the timer
// granularity a component's service time pays). calibrate --fit folds
// them into existing scenario fields so the simulator accounts for them.
package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// Overheads are medians measured on this host.
type Overheads struct {
	// DirectRTT is a request and its answer over loopback, keep-alive,
	// to a handler that answers at once; ProxiedRTT the same through an
	// in-process Toxiproxy proxy with no toxics, as every hop of the real
	// stack is.
	DirectRTT  time.Duration `json:"direct_rtt_ns"`
	ProxiedRTT time.Duration `json:"proxied_rtt_ns"`
	// SleepLate is how much later than asked a 2 ms sleep wakes.
	SleepLate time.Duration `json:"sleep_late_ns"`
	Samples   int           `json:"samples"`
}

// Measure runs the probe: n round trips each way (at least 100) and 200
// sleeps. It takes about a second.
func Measure(ctx context.Context, n int) (Overheads, error) {
	n = max(n, 100)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Overheads{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wire.WriteReply(w, wire.Reply{Outcome: wire.OK, Served: -1})
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	px := toxiproxy.NewProxy(tp, "probe", "127.0.0.1:0", ln.Addr().String())
	if err := tp.Collection.Add(px, true); err != nil {
		return Overheads{}, fmt.Errorf("probe proxy: %w", err)
	}
	defer px.Stop()
	c := wire.NewClient(4)
	defer c.Close()
	o := Overheads{Samples: n}
	if o.DirectRTT, err = rtt(ctx, c, ln.Addr().String(), n); err != nil {
		return o, err
	}
	if o.ProxiedRTT, err = rtt(ctx, c, px.Listen, n); err != nil {
		return o, err
	}
	late := make([]time.Duration, 200)
	for i := range late {
		t0 := time.Now()
		time.Sleep(2 * time.Millisecond)
		late[i] = time.Since(t0) - 2*time.Millisecond
	}
	o.SleepLate = max(median(late), 0)
	return o, nil
}

func rtt(ctx context.Context, c *wire.Client, addr string, n int) (time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for i := range n + 20 {
		r := wire.Request{ID: "probe." + strconv.Itoa(i), Priority: 1, Op: wire.Read, Deadline: time.Second}
		t0 := time.Now()
		rp := c.Call(ctx, addr, &r, "")
		d := time.Since(t0)
		if rp.Outcome != wire.OK {
			return 0, fmt.Errorf("probe %s: %s (%s)", addr, rp.Outcome, rp.Reason)
		}
		if i >= 20 { // the first ones open the connection
			ds = append(ds, d)
		}
	}
	return median(ds), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// roundUS rounds to the microsecond, as scenario durations print.
func roundUS(d time.Duration) scenarios.Duration {
	return scenarios.Duration(d.Round(time.Microsecond))
}

// Fields names the scenario fields Apply changes and by how much.
func (o Overheads) Fields() []string {
	hop := roundUS(o.ProxiedRTT / 2)
	late := roundUS(o.SleepLate)
	return []string{
		"topology.latency.* (every pair, client and city matrix) + " + hop.String() + " (half a proxied loopback round trip, " + roundUS(o.ProxiedRTT).String() + ")",
		"stack.services[*].service_time and stack.data.service_time + " + late.String() + " (a sleep's late wake-up)",
	}
}

// Apply adds the overheads to s: half the proxied round trip to every
// one-way latency (each message of the real stack crosses one proxy),
// the sleep's lateness to every service time (constant and exponential:
// the mean; lognormal: the mean; uniform: both bounds). s's slices are
// replaced, not written through, so a caller's copy stays as it was.
func (o Overheads) Apply(s *scenarios.Scenario) {
	hop := roundUS(o.ProxiedRTT / 2)
	late := roundUS(o.SleepLate)
	l := &s.Topology.Latency
	l.SameMachine += hop
	l.SameRack += hop
	l.SameAZ += hop
	l.CrossAZ += hop
	l.CrossCity += hop
	l.Client += hop
	cities := slices.Clone(l.Cities)
	for i := range cities {
		cities[i].Delay += hop
	}
	l.Cities = cities
	svcs := slices.Clone(s.Stack.Services)
	for i := range svcs {
		svcs[i].ServiceTime = later(svcs[i].ServiceTime, late)
	}
	s.Stack.Services = svcs
	s.Stack.Data.ServiceTime = later(s.Stack.Data.ServiceTime, late)
}

func later(d scenarios.Dist, late scenarios.Duration) scenarios.Dist {
	switch d.Dist {
	case "":
		return d
	case "uniform":
		d.Min += late
		d.Max += late
		return d
	}
	d.Mean += late
	return d
}
