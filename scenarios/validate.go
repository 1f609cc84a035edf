package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stripelab/stripelab/faults"
)

// MaxMachines bounds the machines of a topology and MaxInstances the
// instances of a plan, so that a typo cannot ask for a plan that does not
// fit in memory.
const (
	MaxCities    = 1000
	MaxMachines  = 100_000
	MaxInstances = 1_000_000
	// MaxRate bounds workload.rate.
	MaxRate = 10_000_000
)

// machineCount is how many machines the topology lists, exactly (it
// saturates only beyond 10^18, far above any count a file can write).
func machineCount(t Topology) int64 {
	var n int64
	for _, c := range t.Cities {
		m := satMul(satMul(int64(max(c.AZs.N(), 0)), int64(max(c.Racks.N(), 0))), int64(max(c.Machines.N(), 0)))
		n = min(n+m, maxCount18)
	}
	return n
}

// maxCount18 is where machineCount saturates.
const maxCount18 = int64(1e18)

// satMul multiplies non-negative a and b, saturating at maxCount18.
func satMul(a, b int64) int64 {
	if a != 0 && b > maxCount18/a {
		return maxCount18
	}
	return a * b
}

// ShareTolerance is how far shares that must sum to 100% (the mix, the
// priorities, the cities' users) may miss it, so that thirds written
// 33.3% pass; they are then scaled to sum to exactly 100%.
const ShareTolerance = 0.001

func sumsToOne(s float64) bool { return math.Abs(s-1) <= ShareTolerance+1e-12 }

// MaxZipf bounds the Zipf exponent of workload.keys: at 10 the hottest
// user sends all but a thousandth of the traffic already.
const MaxZipf = 10.0

// MaxDepth is the deepest call chain a request may take: client, gateway,
// services, data proxy and shard node each hold one level.
const MaxDepth = 12

type validator struct {
	f    *File
	s    *Scenario
	errs ErrorList
	topo *topoIndex
}

func (v *validator) errf(path, format string, args ...any) {
	p := v.f.at(path)
	v.errs = append(v.errs, Error{File: v.f.Path, Line: p.Line, Col: p.Col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// keyErrf reports a problem with a key itself (an unknown name) at the key.
func (v *validator) keyErrf(path, format string, args ...any) {
	p := v.f.keyAt(path)
	v.errs = append(v.errs, Error{File: v.f.Path, Line: p.Line, Col: p.Col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// notFor flags fields written that do not apply to the chosen mode.
func (v *validator) notFor(base, mode, modeField string, fields ...string) {
	for _, fl := range fields {
		path := base + "." + fl
		if v.f.written(path) {
			p := v.f.keyAt(path)
			v.errs = append(v.errs, Error{File: v.f.Path, Line: p.Line, Col: p.Col, Path: path,
				Msg: fmt.Sprintf("%s does not apply when %s is %s", fl, modeField, mode)})
		}
	}
}

func (v *validator) oneOf(path, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	v.errf(path, "expected one of %s, got %q", strings.Join(allowed, ", "), got)
	return false
}

func (v *validator) positive(path string, n int) {
	if n < 1 {
		v.errf(path, "expected at least 1, got %d", n)
	}
}

func (f *File) validate() ErrorList {
	v := &validator{f: f, s: f.Scenario}
	v.run()
	before := len(v.errs)
	v.topology()
	if len(v.errs) == before {
		v.topo = indexTopology(v.s)
	}
	v.oneOf("striping.granularity", v.s.Striping.Granularity, Granularities...)
	v.gateway()
	v.discovery()
	v.services()
	v.data()
	v.resilience()
	v.instances()
	v.workload()
	v.faults()
	v.scaling()
	v.load()
	v.slo()
	return v.errs
}

func (v *validator) run() {
	r := v.s.Run
	if r.Duration <= 0 {
		v.errf("run.duration", "expected a positive duration")
		return
	}
	if r.Warmup >= r.Duration {
		v.errf("run.warmup", "warm-up %s leaves nothing of a %s run to measure", r.Warmup, r.Duration)
	}
	if r.Window <= 0 {
		v.errf("run.window", "expected a positive duration")
	} else if r.Window > r.Duration {
		v.errf("run.window", "the window %s is longer than the run %s", r.Window, r.Duration)
	} else if int64(r.Duration/r.Window) > 1_000_000 {
		v.errf("run.window", "%s windows over %s make more than a million windows", r.Window, r.Duration)
	}
}

func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, "/=, \t")
}

func (v *validator) topology() {
	t := v.s.Topology
	if len(t.Cities) == 0 {
		v.errf("topology.cities", "expected at least one city")
	} else if len(t.Cities) > MaxCities {
		v.errf("topology.cities", "the topology has %d cities; at most %d are supported", len(t.Cities), MaxCities)
	}
	before := len(v.errs)
	seen := map[string]bool{}
	for i, c := range t.Cities {
		p := fmt.Sprintf("topology.cities[%d]", i)
		if !validName(c.Name) {
			v.errf(p+".name", "expected a name without '/', '=', ',' or spaces, got %q", c.Name)
		} else if seen[c.Name] {
			v.errf(p+".name", "city %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		v.names(p+".azs", c.AZs)
		v.names(p+".racks", c.Racks)
		v.names(p+".machines", c.Machines)
		if c.Cores < 0 {
			v.errf(p+".cores", "expected a positive count or 0 for the default")
		}
	}
	v.positive("topology.machine.cores", t.Machine.Cores)
	if n := machineCount(t); n > MaxMachines && len(v.errs) == before {
		v.errf("topology.cities", "the topology has %s machines; at most %s are supported", groupDigits(n), groupDigits(MaxMachines))
	}
	pairs := map[[2]string]bool{}
	for i, cl := range t.Latency.Cities {
		p := fmt.Sprintf("topology.latency.cities[%d]", i)
		if len(cl.Between) != 2 || cl.Between[0] == cl.Between[1] {
			v.errf(p+".between", "expected two different city names")
			continue
		}
		for _, n := range cl.Between {
			if !seen[n] {
				v.errf(p+".between", "unknown city %q", n)
			}
		}
		k := [2]string{min(cl.Between[0], cl.Between[1]), max(cl.Between[0], cl.Between[1])}
		if pairs[k] {
			v.errf(p+".between", "the delay between %s and %s is given twice", k[0], k[1])
		}
		pairs[k] = true
		if cl.Delay <= 0 {
			v.errf(p+".delay", "expected a positive duration")
		}
	}
	if t.Latency.Jitter > 10 {
		v.errf("topology.latency.jitter", "expected at most 1000%%")
	}
}

// groupDigits writes n with a comma every three digits: 2,000,016.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (v *validator) names(path string, n Names) {
	if n.N() < 1 {
		v.errf(path, "expected at least one")
		return
	}
	if n.N() > 100_000 {
		v.errf(path, "expected at most 100000, got %d", n.N())
	}
	seen := map[string]bool{}
	for i, name := range n.List {
		if !validName(name) {
			v.errf(fmt.Sprintf("%s[%d]", path, i), "expected a name without '/', '=', ',' or spaces, got %q", name)
		} else if seen[name] {
			v.errf(fmt.Sprintf("%s[%d]", path, i), "name %q is listed twice", name)
		}
		seen[name] = true
	}
}

func (v *validator) gateway() {
	g := v.s.Stack.Gateway
	v.positive("stack.gateway.instances", g.Instances)
	v.positive("stack.gateway.concurrency", g.Concurrency)
	if g.Queue.Capacity < 0 {
		v.errf("stack.gateway.queue.capacity", "expected 0 or more")
	}
	sh := g.Shedding
	if v.oneOf("stack.gateway.shedding.policy", sh.Policy, "priority", "random", "none") {
		base := "stack.gateway.shedding"
		switch sh.Policy {
		case "priority":
			v.notFor(base, "priority", "policy", "start")
			if !(sh.Low <= sh.Normal && sh.Normal <= sh.High) {
				v.errf(base, "thresholds must rise with priority: low %s <= normal %s <= high %s", sh.Low, sh.Normal, sh.High)
			}
			for _, f := range []struct {
				n string
				p Percent
			}{{"low", sh.Low}, {"normal", sh.Normal}, {"high", sh.High}} {
				if f.p > 1 {
					v.errf(base+"."+f.n, "expected at most 100%%, got %s", f.p)
				}
			}
		case "random":
			v.notFor(base, "random", "policy", "low", "normal", "high")
			if sh.Start > 1 {
				v.errf(base+".start", "expected at most 100%%, got %s", sh.Start)
			}
		case "none":
			v.notFor(base, "none", "policy", "low", "normal", "high", "start")
		}
	}
	v.timeout("stack.gateway.timeout", g.Timeout)
	if g.Upstream != "" && v.service(g.Upstream) < 0 && !v.duplicateService() {
		v.errf("stack.gateway.upstream", "unknown service %q", g.Upstream)
	}
}

// timeout rejects a written timeout of 0: a caller that gives up at once
// is never what is meant, and leaving the field out waits as long as the
// client (workload.client.timeout, checked on its own).
func (v *validator) timeout(path string, d Duration) {
	if d <= 0 && v.f.written(path) {
		v.errf(path, "expected a positive duration; leave timeout out to wait as long as the client (workload.client.timeout)")
	}
}

// duplicateService reports whether two services share a name. Then a name
// that matches no service is most likely the one written twice by
// mistake, so only the duplicate is reported, not the calls it leaves
// unresolved.
func (v *validator) duplicateService() bool {
	seen := map[string]bool{}
	for _, s := range v.s.Stack.Services {
		if seen[s.Name] {
			return true
		}
		seen[s.Name] = true
	}
	return false
}

func (v *validator) service(name string) int {
	for i, s := range v.s.Stack.Services {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func (v *validator) discovery() {
	d := v.s.Stack.Discovery
	base := "stack.discovery"
	v.oneOf(base+".scope", d.Scope, "set", "city", "global")
	if !v.oneOf(base+".mode", d.Mode, "registry", "mesh") {
		return
	}
	if d.Mode == "registry" {
		v.notFor(base, "registry", "mode", "detection", "propagation")
		if d.Placement != "per-set" && v.topo != nil {
			sc, err := faults.ParseScope(d.Placement)
			if err != nil || !sc.Kind.Physical() {
				v.errf(base+".placement", "expected per-set or a place such as city=NAME or az=CITY/AZ, got %q", d.Placement)
			} else if _, err := v.topo.machinesIn(sc); err != nil {
				v.errf(base+".placement", "%v", err)
			}
		}
		if d.Replicas < 1 || d.Replicas > 9 {
			v.errf(base+".replicas", "expected 1 to 9 copies, got %d", d.Replicas)
		}
		if d.Heartbeat <= 0 {
			v.errf(base+".heartbeat", "expected a positive duration")
		}
		if d.TTL <= d.Heartbeat {
			v.errf(base+".ttl", "the TTL %s must exceed the heartbeat %s or every instance expires between beats", d.TTL, d.Heartbeat)
		}
		if d.Refresh <= 0 {
			v.errf(base+".refresh", "expected a positive duration")
		}
		return
	}
	v.notFor(base, "mesh", "mode", "placement", "replicas", "heartbeat", "ttl", "refresh")
}

func (v *validator) services() {
	ss := v.s.Stack.Services
	if len(ss) == 0 {
		v.errf("stack.services", "expected at least one service for the gateway to call")
	}
	seen := map[string]bool{}
	for i, s := range ss {
		p := fmt.Sprintf("stack.services[%d]", i)
		if !validName(s.Name) {
			v.errf(p+".name", "expected a name without '/', '=', ',' or spaces, got %q", s.Name)
		} else if seen[s.Name] {
			v.errf(p+".name", "service %q is listed twice", s.Name)
		}
		seen[s.Name] = true
		v.positive(p+".instances", s.Instances)
		v.positive(p+".concurrency", s.Concurrency)
		if s.Queue < 0 {
			v.errf(p+".queue", "expected 0 or more")
		}
		v.dist(p+".service_time", s.ServiceTime)
		for j, c := range s.Calls {
			v.call(fmt.Sprintf("%s.calls[%d]", p, j), c)
		}
	}
	v.callGraph()
}

func (v *validator) call(p string, c Call) {
	v.timeout(p+".timeout", c.Timeout)
	switch {
	case c.Service != "" && c.Data != "":
		v.errf(p, "a call names either a service or data, not both")
	case c.Service != "":
		if v.service(c.Service) < 0 && !v.duplicateService() {
			v.errf(p+".service", "unknown service %q", c.Service)
		}
	case c.Data != "":
		if v.oneOf(p+".data", c.Data, "read", "write", "request") && v.s.Stack.Data.Mode == "none" {
			v.errf(p+".data", "a data call needs stack.data.mode other than none")
		}
	default:
		v.errf(p, "a call needs service or data")
	}
}

// callGraph rejects cycles and chains deeper than MaxDepth; it skips calls
// to unknown services, which call reports.
func (v *validator) callGraph() {
	ss := v.s.Stack.Services
	depth := make([]int, len(ss)) // 0 unknown, -1 visiting
	var visit func(i int, path []string) int
	visit = func(i int, path []string) int {
		switch depth[i] {
		case -1:
			v.errf(fmt.Sprintf("stack.services[%d].calls", i), "calls form a cycle: %s", strings.Join(append(path, ss[i].Name), " -> "))
			return 1
		case 0:
		default:
			return depth[i]
		}
		depth[i] = -1
		d := 1
		for _, c := range ss[i].Calls {
			switch {
			case c.Service != "":
				if callee := v.service(c.Service); callee >= 0 { // unknown ones are reported by call
					d = max(d, 1+visit(callee, append(path, ss[i].Name)))
				}
			case c.Data != "":
				d = max(d, 3) // proxy and shard node
			}
		}
		depth[i] = d
		return d
	}
	for i := range ss {
		if depth[i] == 0 {
			visit(i, nil)
		}
	}
	if g := v.service(v.s.Stack.Gateway.Upstream); g >= 0 && depth[g] > 0 && depth[g]+2 > MaxDepth {
		v.errf("stack.services", "the call chain is %d levels deep; at most %d are supported", depth[g]+2, MaxDepth)
	}
}

func (v *validator) dist(p string, d Dist) {
	if !v.oneOf(p+".dist", d.Dist, "constant", "exponential", "lognormal", "uniform") {
		return
	}
	switch d.Dist {
	case "uniform":
		v.notFor(p, "uniform", "dist", "mean", "sigma")
		if d.Max <= d.Min {
			v.errf(p+".max", "expected max above min (%s)", d.Min)
		}
	case "lognormal":
		v.notFor(p, "lognormal", "dist", "min", "max")
		if d.Mean <= 0 {
			v.errf(p+".mean", "expected a positive duration")
		}
		if d.Sigma <= 0 || d.Sigma > 5 {
			v.errf(p+".sigma", "expected a shape above 0 and at most 5, got %v", d.Sigma)
		}
	default:
		v.notFor(p, d.Dist, "dist", "sigma", "min", "max")
		if d.Mean <= 0 {
			v.errf(p+".mean", "expected a positive duration")
		}
	}
}

func (v *validator) data() {
	d := v.s.Stack.Data
	base := "stack.data"
	if !v.oneOf(base+".mode", d.Mode, "global", "sharded", "proxy", "none") {
		return
	}
	if d.Mode == "none" {
		v.notFor(base, "none", "mode", "shards", "replicas", "placement", "primary", "replication", "acks", "lag", "reads", "detection", "promotion", "service_time", "concurrency", "proxy")
		return
	}
	switch d.Mode {
	case "sharded":
		v.notFor(base, "sharded", "mode", "shards", "primary", "proxy")
	case "global":
		v.notFor(base, "global", "mode", "proxy")
	case "proxy":
		v.notFor(base, "proxy", "mode", "primary")
	}
	if d.Mode != "sharded" {
		v.positive(base+".shards", d.Shards)
		if d.Shards > 100_000 {
			v.errf(base+".shards", "expected at most 100000")
		}
	}
	v.positive(base+".replicas", d.Replicas)
	v.positive(base+".concurrency", d.Concurrency)
	v.dist(base+".service_time", d.ServiceTime)
	v.oneOf(base+".reads", d.Reads, "nearest", "primary")
	if v.oneOf(base+".placement", d.Placement, "machine", "rack", "az", "city") && v.topo != nil {
		if n := v.topo.domains(d.Placement); d.Replicas > n {
			v.errf(base+".replicas", "%s spread over distinct %s need %d; the topology has %d", Quantity(d.Replicas, "replica"), Plural(d.Placement), d.Replicas, n)
		}
	}
	if d.Mode == "global" && v.topo != nil {
		sc, err := faults.ParseScope(d.Primary)
		if err != nil || !sc.Kind.Physical() {
			v.errf(base+".primary", "expected a place such as city=NAME, got %q", d.Primary)
		} else if _, err := v.topo.machinesIn(sc); err != nil {
			v.errf(base+".primary", "%v", err)
		}
	}
	if v.oneOf(base+".replication", d.Replication, "sync", "async") {
		if d.Replication == "sync" {
			v.notFor(base, "sync", "replication", "lag")
			v.oneOf(base+".acks", d.Acks, "one", "majority", "all")
			if d.Replicas < 2 {
				v.errf(base+".replication", "sync replication needs at least 2 replicas")
			}
		} else {
			v.notFor(base, "async", "replication", "acks")
		}
	}
	if d.Mode == "proxy" && d.Proxy != nil {
		v.positive(base+".proxy.instances", d.Proxy.Instances)
		v.positive(base+".proxy.concurrency", d.Proxy.Concurrency)
	}
}

// instances rejects a stack that would place more than MaxInstances.
func (v *validator) instances() {
	if v.topo == nil {
		return
	}
	st := v.s.Stack
	per := int64(st.Gateway.Instances)
	for _, sv := range st.Services {
		per += int64(max(sv.Instances, 0))
	}
	if st.Data.Mode == "proxy" && st.Data.Proxy != nil {
		per += int64(max(st.Data.Proxy.Instances, 0))
	}
	for _, c := range v.s.scaled() {
		name := GatewayComponent
		if c >= 0 {
			name = st.Services[c].Name
		}
		per += int64(max(v.s.scaleSlots(name)-v.s.componentInstances(name), 0))
	}
	total := per * int64(len(v.topo.sets))
	if st.Data.Mode != "none" {
		total += int64(max(v.topo.shards, 0)) * int64(max(st.Data.Replicas, 0))
	}
	if total > MaxInstances {
		v.errf("stack", "the stack places %d instances over %d sets; at most %d are supported", total, len(v.topo.sets), MaxInstances)
	}
}

func (v *validator) workload() {
	w := v.s.Workload
	if w.Rate <= 0 {
		v.errf("workload.rate", "expected a positive rate")
	} else if w.Rate > MaxRate {
		v.errf("workload.rate", "expected at most %s, got %s", Rate(MaxRate), w.Rate)
	}
	v.profile()
	v.oneOf("workload.arrivals", w.Arrivals, "poisson", "uniform")
	if w.Users.Count < 1 {
		v.errf("workload.users.count", "expected at least one user")
	} else if w.Users.Count > 100_000_000 {
		v.errf("workload.users.count", "expected at most 100M users")
	}
	if v.topo != nil {
		var sum float64
		for _, c := range v.s.Topology.Cities {
			sum += w.Users.ByCity[c.Name].Fraction()
		}
		unknown := false
		for _, name := range sortedMapKeys(w.Users.ByCity) {
			if v.topo.city(name) < 0 {
				v.keyErrf("workload.users.by_city."+name, "unknown city %q; known: %s", name, v.topo.known(faults.ScopeCity))
				unknown = true
			}
		}
		if !unknown && !sumsToOne(sum) {
			v.errf("workload.users.by_city", "shares sum to %s, expected 100%% (within %s)", Percent(sum), Percent(ShareTolerance))
		}
	}
	if s := w.Mix.Read + w.Mix.Write; !sumsToOne(float64(s)) {
		v.errf("workload.mix", "read and write sum to %s, expected 100%% (within %s)", s, Percent(ShareTolerance))
	}
	if s := w.Priorities.High + w.Priorities.Normal + w.Priorities.Low; len(w.Commands) == 0 && !sumsToOne(float64(s)) {
		v.errf("workload.priorities", "high, normal and low sum to %s, expected 100%% (within %s)", s, Percent(ShareTolerance))
	}
	v.commands()
	if v.oneOf("workload.keys.distribution", w.Keys.Distribution, "uniform", "zipf") {
		if w.Keys.Distribution == "uniform" {
			v.notFor("workload.keys", "uniform", "distribution", "s")
		} else if w.Keys.S <= 0 || w.Keys.S > MaxZipf {
			v.errf("workload.keys.s", "expected a Zipf exponent above 0 and at most %v, got %v", MaxZipf, w.Keys.S)
		}
	}
	v.client()
}

func (v *validator) client() {
	c := v.s.Workload.Client
	p := "workload.client"
	if c.Timeout <= 0 {
		v.errf(p+".timeout", "expected a positive duration")
	}
	if c.Retries < 0 || c.Retries > 10 {
		v.errf(p+".retries", "expected 0 to 10 retries, got %d", c.Retries)
	}
	if c.Backoff.Max < c.Backoff.Base {
		v.errf(p+".backoff.max", "expected at least the base %s", c.Backoff.Base)
	}
	v.oneOf(p+".backoff.jitter", c.Backoff.Jitter, "full", "equal", "none")
	if c.RetryBudget > 1 {
		v.errf(p+".retry_budget", "expected at most 100%%")
	}
	for i, o := range c.RetryOn {
		v.oneOf(fmt.Sprintf("%s.retry_on[%d]", p, i), o, "timeout", "error", "unavailable", "shed", "rate-limited")
	}
}

func (v *validator) profile() {
	p := v.s.Workload.Profile
	base := "workload.profile"
	all := []string{"from", "to", "start", "end", "for", "level", "steps", "period", "min", "peak_at"}
	own := map[string][]string{
		"constant": {},
		"ramp":     {"from", "to", "start", "end"},
		"step":     {"steps"},
		"spike":    {"start", "for", "level"},
		"diurnal":  {"period", "min", "peak_at"},
	}
	fields, ok := own[p.Shape]
	if !ok {
		v.errf(base+".shape", "expected one of constant, ramp, step, spike, diurnal, got %q", p.Shape)
		return
	}
	var foreign []string
	for _, f := range all {
		if !slices.Contains(fields, f) {
			foreign = append(foreign, f)
		}
	}
	v.notFor(base, p.Shape, "shape", foreign...)
	dur := v.s.Run.Duration
	switch p.Shape {
	case "ramp":
		if p.End <= p.Start {
			v.errf(base+".end", "expected the ramp to end after it starts (%s)", p.Start)
		}
	case "step":
		if len(p.Steps) == 0 {
			v.errf(base+".steps", "expected at least one step")
		}
		for i := 1; i < len(p.Steps); i++ {
			if p.Steps[i].At <= p.Steps[i-1].At {
				v.errf(fmt.Sprintf("%s.steps[%d].at", base, i), "steps must be in time order")
			}
		}
	case "spike":
		if p.Start >= dur || p.For > dur-p.Start {
			v.errf(base+".for", "the spike ends after the run (%s)", dur)
		}
	case "diurnal":
		if p.Period <= 0 {
			v.errf(base+".period", "expected a positive duration")
		}
		if p.Min > 1 {
			v.errf(base+".min", "expected at most 100%%")
		}
	}
}

func (v *validator) faults() {
	for i, fl := range v.s.Faults {
		v.fault(fmt.Sprintf("faults[%d]", i), fl)
	}
}

var faultParams = []faults.Param{faults.ParamTo, faults.ParamDirection, faults.ParamAction, faults.ParamDelay, faults.ParamJitter, faults.ParamRate, faults.ParamFactor}

func (v *validator) fault(p string, fl Fault) {
	spec, err := faults.Lookup(fl.Kind)
	if err != nil {
		v.errf(p+".kind", "%v", err)
		return
	}
	dur := v.s.Run.Duration
	if !v.f.written(p + ".at") {
		v.errf(p, "a fault needs at (when it starts)")
	}
	if fl.At >= dur {
		v.errf(p+".at", "the fault starts at %s, at or after the end of the %s run", fl.At, dur)
	} else if fl.For > dur-fl.At {
		v.errf(p+".for", "the fault ends at %s, after the end of the %s run", fl.At+fl.For, dur)
	}
	for _, prm := range faultParams {
		if v.f.written(p+"."+string(prm)) && !spec.Allows(prm) {
			pos := v.f.keyAt(p + "." + string(prm))
			v.errs = append(v.errs, Error{File: v.f.Path, Line: pos.Line, Col: pos.Col, Path: p + "." + string(prm),
				Msg: fmt.Sprintf("%s does not apply to kind %s", prm, fl.Kind)})
		}
	}
	missing := false
	for _, prm := range spec.Required {
		if !v.f.written(p + "." + string(prm)) {
			v.errf(p, "kind %s needs %s", fl.Kind, prm)
			missing = true
		}
	}
	if spec.Check != nil && !missing {
		if err := spec.Check(paramsOf(fl)); err != nil {
			name, msg, ok := strings.Cut(err.Error(), ": ")
			at := joinPath(p, name)
			if !ok {
				at, msg = p, err.Error()
			}
			v.errf(at, "%s", msg)
		}
	}
	if spec.Kind == faults.ShardPrimaryDown && v.s.Stack.Data.Mode == "none" {
		v.errf(p+".kind", "shard-primary-down needs stack.data.mode other than none")
	}
	v.faultTarget(p, spec, fl)
}

func (v *validator) faultTarget(p string, spec *faults.Spec, fl Fault) {
	sc, err := faults.ParseScope(fl.Target)
	if err != nil {
		v.errf(p+".target", "%v", err)
		return
	}
	if !spec.AllowsTarget(sc.Kind) {
		if sc.Kind == faults.ScopeAll {
			v.errf(p, "kind %s needs a target: %s", fl.Kind, spec.TargetKinds())
		} else {
			v.errf(p+".target", "kind %s takes a target of %s, not %s=", fl.Kind, spec.TargetKinds(), sc.Kind)
		}
		return
	}
	if v.topo == nil {
		return
	}
	if err := v.topo.exists(sc); err != nil {
		v.errf(p+".target", "%v", err)
	}
	if fl.To == "" || !spec.Allows(faults.ParamTo) {
		return
	}
	to, err := faults.ParseScope(fl.To)
	if err != nil {
		v.errf(p+".to", "%v", err)
		return
	}
	if !to.Kind.Physical() && to.Kind != faults.ScopeSet && to.Kind != faults.ScopeService {
		v.errf(p+".to", "expected a place, set or service, got %s=", to.Kind)
		return
	}
	if err := v.topo.exists(to); err != nil {
		v.errf(p+".to", "%v", err)
		return
	}
	if v.overlap(sc, to) {
		v.errf(p+".to", "%s and the target %s share machines; a link needs two separate sides", fl.To, fl.Target)
	}
}

// overlap reports whether two places or sets share a machine.
func (v *validator) overlap(a, b faults.Scope) bool {
	isPlace := func(s faults.Scope) bool { return s.Kind.Physical() || s.Kind == faults.ScopeSet }
	if !isPlace(a) || !isPlace(b) {
		return false
	}
	ma, errA := v.topo.machinesIn(a)
	mb, errB := v.topo.machinesIn(b)
	if errA != nil || errB != nil {
		return false
	}
	in := make(map[int]bool, len(ma))
	for _, m := range ma {
		in[m] = true
	}
	for _, m := range mb {
		if in[m] {
			return true
		}
	}
	return false
}

func paramsOf(fl Fault) faults.Params {
	return faults.Params{
		Direction: fl.Direction, Action: fl.Action, Delay: fl.Delay.Std(), Jitter: fl.Jitter.Std(),
		Rate: fl.Rate.Fraction(), Factor: fl.Factor,
	}
}

// commandSLOs checks slo.commands: every key names a command, every
// objective is a share up to 100% or a known percentile.
func (v *validator) commandSLOs() {
	cs := v.s.SLO.Commands
	for _, k := range sortedMapKeys(cs) {
		p := "slo.commands." + k
		known := false
		var names []string
		for _, c := range v.s.Workload.Commands {
			known = known || c.Name == k
			names = append(names, c.Name)
		}
		if !known {
			if len(names) == 0 {
				v.keyErrf(p, "unknown command %q: workload.commands is empty", k)
			} else {
				v.keyErrf(p, "unknown command %q; known: %s", k, strings.Join(names, ", "))
			}
			continue
		}
		o := cs[k]
		for _, f := range []struct {
			n string
			p Percent
		}{{"availability", o.Availability}, {"availability_in_fault", o.AvailabilityInFault}} {
			if f.p > 1 {
				v.errf(p+"."+f.n, "expected at most 100%%, got %s", f.p)
			}
		}
		for _, q := range sortedMapKeys(o.Latency) {
			if _, ok := Percentiles[q]; !ok {
				v.keyErrf(p+".latency."+q, "unknown percentile %q; expected p50, p90, p95, p99 or p99.9", q)
			} else if o.Latency[q] <= 0 {
				v.errf(p+".latency."+q, "expected a positive duration")
			}
		}
	}
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resilience checks stack.resilience: each policy's fields, and that the
// thresholds of a discovery mode are not set under the other.
func (v *validator) resilience() {
	r := v.s.Stack.Resilience
	if r == nil {
		return
	}
	p := "stack.resilience"
	if b := r.Breaker; b != nil {
		bp := p + ".breaker"
		v.oneOf(bp+".level", b.Level, "instance", "service")
		if b.ConsecutiveErrors < 0 {
			v.errf(bp+".consecutive_errors", "expected 0 or more")
		}
		if b.ErrorRate > 1 {
			v.errf(bp+".error_rate", "expected at most 100%%, got %s", b.ErrorRate)
		}
		if b.ConsecutiveErrors == 0 && b.ErrorRate == 0 && b.SlowCall == 0 {
			v.errf(bp, "a breaker that opens on nothing: set consecutive_errors, error_rate or slow_call above 0")
		}
		if b.SlowCall < 0 {
			v.errf(bp+".slow_call", "expected a positive duration, or 0 for no slow-call threshold")
		}
		if b.SlowRate <= 0 || b.SlowRate > 1 {
			v.errf(bp+".slow_rate", "expected above 0%% and at most 100%%, got %s", b.SlowRate)
		}
		v.positive(bp+".window", b.Window)
		v.positive(bp+".min_calls", b.MinCalls)
		if b.MinCalls > b.Window && b.Window >= 1 {
			v.errf(bp+".min_calls", "expected at most the window (%d calls), got %d", b.Window, b.MinCalls)
		}
		if b.Sleep <= 0 {
			v.errf(bp+".sleep", "expected a positive duration")
		}
		v.positive(bp+".probes", b.Probes)
	}
	if o := r.Outlier; o != nil {
		op := p + ".outlier"
		for _, f := range []struct {
			n string
			x int
		}{{"consecutive_errors", o.ConsecutiveErrors}, {"consecutive_gateway_errors", o.ConsecutiveGatewayErrors}} {
			if f.x < 0 {
				v.errf(op+"."+f.n, "expected 0 or more")
			}
		}
		if o.ConsecutiveErrors == 0 && o.ConsecutiveGatewayErrors == 0 && o.Stdev == 0 {
			v.errf(op, "outlier ejection that ejects nothing: set consecutive_errors, consecutive_gateway_errors or stdev above 0")
		}
		if o.Interval <= 0 {
			v.errf(op+".interval", "expected a positive duration")
		}
		if o.BaseEjection <= 0 {
			v.errf(op+".base_ejection", "expected a positive duration")
		}
		if o.MaxEjection <= 0 || o.MaxEjection > 1 {
			v.errf(op+".max_ejection", "expected above 0%% and at most 100%%, got %s", o.MaxEjection)
		}
		if o.Stdev < 0 {
			v.errf(op+".stdev", "expected 0 or more")
		}
		v.positive(op+".min_hosts", o.MinHosts)
		v.positive(op+".min_requests", o.MinRequests)
	}
	mode := v.s.Stack.Discovery.Mode
	if r.Panic != 0 {
		if mode != "mesh" {
			v.keyErrf(p+".panic", "panic applies when discovery.mode is mesh (registry mode has protection)")
		} else if r.Panic < 0 || r.Panic > 1 {
			v.errf(p+".panic", "expected at most 100%%, got %s", r.Panic)
		}
	}
	if r.Protection != 0 {
		if mode != "registry" {
			v.keyErrf(p+".protection", "protection applies when discovery.mode is registry (mesh mode has panic)")
		} else if r.Protection < 0 || r.Protection > 1 {
			v.errf(p+".protection", "expected at most 100%%, got %s", r.Protection)
		}
	}
	if r.SelfPreservation != 0 {
		if mode != "registry" {
			v.keyErrf(p+".self_preservation", "self_preservation applies when discovery.mode is registry")
		} else if r.SelfPreservation < 0 || r.SelfPreservation > 1 {
			v.errf(p+".self_preservation", "expected at most 100%%, got %s", r.SelfPreservation)
		}
	}
	if h := r.HealthCheck; h != nil {
		hp := p + ".health_check"
		if h.Interval <= 0 {
			v.errf(hp+".interval", "expected a positive duration")
		}
		if h.Timeout <= 0 {
			v.errf(hp+".timeout", "expected a positive duration")
		}
		v.positive(hp+".unhealthy", h.Unhealthy)
		v.positive(hp+".healthy", h.Healthy)
	}
	if h := r.Hedging; h != nil {
		hp := p + ".hedging"
		if h.Delay <= 0 {
			v.errf(hp+".delay", "expected a positive duration")
		} else if t := v.s.Workload.Client.Timeout; h.Delay >= t && t > 0 {
			v.errf(hp+".delay", "a hedge after %s never goes: the attempt times out at %s (workload.client.timeout)", h.Delay, t)
		}
		if h.MaxAttempts < 2 || h.MaxAttempts > 5 {
			v.errf(hp+".max_attempts", "expected 2 to 5 attempts, got %d", h.MaxAttempts)
		}
	}
}

// commands checks workload.commands: names, shares summing to 100%, the
// priority, kind and service of each, that a read command reaches no
// write call, and that the fields commands replace are not written too.
func (v *validator) commands() {
	w := v.s.Workload
	if len(w.Commands) == 0 {
		return
	}
	if v.f.written("workload.priorities") {
		v.keyErrf("workload.priorities", "priorities does not apply when workload.commands is set: each command has its priority")
	}
	seen := map[string]bool{}
	var sum Percent
	mixed := false
	for i, c := range w.Commands {
		p := fmt.Sprintf("workload.commands[%d]", i)
		if !validName(c.Name) {
			v.errf(p+".name", "expected a name without '/', '=', ',' or spaces, got %q", c.Name)
		} else if seen[c.Name] {
			v.errf(p+".name", "command %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.Share <= 0 || c.Share > 1 {
			v.errf(p+".share", "expected a share above 0%% and at most 100%%, got %s", c.Share)
		}
		sum += c.Share
		v.oneOf(p+".priority", c.Priority, PriorityNames[:]...)
		if v.oneOf(p+".kind", c.Kind, "read", "write", "mixed") && c.Kind == "mixed" {
			mixed = true
		}
		svc := v.service(c.Service)
		if svc < 0 && !v.duplicateService() {
			v.errf(p+".service", "unknown service %q", c.Service)
		}
		if c.Timeout <= 0 {
			v.errf(p+".timeout", "expected a positive duration")
		}
		if c.Retries < 0 || c.Retries > 10 {
			v.errf(p+".retries", "expected 0 to 10 retries, got %d", c.Retries)
		}
		if c.Kind == "read" && svc >= 0 {
			if via := v.writeCall(svc, nil); via != "" {
				v.errf(p+".kind", "command %q is read-only but its service %s writes (%s calls data: write)", c.Name, c.Service, via)
			}
		}
	}
	if !sumsToOne(float64(sum)) {
		v.errf("workload.commands", "shares sum to %s, expected 100%% (within %s)", sum, Percent(ShareTolerance))
	}
	if !mixed && v.f.written("workload.mix") {
		v.keyErrf("workload.mix", "mix does not apply when no command of workload.commands is of kind mixed")
	}
	v.commandLimits()
}

// commandLimits rejects a rate limit on a priority no command has: with
// commands it could never apply.
func (v *validator) commandLimits() {
	rl := v.s.Stack.Gateway.RateLimit
	for k, r := range [3]Rate{rl.High, rl.Normal, rl.Low} {
		if r <= 0 {
			continue
		}
		used := false
		for _, c := range v.s.Workload.Commands {
			used = used || c.Priority == PriorityNames[k]
		}
		if !used {
			v.errf("stack.gateway.rate_limit."+PriorityNames[k], "no command of workload.commands has priority %s, so this limit never applies", PriorityNames[k])
		}
	}
}

// writeCall returns the service (of svc and those it calls) with a call of
// type write, or "" when there is none; it skips cycles and unknown
// services, which callGraph and call report.
func (v *validator) writeCall(svc int, seen []bool) string {
	ss := v.s.Stack.Services
	if seen == nil {
		seen = make([]bool, len(ss))
	}
	if seen[svc] {
		return ""
	}
	seen[svc] = true
	for _, c := range ss[svc].Calls {
		if c.Data == "write" {
			return ss[svc].Name
		}
		if j := v.service(c.Service); c.Service != "" && j >= 0 {
			if via := v.writeCall(j, seen); via != "" {
				return via
			}
		}
	}
	return ""
}

func (v *validator) slo() {
	s := v.s.SLO
	for _, f := range []struct {
		n string
		p Percent
	}{{"availability", s.Availability}, {"availability_in_fault", s.AvailabilityInFault}} {
		if f.p > 1 {
			v.errf("slo."+f.n, "expected at most 100%%, got %s", f.p)
		}
	}
	for _, k := range sortedMapKeys(s.AvailabilityByPriority) {
		p := s.AvailabilityByPriority[k]
		if !slices.Contains(PriorityNames[:], k) {
			v.keyErrf("slo.availability_by_priority."+k, "unknown priority %q; expected high, normal or low", k)
		} else if p > 1 {
			v.errf("slo.availability_by_priority."+k, "expected at most 100%%, got %s", p)
		}
	}
	for _, m := range []struct {
		n string
		l map[string]Duration
	}{{"latency", s.Latency}, {"latency_in_fault", s.LatencyInFault}} {
		for _, k := range sortedMapKeys(m.l) {
			d := m.l[k]
			if _, ok := Percentiles[k]; !ok {
				v.keyErrf("slo."+m.n+"."+k, "unknown percentile %q; expected p50, p90, p95, p99 or p99.9", k)
			} else if d <= 0 {
				v.errf("slo."+m.n+"."+k, "expected a positive duration")
			}
		}
	}
	v.commandSLOs()
	if s.LostWrites != nil && *s.LostWrites < 0 {
		v.errf("slo.lost_writes", "expected 0 or more")
	}
	if (s.RPO > 0 || s.LostWrites != nil) && v.s.Stack.Data.Mode == "none" {
		v.errf("slo", "rpo and lost_writes need stack.data.mode other than none")
	}
	if s.RTO > 0 && s.Availability == 0 && s.AvailabilityInFault == 0 {
		v.errf("slo.rto", "rto measures the time until availability is back within its objective: set slo.availability")
	}
}
