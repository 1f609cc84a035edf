package sim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// TestBreakerDefinition drives one breaker through its states: it opens
// after exactly consecutive errors (not one before), or at the error rate
// once min_calls are in the window; open, it refuses calls until the sleep
// has passed, then lets exactly probes calls through; probes successes
// close it, a failed probe opens it again.
func TestBreakerDefinition(t *testing.T) {
	const sleep = int64(5e9)
	cases := []struct {
		name    string
		cfg     breakerCfg
		outcome string // e = error, o = ok, s = slow ok, in order
		openAt  int    // index of the call that opens it, -1 never
	}{
		{"consecutive 3", breakerCfg{consecutive: 3, window: 10, minCalls: 10, sleep: sleep, probes: 2}, "eeoeeoeee", 8},
		{"consecutive 1", breakerCfg{consecutive: 1, window: 10, minCalls: 10, sleep: sleep, probes: 2}, "oooe", 3},
		{"never reaches consecutive", breakerCfg{consecutive: 4, window: 10, minCalls: 10, sleep: sleep, probes: 2}, "eeeoeeeoeee", -1},
		{"rate after min calls", breakerCfg{rate: 0.5, window: 4, minCalls: 4, sleep: sleep, probes: 2}, "eeo" + "e", 3},
		{"rate below min calls", breakerCfg{rate: 0.5, window: 10, minCalls: 6, sleep: sleep, probes: 2}, "eeeee", -1},
		{"rate over a sliding window", breakerCfg{rate: 0.75, window: 4, minCalls: 4, sleep: sleep, probes: 2}, "eooo" + "eee", 6},
		{"slow calls", breakerCfg{slowCall: 1, slowRate: 0.5, window: 4, minCalls: 4, sleep: sleep, probes: 2}, "ssos", 3},
		{"slow calls below the rate", breakerCfg{slowCall: 1, slowRate: 0.5, window: 4, minCalls: 4, sleep: sleep, probes: 2}, "soooosooo", -1},
		{"slow calls are not errors", breakerCfg{consecutive: 2, window: 4, minCalls: 4, sleep: sleep, probes: 2}, "ssssee", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b breaker
			opened := -1
			for i, c := range tc.outcome {
				if ok, _ := b.usable(&tc.cfg, int64(i)); !ok {
					t.Fatalf("call %d refused while closed", i)
				}
				b.take()
				if b.record(&tc.cfg, int64(i), c == 'e', c == 's') {
					opened = i
					break
				}
			}
			if opened != tc.openAt {
				t.Fatalf("opened at call %d, want %d", opened, tc.openAt)
			}
			if opened < 0 {
				return
			}
			at := int64(opened)
			if ok, _ := b.usable(&tc.cfg, at+sleep-1); ok {
				t.Fatalf("open breaker let a call through before its sleep")
			}
			ok, changed := b.usable(&tc.cfg, at+sleep)
			if !ok || !changed || b.state != brHalfOpen {
				t.Fatalf("after the sleep: usable %v changed %v state %s", ok, changed, breakerStateNames[b.state])
			}
			for p := int32(0); p < tc.cfg.probes; p++ {
				if ok, _ := b.usable(&tc.cfg, at+sleep); !ok {
					t.Fatalf("probe %d refused", p)
				}
				b.take()
			}
			if ok, _ := b.usable(&tc.cfg, at+sleep); ok {
				t.Fatalf("half-open breaker let more than %d probes through", tc.cfg.probes)
			}
			for p := int32(0); p < tc.cfg.probes-1; p++ {
				if b.record(&tc.cfg, at+sleep, false, false) {
					t.Fatalf("closed after %d of %d probe successes", p+1, tc.cfg.probes)
				}
			}
			if !b.record(&tc.cfg, at+sleep, false, false) || b.state != brClosed {
				t.Fatalf("not closed after %d probe successes", tc.cfg.probes)
			}
			// and a failed probe opens it again
			b.open(at)
			b.usable(&tc.cfg, at+sleep)
			b.take()
			if !b.record(&tc.cfg, at+sleep, true, false) || b.state != brOpen || b.openedAt != at+sleep {
				t.Fatalf("a failed probe left the breaker %s", breakerStateNames[b.state])
			}
		})
	}
}

func TestMaxEjected(t *testing.T) {
	for _, tc := range []struct {
		share float64
		n     int
		want  int
	}{{0.1, 4, 1}, {0.1, 20, 2}, {0.1, 29, 2}, {0.5, 4, 2}, {0.5, 5, 2}, {1, 3, 3}, {0.3, 10, 3}} {
		if got := maxEjected(tc.share, tc.n); got != tc.want {
			t.Errorf("maxEjected(%v, %d) = %d, want %d", tc.share, tc.n, got, tc.want)
		}
	}
}

// resilienceBase is one city of two AZ sets, four front instances per set
// calling a back service, 1k/s; tests add a resilience section.
const resilienceBase = `
run: {duration: 20s, warmup: 2s, seed: 4}
topology:
  cities: [{name: a, azs: 2, racks: 2, machines: 2}]
striping: {granularity: az}
stack:
  discovery: {mode: %s}
  services:
    - {name: front, instances: 4, concurrency: 16, service_time: %s}
  resilience: %s
workload:
  rate: 1k/s
  users: {count: 10k}
  client: {timeout: 1s, retries: 0}
`

func resilienceWorld(t *testing.T, mode, svcTime, res string) *World {
	t.Helper()
	return NewWorld(planOf(t, fmt.Sprintf(resilienceBase, mode, svcTime, res)), 4, nil)
}

// Ejection respects the maximum share (here one of a set's four front
// instances at 10%, two at 50%), and each ejection of the same host lasts
// base_ejection times the number of times it was ejected.
func TestEjectionMaxShareAndGrowingTime(t *testing.T) {
	for _, tc := range []struct {
		max  string
		want int
	}{{"10%", 1}, {"50%", 2}, {"100%", 4}} {
		w := newRecordedWorld(t, resilienceWorld(t, "registry", "1ms", "{outlier: {max_ejection: "+tc.max+", base_ejection: 30s}}"))
		c := &w.caches[0]
		for pos := range c.members {
			w.eject(0, int32(pos), "test")
		}
		n := 0
		for _, e := range c.out.ejected {
			if e {
				n++
			}
		}
		if n != tc.want || len(c.lists[0]) != len(c.members)-tc.want {
			t.Errorf("max_ejection %s: %d ejected, %d left to balance; want %d ejected", tc.max, n, len(c.lists[0]), tc.want)
		}
	}
	w := newRecordedWorld(t, resilienceWorld(t, "registry", "1ms", "{outlier: {base_ejection: 30s, interval: 10s}}"))
	c := &w.caches[0]
	for i, want := range []int64{30e9, 60e9, 90e9} {
		start := w.now
		w.eject(0, 0, "test")
		if got := c.out.until[0] - start; got != want {
			t.Fatalf("ejection %d lasts %s, want %s", i+1, dur(got), dur(want))
		}
		w.now = c.out.until[0] - 1
		w.onOutlier()
		if !c.out.ejected[0] {
			t.Fatalf("ejection %d ended before its time", i+1)
		}
		w.now = c.out.until[0]
		w.onOutlier()
		if c.out.ejected[0] {
			t.Fatalf("ejection %d did not end at the interval check after its time", i+1)
		}
	}
}

// newRecordedWorld gives a world built without a recorder one, so that
// its events can be recorded.
func newRecordedWorld(t *testing.T, w *World) *World {
	t.Helper()
	w.rec = reports.NewRecorder(w.plan, 4, Backend, Horizon(w.sc))
	return w
}

// Panic mode starts when the healthy share falls below the threshold:
// at 50%, two of four healthy instances are still balanced over alone,
// one of four sends traffic to all four, dead ones included.
func TestPanicThreshold(t *testing.T) {
	w := newRecordedWorld(t, resilienceWorld(t, "mesh", "1ms", "{panic: 50%}"))
	c := &w.caches[0]
	for _, hw := range [][2]int{{4, 4}, {3, 3}, {2, 2}, {1, 4}, {0, 4}, {4, 4}} {
		healthy, want := hw[0], hw[1]
		for pos := range c.members {
			c.vis[pos] = pos < healthy
		}
		w.rebuild(c, 0)
		if got := len(w.candidates(0, 0)); got != want {
			t.Errorf("%d of 4 healthy: %d candidates, want %d", healthy, got, want)
		}
	}
	res := w.Finish(false)
	var kinds []string
	for _, e := range res.Events {
		kinds = append(kinds, e.Kind)
	}
	if s := strings.Join(kinds, " "); !strings.Contains(s, EvPanic) || !strings.Contains(s, EvPanicEnd) {
		t.Errorf("events %q lack panic and its end", s)
	}
}

// A hedge goes after its delay only while the first attempt is still
// outstanding: with 30ms of work (about 42ms to the answer) and a 10ms
// delay every request sends every attempt it may; with a 60ms delay (past
// the answer) none does.
func TestHedgeFiresOnlyWhileOutstanding(t *testing.T) {
	for _, tc := range []struct {
		delay string
		max   int
		amp   float64
	}{{"10ms", 2, 2}, {"10ms", 3, 3}, {"15ms", 3, 3}, {"25ms", 3, 2}, {"60ms", 3, 1}} {
		text := fmt.Sprintf(resilienceBase, "registry", "30ms", fmt.Sprintf("{hedging: {delay: %s, max_attempts: %d}}", tc.delay, tc.max))
		text = strings.Replace(text, "retries: 0}", "retries: 0, retry_budget: 0}", 1)
		_, res := runWorld(t, text)
		amp := float64(res.Totals.Attempts) / float64(res.Totals.Counts.Offered)
		if amp < tc.amp-0.01 || amp > tc.amp+0.01 || res.Totals.Counts.Availability() != 1 {
			t.Errorf("delay %s, at most %d: %.3f attempts per request, availability %.4f; want %.0f and 1", tc.delay, tc.max, amp, res.Totals.Counts.Availability(), tc.amp)
		}
	}
}

// Eureka's self-preservation after an AZ loss: half of the registry's
// instances stop renewing, below an 85% threshold, so it expires none and
// callers keep sending to the dead half; at 40% (half still renew) it
// expires them as usual.
func TestSelfPreservationKeepsDeadInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("two 4-minute runs")
	}
	for _, tc := range []struct {
		threshold string
		preserved bool
	}{{"85%", true}, {"40%", false}} {
		res := libraryResult(t, "az-loss-protection", func(s string) string {
			return strings.Replace(s, "    protection: 60%", "    self_preservation: "+tc.threshold, 1)
		})
		reports.Analyze(res)
		a := res.Measures.Faults[0].Availability
		// entered when half stop renewing, left when the AZ returns
		want := 0.0
		if tc.preserved {
			want = 2
		}
		if count(res, EvPreserve) != want || tc.preserved != (a < 0.6) || (!tc.preserved && a < 0.9) {
			t.Errorf("threshold %s: availability in the fault %.4f, %v self-preservation events", tc.threshold, a, count(res, EvPreserve))
		}
	}
}

// A service-level breaker fails every call to the slow dependency once
// it opens: one breaker per order instance, and nearly no call reaches
// recommend during the fault.
func TestServiceBreaker(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-minute run")
	}
	w, res := runWorld(t, func() string {
		f, err := scenarios.LoadLibrary("breaker-dependency")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Replace(string(f.Text), "level: instance", "level: service", 1)
	}())
	reports.Analyze(res)
	if a := res.Measures.Faults[0].Availability; a < 0.999 {
		t.Errorf("availability in the fault %.4f, want the fallback to serve all", a)
	}
	for key := range w.breakers {
		if key&(1<<32) == 0 {
			t.Fatalf("an instance-level breaker key %x under level service", key)
		}
	}
	if calls := queueCalls(res, "recommend"); calls > 230e3 {
		t.Errorf("recommend received %.0f calls; the open breakers should keep the fault's minute off it (~220k outside it)", calls)
	}
}

// Active health checks remove a dead instance after unhealthy failed
// probes, well before a slow registry would (15s TTL, 10s refresh), and
// put it back after healthy probes once it returns.
func TestHealthChecksDetectBeforeTheRegistry(t *testing.T) {
	slow := "  discovery: {mode: registry, heartbeat: 5s, ttl: 15s, refresh: 10s} #DISCOVERY"
	p := planOf(t, scenario(nil))
	m := machineWith(p, "a/a", 0)
	fault := faultAt30("machine-down", "target: machine="+m)
	_, without := runWorld(t, scenario(map[string]string{"DISCOVERY": slow, "FAULTS": fault}))
	_, with := runWorld(t, scenario(map[string]string{"DISCOVERY": slow + "\n  resilience: {health_check: {interval: 1s, timeout: 500ms, unhealthy: 2, healthy: 2}}", "FAULTS": fault}))
	if d := sec(without.Faults[0].Rerouted) - 30; d < 10 {
		t.Fatalf("without health checks the callers dropped the instance %.2fs after the fault; the setup expects a slow registry", d)
	}
	if d := sec(with.Faults[0].Rerouted) - 30; d < 1 || d > 2.01 {
		t.Errorf("health checks dropped the dead instance %.2fs after the fault; want within two 1s probes", d)
	}
	if aw, ao := avail(with, 30, 60), avail(without, 30, 60); aw <= ao {
		t.Errorf("availability in the fault %.4f with health checks, %.4f without; want better with", aw, ao)
	}
	back := 0.0
	for _, e := range with.Events {
		if e.Kind == EvHealthy {
			back = sec(e.T)
		}
	}
	if back < 60 || back > 62.01 {
		t.Errorf("marked healthy again at %.2fs; want two probes after the machine returns at 60s", back)
	}
}

// Envoy's panic threshold after the same AZ loss in mesh mode: half of the
// instances healthy is below 60%, so callers balance over all of them and
// keep sending to the dead half; at 40% they balance over the live half.
func TestPanicAZLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("two 4-minute runs")
	}
	for _, tc := range []struct {
		threshold string
		panics    bool
	}{{"60%", true}, {"40%", false}} {
		res := libraryResult(t, "az-loss-protection", func(s string) string {
			s = strings.Replace(s, "    mode: registry\n    heartbeat: 2s\n    ttl: 6s\n    refresh: 5s\n", "    mode: mesh\n", 1)
			return strings.Replace(s, "    protection: 60%", "    panic: "+tc.threshold, 1)
		})
		reports.Analyze(res)
		a := res.Measures.Faults[0].Availability
		if tc.panics != (count(res, EvPanic) > 0) || tc.panics != (a < 0.7) || (!tc.panics && a < 0.9) {
			t.Errorf("panic at %s: availability in the fault %.4f, %v panic events", tc.threshold, a, count(res, EvPanic))
		}
	}
}

// A breaker on slow calls isolates a gray failure that errors never
// reveal: in gray-failure (20x slower machine, no timeouts hit) the
// gateways' breakers for the slow order instance open on its share of
// calls over 20ms, and the fault's p99 comes back from ~55ms to ~20ms.
func TestSlowCallBreakerIsolatesGrayMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("two 3-minute runs")
	}
	breaker := "  resilience:\n    breaker: {consecutive_errors: 0, error_rate: 0, slow_call: 20ms, slow_rate: 50%, window: 10, min_calls: 10, sleep: 10s, probes: 3}\n  data:\n    mode: sharded"
	with := libraryResult(t, "gray-failure", func(s string) string {
		return strings.Replace(s, "  data:\n    mode: sharded", breaker, 1)
	})
	without := libraryResult(t, "gray-failure", nil)
	reports.Analyze(with)
	reports.Analyze(without)
	pw, po := with.Measures.Faults[0].Latency.P99, without.Measures.Faults[0].Latency.P99
	if pw > int64(25e6) || po < int64(40e6) {
		t.Errorf("p99 in the fault %s with slow-call breakers, %s without; want under 25ms and over 40ms", dur(pw), dur(po))
	}
	if with.Faults[0].Isolated == nil || count(with, "breaker-open") == 0 {
		t.Errorf("no breaker opened or the slow machine was never isolated")
	}
}
