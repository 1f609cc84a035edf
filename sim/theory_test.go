package sim

import (
	"fmt"
	"math"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// queueScenario is one service with c threads behind a pass-through
// gateway, with no network delay, no data, no retries and no faults: the
// client sees exactly the service's queue.
func queueScenario(rate float64, c int, dist string, duration string) string {
	return fmt.Sprintf(`
run: {duration: %s, warmup: 20s, seed: 11}
topology:
  cities: [{name: lab, azs: 1, racks: 1, machines: 1}]
  machine: {cores: 64}
  latency: {same_machine: 0, same_rack: 0, same_az: 0, cross_az: 0, client: 0, jitter: 0}
striping: {granularity: city}
stack:
  gateway: {instances: 1, concurrency: 100000, cost: 0, auth: {enabled: false}, queue: {capacity: 0, timeout: 0}, shedding: {policy: none}}
  discovery: {mode: mesh}
  services:
    - {name: svc, instances: 1, concurrency: %d, queue: 10000000, service_time: %s}
  data: {mode: none}
workload:
  rate: %g/s
  users: {count: 1000}
  client: {timeout: 60s, retries: 0}
`, duration, c, dist, rate)
}

// skipShort skips long statistical tests under -short (the race run).
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("long statistical test; run without -short")
	}
}

func runWorld(t testing.TB, yaml string) (*World, *reports.Result) {
	t.Helper()
	f, err := scenarios.Parse("theory.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	rec := reports.NewRecorder(p, p.Scenario.Run.Seed, Backend, Horizon(p.Scenario))
	w := NewWorld(p, p.Scenario.Run.Seed, rec)
	w.RunUntil(w.stop)
	return w, w.Finish(false)
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	rel := math.Abs(got-want) / want
	t.Logf("%s: simulated %.4g, theory %.4g (%.1f%% off, tolerance %.0f%%)", what, got, want, rel*100, tol*100)
	if rel > tol {
		t.Errorf("%s: simulated %.4g, theory %.4g: %.1f%% off, more than %.0f%%", what, got, want, rel*100, tol*100)
	}
}

// TestMM1 checks an M/M/1 queue (utilization 0.7, ~1.4M requests): mean
// response 1/(mu-lambda) within 3%, 99th percentile ln(100)/(mu-lambda)
// within 5% (the histogram itself has 1% resolution).
func TestMM1(t *testing.T) {
	skipShort(t)
	const lambda, mu = 700.0, 1000.0
	_, res := runWorld(t, queueScenario(lambda, 1, "{dist: exponential, mean: 1ms}", "2000s"))
	lat := res.Totals.Latency
	if res.Totals.Counts.Offered < 1_000_000 {
		t.Fatalf("only %d requests", res.Totals.Counts.Offered)
	}
	within(t, "M/M/1 mean response (ms)", lat.Mean/1e6, 1e3/(mu-lambda), 0.03)
	within(t, "M/M/1 p99 response (ms)", float64(lat.P99)/1e6, 1e3*math.Log(100)/(mu-lambda), 0.05)
}

// erlangC is the probability that an arrival waits in an M/M/c queue.
func erlangC(c int, a float64) float64 {
	sum, term := 0.0, 1.0
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	last := term * a / float64(c)
	rho := a / float64(c)
	top := last / (1 - rho)
	return top / (sum + top)
}

// TestMMc checks an M/M/4 queue (utilization 0.8): the waiting probability
// (Erlang C) within 3% and the mean wait C/(c*mu-lambda) within 5%, and
// that the result's queue figures (the report's queue table) say the same:
// thread utilization lambda/(c*mu) within 2%, waiting share and mean wait
// as above.
func TestMMc(t *testing.T) {
	skipShort(t)
	const c, mu = 4, 1000.0
	lambda := 0.8 * c * mu
	w, res := runWorld(t, queueScenario(lambda, c, "{dist: exponential, mean: 1ms}", "400s"))
	st := w.ServiceQueueStats(0)
	pw := erlangC(c, lambda/mu)
	within(t, "M/M/4 P(wait)", float64(st.Queued)/float64(st.Arrivals), pw, 0.03)
	within(t, "M/M/4 mean wait (ms)", float64(st.WaitNS)/float64(st.Arrivals)/1e6, 1e3*pw/(c*mu-lambda), 0.05)
	reports.Analyze(res)
	var q *reports.QueueMeasures
	for i := range res.Measures.Queues {
		if res.Measures.Queues[i].Name == "svc" {
			q = &res.Measures.Queues[i]
		}
	}
	if q == nil {
		t.Fatalf("no queue figures for svc in %+v", res.Measures.Queues)
	}
	within(t, "M/M/4 utilization (result)", q.Utilization, lambda/(c*mu), 0.02)
	within(t, "M/M/4 P(wait) (result)", q.WaitedShare, pw, 0.03)
	within(t, "M/M/4 mean wait (ms) (result)", q.MeanWaitNS/1e6, 1e3*pw/(c*mu-lambda), 0.05)
	if q.Calls != st.Arrivals || q.RejectedShare != 0 {
		t.Errorf("result counts %d calls (%.4f rejected), the instances %d", q.Calls, q.RejectedShare, st.Arrivals)
	}
}

// TestMD1 checks an M/D/1 queue (utilization 0.7) against the
// Pollaczek-Khinchine mean wait rho*D/(2(1-rho)) within 4%.
func TestMD1(t *testing.T) {
	skipShort(t)
	const lambda, d = 700.0, 1e-3
	w, _ := runWorld(t, queueScenario(lambda, 1, "1ms", "1500s"))
	st := w.ServiceQueueStats(0)
	rho := lambda * d
	within(t, "M/D/1 mean wait (ms)", float64(st.WaitNS)/float64(st.Arrivals)/1e6, 1e3*rho*d/(2*(1-rho)), 0.04)
}

// infiniteServer is one service with more threads and cores than requests
// in flight behind a pass-through gateway, with no network delay: the
// client's latency is exactly one service-time draw.
func infiniteServer(rate float64, dist string, duration string) string {
	return fmt.Sprintf(`
run: {duration: %s, warmup: 10s, seed: 5}
topology:
  cities: [{name: lab, azs: 1, racks: 1, machines: 1}]
  machine: {cores: 1000000}
  latency: {same_machine: 0, same_rack: 0, same_az: 0, cross_az: 0, client: 0, jitter: 0}
striping: {granularity: city}
stack:
  gateway: {instances: 1, concurrency: 1000000, cost: 0, auth: {enabled: false}, queue: {capacity: 0, timeout: 0}, shedding: {policy: none}}
  discovery: {mode: mesh}
  services:
    - {name: svc, instances: 1, concurrency: 1000000, queue: 0, service_time: %s}
  data: {mode: none}
workload:
  rate: %g/s
  users: {count: 1000}
  client: {timeout: 10m, retries: 0}
`, duration, dist, rate)
}

// TestServiceTimeTails draws service times whose tails reach well past
// 4.29 s (2^32 ns) and checks the mean and a far percentile against the
// distribution's (~240k draws each): an exponential of mean 2 s (mean
// within 2%, p99 = 2 s x ln 100 within 4%) and a lognormal of mean 100 ms
// and sigma 2 (mean within 5%, 3.6 standard errors; p99.9 = e^(mu + 3.09
// sigma) = 6.5 s within 12%, 3 standard errors of that quantile).
func TestServiceTimeTails(t *testing.T) {
	skipShort(t)
	t.Run("exponential", func(t *testing.T) {
		_, res := runWorld(t, infiniteServer(1000, "{dist: exponential, mean: 2s}", "250s"))
		lat := res.Totals.Latency
		within(t, "exponential mean (s)", lat.Mean/1e9, 2, 0.02)
		within(t, "exponential p99 (s)", float64(lat.P99)/1e9, 2*math.Log(100), 0.04)
	})
	t.Run("lognormal", func(t *testing.T) {
		const mean, sigma = 0.1, 2.0
		_, res := runWorld(t, infiniteServer(1000, "{dist: lognormal, mean: 100ms, sigma: 2}", "250s"))
		lat := res.Totals.Latency
		mu := math.Log(mean) - sigma*sigma/2
		within(t, "lognormal mean (s)", lat.Mean/1e9, mean, 0.05)
		within(t, "lognormal p99.9 (s)", float64(lat.P999)/1e9, math.Exp(mu+3.0902*sigma), 0.12)
	})
}
