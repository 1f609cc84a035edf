package sim

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
)

// stepLoad is one city of two AZ sets, each with 2 api instances of 8
// threads at 5ms (1.6k/s each at full use), offered 2k/s (31% busy) and
// 6.8k/s from 60s (more than the 6.4k/s they serve), back to 2k/s at
// 150s. #SCALING is replaced.
const stepLoad = `
run: {duration: 4m, warmup: 5s, seed: 5}
topology:
  cities: [{name: a, azs: 2, racks: 2, machines: 4}]
striping: {granularity: az}
stack:
  discovery: {mode: registry, heartbeat: 1s, ttl: 3s, refresh: 2s}
  services:
    - {name: api, instances: 2, concurrency: 8, service_time: {dist: exponential, mean: 5ms}}
  data: {mode: none}
workload:
  rate: 2k/s
  profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}
  client: {timeout: 1s, retries: 0}
#SCALING
`

func withScaling(base, scaling string) string { return strings.Replace(base, "#SCALING", scaling, 1) }

// p99Between merges the latency histograms of the windows starting in [from, to) seconds.
func p99Between(t *testing.T, res *reports.Result, from, to float64) float64 {
	t.Helper()
	h := reports.NewHist()
	for _, w := range res.Windows {
		if s := float64(w.Start) / 1e9; s >= from && s < to && w.Hist != "" {
			wh, err := reports.DecodeHist(w.Hist)
			if err != nil {
				t.Fatal(err)
			}
			h.Merge(wh)
		}
	}
	return float64(h.ValueAtQuantile(99)*reports.HistUnitNS) / 1e6
}

// A step in load: the autoscaler scales up at the first decision whose
// period saw the step (75s: decisions every 15s), the instances are ready
// startup (20s) later, and latency falls back once callers see them (the
// next refresh, 2s); the same run without the autoscaler stays slow.
func TestAutoscalerFollowsLoadStep(t *testing.T) {
	_, res := runWorld(t, withScaling(stepLoad, "scaling:\n  startup: 20s\n  autoscale: [{service: api, min: 2, max: 8, utilization: 60%, stabilization: 30s}]"))
	_, static := runWorld(t, withScaling(stepLoad, ""))
	sc := res.Scaling
	if sc == nil || len(sc.Starts) == 0 {
		t.Fatal("no instance started")
	}
	for _, st := range sc.Starts {
		if st.Decided != 75e9 || st.Ready != 95e9 || st.Seen < st.Ready || st.Seen > st.Ready+2e9 {
			t.Errorf("start %+v: want decided at 75s, ready at 95s, seen within a refresh (2s)", st)
		}
	}
	if len(sc.Starts) != 4 {
		t.Errorf("%d instances started, want 2 per set (ceil(2 x 94%% / 60%%) = 4)", len(sc.Starts))
	}
	before, during, after := p99Between(t, res, 10, 60), p99Between(t, res, 65, 95), p99Between(t, res, 100, 150)
	staticAfter := p99Between(t, static, 100, 150)
	t.Logf("p99: before %.1fms, stepped %.1fms, after ready %.1fms (without autoscaler %.1fms)", before, during, after, staticAfter)
	if during < 2*before {
		t.Errorf("p99 at 94%% busy %.1fms, want well above %.1fms", during, before)
	}
	if after > during/2 || staticAfter < during/2 {
		t.Errorf("after the new instances p99 %.1fms (without them %.1fms), want it back near %.1fms", after, staticAfter, before)
	}
	// back at 2k/s from 150s: the first decision measuring it is at 165s,
	// the stabilization window (30s) holds the count until 195s
	var down int64 = -1
	for _, d := range sc.Decisions {
		if d.Desired < d.Current && down < 0 {
			down = d.T
		}
	}
	if down != 195e9 {
		t.Errorf("first scale-down at %s, want 195s (the window's last high recommendation is at 150s)", dur(down))
	}
	c := &sc.Components[0]
	if c.Peak != 8 || c.Ready[len(c.Ready)-1] != 4 {
		t.Errorf("peak %d, ready at the end %d; want 8 and 4", c.Peak, c.Ready[len(c.Ready)-1])
	}
	if c, _, _, _ := span(res, 100, 240); c.OK() != c.Offered {
		t.Errorf("%d of %d requests after 100s failed; the scale-down (drained from 195s) should fail none", c.Offered-c.OK(), c.Offered)
	}
	if c.InstanceNS <= c.StaticNS {
		t.Errorf("instance time %d not above the static %d", c.InstanceNS, c.StaticNS)
	}
}

// drain runs a scale-up at 20s and back at 50s with a grace and a cache
// refresh: a grace longer than the refresh drains without a failure; none
// sends calls to stopped instances until callers' caches drop them.
func drain(t *testing.T, grace string) *reports.Result {
	y := strings.Replace(stepLoad, "refresh: 2s", "refresh: 5s", 1)
	y = strings.Replace(y, "profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}", "profile: {shape: constant}", 1)
	y = strings.Replace(y, "duration: 4m", "duration: 80s", 1)
	_, res := runWorld(t, withScaling(y, "scaling:\n  startup: 5s\n  grace: "+grace+"\n  actions:\n    - {at: 20s, service: api, to: 4}\n    - {at: 50s, service: api, by: -2}"))
	return res
}

func TestScaleDownDrains(t *testing.T) {
	res := drain(t, "10s")
	if c := res.Totals.Counts; c.OK() != c.Offered {
		t.Errorf("grace 10s: %d of %d requests failed, want none", c.Offered-c.OK(), c.Offered)
	}
	stops := 0
	for _, e := range res.Events {
		if e.Kind == reports.EvStopped {
			stops++
			if e.T != 60e9 {
				t.Errorf("stopped at %s, want 60s (drain at 50s + grace 10s)", dur(e.T))
			}
		}
	}
	if stops != 4 {
		t.Errorf("%d instances stopped, want 2 per set", stops)
	}
	short := drain(t, "0s")
	if c := short.Totals.Counts; c.OK() == c.Offered {
		t.Errorf("grace 0: no request failed, but callers' caches (refresh 5s) still send to stopped instances")
	}
}

// A gateway added by an action is seen by the access layer rehome_delay
// after it is ready, and only then takes users.
func TestGatewayScaleActionWaitsForAccessLayer(t *testing.T) {
	y := strings.Replace(stepLoad, "data: {mode: none}", "data: {mode: none}\n  access: {rehome_delay: 7s}", 1)
	y = strings.Replace(y, "duration: 4m", "duration: 60s", 1)
	_, res := runWorld(t, withScaling(y, "scaling:\n  startup: 10s\n  actions: [{at: 20s, service: gateway, target: set=a/b, by: 2}]"))
	sc := res.Scaling
	if len(sc.Starts) != 2 {
		t.Fatalf("%d gateways started, want 2 in set a/b", len(sc.Starts))
	}
	for _, st := range sc.Starts {
		if st.Set != 1 || st.Ready != 30e9 || st.Seen != 37e9 {
			t.Errorf("start %+v: want set 1, ready at 30s, seen at 37s", st)
		}
	}
	if c := &sc.Components[0]; c.Name != "gateway" || c.Initial != 4 || c.Ready[len(c.Ready)-1] != 6 {
		t.Errorf("component %+v: want gateway, 4 at the start, 6 at the end", c)
	}
	for _, q := range res.Queues {
		if q.Name == "gateway" && q.Instances != 6 {
			t.Errorf("queue row counts %d gateways, want the 6 that ran", q.Instances)
		}
	}
}

// TestScalingIsExact runs a scale-up and drain, an autoscaled AZ loss and
// a set added under sharded storage with and without settling ahead and
// under GOMAXPROCS 1 and 2: scaling events demote every hold and bound
// settling ahead like fault changes, so all four runs give the same bytes.
func TestScalingIsExact(t *testing.T) {
	drainY := strings.Replace(stepLoad, "profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}", "profile: {shape: constant}", 1)
	drainY = strings.Replace(drainY, "duration: 4m", "duration: 50s", 1)
	drainY = withScaling(drainY, "scaling:\n  startup: 5s\n  grace: 3s\n  actions:\n    - {at: 15s, service: api, to: 4}\n    - {at: 30s, service: api, by: -2}\n  autoscale: [{service: gateway, max: 4, period: 5s}]")
	lossY := withScaling(strings.Replace(strings.Replace(stepLoad, "duration: 4m", "duration: 70s", 1),
		"profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}", "profile: {shape: constant}", 1),
		"faults: [{at: 20s, for: 30s, kind: az-down, target: az=a/a}]\nscaling:\n  startup: 10s\n  autoscale: [{service: api, max: 6, period: 5s, stabilization: 10s}]")
	growY := strings.Replace(grow, "duration: 2m", "duration: 100s", 1)
	shrinkY := strings.Replace(strings.Replace(growY, "striping: {granularity: az, reserve: [a/c]}", "striping: {granularity: az}", 1),
		"sets: [{at: 60s, add: a/c}]", "grace: 5s\n  sets: [{at: 30s, remove: a/b}]", 1)
	for name, y := range map[string]string{"drain": drainY, "az-loss": lossY, "grow": growY, "shrink": shrinkY} {
		t.Run(name, func(t *testing.T) {
			p := planOf(t, y)
			prev := runtime.GOMAXPROCS(1)
			on, eOn := runAhead(t, p, true)
			runtime.GOMAXPROCS(2)
			on2, _ := runAhead(t, p, true)
			off, _ := runAhead(t, p, false)
			runtime.GOMAXPROCS(prev)
			if !bytes.Equal(on, on2) {
				t.Fatalf("GOMAXPROCS changed the result: %s", firstDiff(on, on2))
			}
			if !bytes.Equal(on, off) {
				t.Fatalf("settling ahead changed the result: %s", firstDiff(on, off))
			}
			if eOn["answered_ahead"]+eOn["forwarded_ahead"] == 0 {
				t.Errorf("nothing settled ahead: the comparison shows nothing")
			}
			if !bytes.Contains(on, []byte(`"scaling"`)) {
				t.Errorf("no scaling record")
			}
		})
	}
}

// An instance that comes back from a fault has no utilization to show
// for the period it was down: the autoscaler measures it only from its
// first whole period on, so the decision when it returns has nothing to
// measure in its set (instead of reading a near idle period).
func TestAutoscalerSkipsInstancesBackFromAFault(t *testing.T) {
	y := withScaling(strings.Replace(strings.Replace(stepLoad, "duration: 4m", "duration: 45s", 1),
		"profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}", "profile: {shape: constant}", 1),
		"faults: [{at: 20s, for: 10s, kind: az-down, target: az=a/a}]\nscaling:\n  autoscale: [{service: api, max: 6, period: 5s}]")
	_, res := runWorld(t, y)
	seen := map[int64]bool{}
	for _, d := range res.Scaling.Decisions {
		if d.Set == 0 {
			seen[d.T] = true
		}
	}
	for _, tc := range []struct {
		t    int64
		want bool
	}{{15e9, true}, {25e9, false}, {30e9, false}, {35e9, true}} {
		if seen[tc.t] != tc.want {
			t.Errorf("decision in a/a at %s: %v, want %v", dur(tc.t), seen[tc.t], tc.want)
		}
	}
}

// The gateway autoscaler: gateways of one thread each hold it while their
// upstream works (~1.6ms a request with the network), so two of them
// serve ~1.2k/s a set; offered 1.5k/s a set they are saturated. The
// autoscaler adds gateways, which take traffic once the access layer
// sees them (rehome_delay after ready), and the gateways' queue empties.
func TestGatewayAutoscaler(t *testing.T) {
	y := strings.Replace(stepLoad, "  discovery:", "  gateway: {instances: 2, concurrency: 1}\n  access: {rehome_delay: 5s}\n  discovery:", 1)
	y = strings.Replace(y, "duration: 4m", "duration: 90s", 1)
	y = strings.Replace(y, "profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}", "profile: {shape: constant}", 1)
	y = strings.Replace(y, "rate: 2k/s", "rate: 3k/s", 1)
	y = strings.Replace(y, "service_time: {dist: exponential, mean: 5ms}", "service_time: {dist: exponential, mean: 1ms}", 1)
	_, res := runWorld(t, withScaling(y, "scaling:\n  startup: 10s\n  autoscale: [{service: gateway, max: 6, utilization: 70%}]"))
	sc := res.Scaling
	if len(sc.Starts) == 0 || sc.Components[0].Name != "gateway" {
		t.Fatalf("no gateway started: %+v", sc.Decisions)
	}
	first := sc.Starts[0]
	if first.Decided != 15e9 || first.Ready != 25e9 || first.Seen != 30e9 {
		t.Errorf("first gateway %+v: want decided at 15s, ready at 25s, seen by the access layer at 30s", first)
	}
	before, after := p99Between(t, res, 5, 15), p99Between(t, res, 45, 90)
	t.Logf("p99 %.1fms with 2 gateways a set, %.1fms with %d", before, after, sc.Components[0].Ready[len(sc.Components[0].Ready)-1]/2)
	if after > before/2 {
		t.Errorf("p99 %.1fms after the gateways were added, want well under %.1fms", after, before)
	}
}

// Under mesh discovery a new instance is seen after the propagation delay
// (not a cache refresh), and a drained one is dropped after it too.
func TestMeshScaling(t *testing.T) {
	y := strings.Replace(stepLoad, "discovery: {mode: registry, heartbeat: 1s, ttl: 3s, refresh: 2s}", "discovery: {mode: mesh, detection: 2s, propagation: 1500ms}", 1)
	y = strings.Replace(y, "duration: 4m", "duration: 40s", 1)
	y = strings.Replace(y, "profile: {shape: step, steps: [{at: 60s, level: 340%}, {at: 150s, level: 100%}]}", "profile: {shape: constant}", 1)
	mk := func(grace string) string {
		return withScaling(y, "scaling:\n  startup: 3s\n  grace: "+grace+"\n  actions: [{at: 10s, service: api, by: 1}, {at: 25s, service: api, by: -1}]")
	}
	_, res := runWorld(t, mk("2s"))
	for _, st := range res.Scaling.Starts {
		if st.Ready != 13e9 || st.Seen != 14.5e9 {
			t.Errorf("start %+v: want ready at 13s, seen at 14.5s", st)
		}
	}
	if c := res.Totals.Counts; c.OK() != c.Offered {
		t.Errorf("%d of %d failed: a grace (2s) longer than the propagation (1.5s) drains cleanly", c.Offered-c.OK(), c.Offered)
	}
	if _, short := runWorld(t, mk("500ms")); short.Totals.Counts.OK() == short.Totals.Counts.Offered {
		t.Errorf("grace 500ms: nothing failed, but sidecars route to the stopped instance until the propagation (1.5s) ends")
	}
}
