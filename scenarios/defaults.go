package scenarios

import (
	"fmt"
	"math"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Defaults are applied in two passes, and only to fields the file left
// out: a value written, 0 included, is used as written or rejected by
// validation, never replaced by a default. setDefaults fills a value before the
// file is decoded over it, so a written field replaces its default. Defaults
// that depend on a mode (registry or mesh, sync or async, a profile shape)
// are filled by finishDefaults after decoding, and only where the field was
// not written, so a field that does not belong to the chosen mode can still
// be flagged.

type defaulter interface{ setDefaults() }

func setDefaults(v any) {
	if d, ok := v.(defaulter); ok {
		d.setDefaults()
	}
}

func boolPtr(b bool) *bool { return &b }

func (s *Scenario) setDefaults() {
	s.Run = Run{Duration: Duration(5 * minute), Warmup: Duration(10 * second), Window: Duration(second), Seed: 1}
	s.Topology.Machine.Cores = 16
	s.Topology.Latency = Latency{
		SameMachine: 20 * us, SameRack: 100 * us, SameAZ: 250 * us, CrossAZ: ms,
		CrossCity: 30 * ms, Client: 5 * ms, Jitter: 0.10,
	}
	s.Striping.Granularity = "az"
	s.Stack.Access = Access{RehomeDelay: 30 * second, Failback: boolPtr(true)}
	s.Stack.Gateway = Gateway{
		Instances: 2, Concurrency: 256, Cost: 50 * us,
		Auth:      Auth{Enabled: boolPtr(true), Cost: 200 * us},
		RateLimit: RateLimit{Burst: 100 * ms},
		Queue:     Queue{Capacity: 1000, Timeout: 500 * ms},
		Shedding:  Shedding{Policy: "priority"},
	}
	s.Stack.Discovery = Discovery{Mode: "registry", Scope: "set"}
	s.Scaling = Scaling{Startup: 30 * second, Grace: 30 * second, CopyRate: 1000}
	s.Stack.Data = Data{
		Mode: "sharded", Replicas: 3, Placement: "az", Replication: "async", Reads: "nearest",
		Detection: 10 * second, Promotion: 5 * second,
		ServiceTime: Dist{Dist: "exponential", Mean: 500 * us}, Concurrency: 32,
	}
	s.Workload = Workload{
		Rate: 1000, Profile: Profile{Shape: "constant"}, Arrivals: "poisson",
		Users:      Users{Count: 100_000},
		Mix:        Mix{Read: 0.8, Write: 0.2},
		Keys:       Keys{Distribution: "uniform"},
		Priorities: Priorities{High: 0.1, Normal: 0.6, Low: 0.3},
		Client: Client{
			Timeout: second, Retries: 2, RetryBudget: 0.2,
			Backoff: Backoff{Base: 50 * ms, Max: second, Jitter: "full"},
		},
	}
}

func (c *City) setDefaults() {
	c.AZs = Names{Count: 2}
	c.Racks = Names{Count: 2}
	c.Machines = Names{Count: 4}
}

func (s *Service) setDefaults() {
	s.Instances, s.Concurrency, s.Queue = 2, 16, 1000
	s.ServiceTime = Dist{Dist: "exponential", Mean: 2 * ms}
}

func (b *Breaker) setDefaults() {
	*b = Breaker{Level: "instance", ConsecutiveErrors: 10, ErrorRate: 0.5, SlowRate: 1, Window: 100, MinCalls: 100, Sleep: minute, Probes: 10}
}

func (o *Outlier) setDefaults() {
	*o = Outlier{ConsecutiveErrors: 5, ConsecutiveGatewayErrors: 5, Interval: 10 * second, BaseEjection: 30 * second,
		MaxEjection: 0.1, Stdev: 1.9, MinHosts: 5, MinRequests: 100}
}

func (h *Hedging) setDefaults() { h.MaxAttempts = 2 }

func (h *HealthCheck) setDefaults() {
	*h = HealthCheck{Interval: 5 * second, Timeout: second, Unhealthy: 2, Healthy: 1}
}

func (c *Command) setDefaults() {
	c.Priority, c.Kind = "normal", "mixed"
}

func (a *Autoscaler) setDefaults() {
	*a = Autoscaler{Utilization: 0.70, Period: 15 * second, Tolerance: 0.10, Stabilization: 5 * minute, MaxStep: 4}
}

func (p *Proxy) setDefaults() {
	*p = Proxy{Instances: 2, Cost: 100 * us, Concurrency: 256}
}

// unmarshalNode makes a written mix start from zero: a file that says
// "read: 100%" means no writes, not the default 20% on top.
func (m *Mix) unmarshalNode(d *decoder, n *yaml.Node, path string) {
	*m = Mix{}
	type plain Mix
	d.decodeStruct(n, reflect.ValueOf((*plain)(m)).Elem(), path)
}

// unmarshalNode makes a written priority mix start from zero.
func (p *Priorities) unmarshalNode(d *decoder, n *yaml.Node, path string) {
	*p = Priorities{}
	type plain Priorities
	d.decodeStruct(n, reflect.ValueOf((*plain)(p)).Elem(), path)
}

const (
	us     = Duration(1000)
	ms     = 1000 * us
	second = 1000 * ms
	minute = 60 * second
)

// finishDefaults fills the mode-dependent defaults the file left out.
func (s *Scenario) finishDefaults(written func(path string) bool) {
	st := &s.Stack
	sh := &st.Gateway.Shedding
	switch sh.Policy {
	case "priority":
		fill(written, "stack.gateway.shedding.low", &sh.Low, 0.25)
		fill(written, "stack.gateway.shedding.normal", &sh.Normal, 0.50)
		fill(written, "stack.gateway.shedding.high", &sh.High, 0.90)
	case "random":
		fill(written, "stack.gateway.shedding.start", &sh.Start, 0.50)
	}
	dc := &st.Discovery
	switch dc.Mode {
	case "registry":
		fill(written, "stack.discovery.placement", &dc.Placement, "per-set")
		fill(written, "stack.discovery.replicas", &dc.Replicas, 3)
		fill(written, "stack.discovery.heartbeat", &dc.Heartbeat, 5*second)
		fill(written, "stack.discovery.ttl", &dc.TTL, 15*second)
		fill(written, "stack.discovery.refresh", &dc.Refresh, 10*second)
	case "mesh":
		fill(written, "stack.discovery.detection", &dc.Detection, 2*second)
		fill(written, "stack.discovery.propagation", &dc.Propagation, second)
	}
	s.finishDataDefaults(written)
	s.finishWorkloadDefaults(written)
	for i := range st.Services {
		finishDist(written, fmt.Sprintf("stack.services[%d].service_time", i), &st.Services[i].ServiceTime)
	}
	finishDist(written, "stack.data.service_time", &st.Data.ServiceTime)
	if st.Gateway.Upstream == "" && len(st.Services) > 0 {
		st.Gateway.Upstream = st.Services[0].Name
	}
	for i := range s.Scaling.Autoscale {
		a := &s.Scaling.Autoscale[i]
		fill(written, fmt.Sprintf("scaling.autoscale[%d].min", i), &a.Min, s.componentInstances(a.Service))
	}
	// Timeouts left out wait as long as the client; a written 0 is kept
	// (and rejected by validation: a call needs a positive timeout).
	fill(written, "stack.gateway.timeout", &st.Gateway.Timeout, s.Workload.Client.Timeout)
	for i := range st.Services {
		for j := range st.Services[i].Calls {
			fill(written, fmt.Sprintf("stack.services[%d].calls[%d].timeout", i, j), &st.Services[i].Calls[j].Timeout, s.Workload.Client.Timeout)
		}
	}
	for i := range s.Workload.Commands {
		c := &s.Workload.Commands[i]
		p := fmt.Sprintf("workload.commands[%d]", i)
		fill(written, p+".service", &c.Service, st.Gateway.Upstream)
		fill(written, p+".timeout", &c.Timeout, s.Workload.Client.Timeout)
		fill(written, p+".retries", &c.Retries, s.Workload.Client.Retries)
	}
}

func (s *Scenario) finishDataDefaults(written func(string) bool) {
	dt := &s.Stack.Data
	switch dt.Mode {
	case "global", "proxy":
		fill(written, "stack.data.shards", &dt.Shards, 16)
	}
	if dt.Mode == "global" && !written("stack.data.primary") && len(s.Topology.Cities) > 0 {
		dt.Primary = "city=" + s.Topology.Cities[0].Name
	}
	if dt.Mode == "proxy" && dt.Proxy == nil {
		dt.Proxy = &Proxy{}
		dt.Proxy.setDefaults()
	}
	// Three copies, or one per domain when the placement has fewer
	// domains: a minimal file with one two-AZ city stays valid.
	if !written("stack.data.replicas") {
		dt.Replicas = max(1, min(dt.Replicas, placementDomains(s.Topology, dt.Placement)))
	}
	switch dt.Replication {
	case "sync":
		fill(written, "stack.data.acks", &dt.Acks, "one")
	case "async":
		fill(written, "stack.data.lag", &dt.Lag, 100*ms)
	}
}

func (s *Scenario) finishWorkloadDefaults(written func(string) bool) {
	w := &s.Workload
	p := &w.Profile
	switch p.Shape {
	case "ramp":
		fill(written, "workload.profile.to", &p.To, 1.0)
		fill(written, "workload.profile.end", &p.End, s.Run.Duration)
	case "spike":
		fill(written, "workload.profile.for", &p.For, 30*second)
		fill(written, "workload.profile.level", &p.Level, 3.0)
	case "diurnal":
		fill(written, "workload.profile.period", &p.Period, s.Run.Duration)
		fill(written, "workload.profile.min", &p.Min, 0.3)
		fill(written, "workload.profile.peak_at", &p.PeakAt, p.Period/2)
	}
	if w.Keys.Distribution == "zipf" {
		fill(written, "workload.keys.s", &w.Keys.S, 1.1)
	}
	if !written("workload.client.retry_on") {
		w.Client.RetryOn = []string{"timeout", "error", "unavailable"}
	}
	if w.Users.ByCity == nil && len(s.Topology.Cities) > 0 {
		w.Users.ByCity = map[string]Percent{}
		n := len(s.Topology.Cities)
		for _, c := range s.Topology.Cities {
			w.Users.ByCity[c.Name] = Percent(1 / float64(n))
		}
	}
}

// finishDist gives a lognormal its default shape when the file left
// sigma out; a written sigma, 0 included, is kept for validation to judge.
func finishDist(written func(string) bool, path string, d *Dist) {
	if d.Dist == "lognormal" {
		fill(written, path+".sigma", &d.Sigma, 0.5)
	}
}

func fill[T any](written func(string) bool, path string, dst *T, v T) {
	if !written(path) {
		*dst = v
	}
}

// placementDomains counts the distinct places at a placement level
// (cities, AZs, racks or machines).
func placementDomains(t Topology, level string) int {
	n := 0
	f := func(n Names) int { return min(max(n.N(), 0), MaxMachines+1) }
	for _, c := range t.Cities {
		switch level {
		case "city":
			n++
		case "az":
			n += f(c.AZs)
		case "rack":
			n += f(c.AZs) * f(c.Racks)
		default:
			n += min(f(c.AZs)*f(c.Racks), MaxMachines+1) * f(c.Machines)
		}
		if n > MaxMachines {
			return MaxMachines
		}
	}
	return n
}

// scaleShares scales the shares that must sum to 100% (the mix, the
// priorities, the cities' users), which validation accepts within
// ShareTolerance, to sum to exactly 100%: thirds written 33.3% become
// exact thirds.
func (s *Scenario) scaleShares() {
	w := &s.Workload
	scale := func(ps ...*Percent) {
		var sum Percent
		for _, p := range ps {
			sum += *p
		}
		if sum > 0 && math.Abs(float64(sum)-1) > 1e-9 { // rounding written by a person, not float noise
			for _, p := range ps {
				*p /= sum
			}
		}
	}
	scale(&w.Mix.Read, &w.Mix.Write)
	scale(&w.Priorities.High, &w.Priorities.Normal, &w.Priorities.Low)
	cmds := make([]*Percent, len(w.Commands))
	for i := range w.Commands {
		cmds[i] = &w.Commands[i].Share
	}
	scale(cmds...)
	cities := make([]*Percent, 0, len(w.Users.ByCity))
	shares := make([]Percent, len(w.Users.ByCity))
	for i, name := range sortedMapKeys(w.Users.ByCity) {
		shares[i] = w.Users.ByCity[name]
		cities = append(cities, &shares[i])
	}
	scale(cities...)
	for i, name := range sortedMapKeys(w.Users.ByCity) {
		w.Users.ByCity[name] = shares[i]
	}
}

// componentInstances is the instances per set of a service or of the
// gateway (GatewayComponent) at the start; 0 for an unknown name.
func (s *Scenario) componentInstances(name string) int {
	if name == GatewayComponent {
		return s.Stack.Gateway.Instances
	}
	for _, sv := range s.Stack.Services {
		if sv.Name == name {
			return sv.Instances
		}
	}
	return 0
}
