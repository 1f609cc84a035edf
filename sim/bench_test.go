package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Speed is measured here, never in timed tests. Run with
//
//	make bench   (go test -run '^$' -bench . -benchtime 1x ./sim/...)
//
// Each benchmark reports per-run figures as custom metrics: simulated
// requests and events per second of wall time, ns per event, allocations
// per request, peak live heap and GC cycles.

// barePipeline pushes Poisson arrivals through ten fixed-latency stages on
// the simulator's event queue: no model, the machine's own ceiling for
// ten events per request.
func barePipeline(rate float64, dur int64) (requests, events int64) {
	q := newQueue()
	r := rand.New(rand.NewPCG(1, 2))
	stages := [...]int64{50e3, 120e3, 200e3, 1e6, 2e6, 300e3, 5e6, 250e3, 100e3, 50e3}
	q.push(event{t: 0, kind: 0})
	for {
		e, ok := q.pop()
		if !ok {
			return requests, events
		}
		events++
		if e.kind == 0 { // arrival
			requests++
			if next := e.t + int64(r.ExpFloat64()*1e9/rate); next < dur {
				q.push(event{t: next, kind: 0})
			}
			q.push(event{t: e.t + stages[0], kind: 1, c: 1})
			continue
		}
		if int(e.c) < len(stages)-1 {
			q.push(event{t: e.t + stages[e.c], kind: 1, c: e.c + 1})
		}
	}
}

type runStats struct {
	wall      time.Duration
	finish    time.Duration // of wall: Finish encoding the result
	requests  int64
	events    int64
	model     int64  // events with nothing settled ahead (World.ModelEvents)
	mallocs   uint64 // during the simulation, Finish excluded
	gcs       uint32 // during the simulation, Finish excluded
	finishGCs uint32 // while Finish encoded the result
	peakHeap  uint64
	finalHeap uint64
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapNow() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

// measure runs a plan once and samples the live heap every simulated window.
func measure(b *testing.B, p *scenarios.Plan) runStats { return measureWith(b, p, Options{}) }

func measureWith(b *testing.B, p *scenarios.Plan, opts Options) runStats {
	runtime.GC()
	var before, mid, after runtime.MemStats
	runtime.ReadMemStats(&before)
	base := heapNow()
	var st runStats
	var simDone time.Time
	start := time.Now()
	opts.Progress = func(now, end int64) {
		if h := heapNow(); h > st.peakHeap {
			st.peakHeap = h
		}
		if now >= end && mid.NumGC == 0 {
			runtime.ReadMemStats(&mid)
			simDone = time.Now()
		}
	}
	res, err := Run(context.Background(), p, opts)
	st.wall = time.Since(start)
	if !simDone.IsZero() {
		st.finish = time.Since(simDone)
	}
	if err != nil {
		b.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	st.requests = res.Totals.Counts.Offered + offeredInWarmup(res)
	st.events = res.Engine["events"]
	st.model = res.Engine["model_events"]
	if mid.NumGC == 0 {
		mid = after
	}
	st.mallocs = mid.Mallocs - before.Mallocs
	st.gcs = mid.NumGC - before.NumGC
	st.finishGCs = after.NumGC - mid.NumGC
	st.peakHeap -= min(st.peakHeap, base)
	return st
}

func offeredInWarmup(res *reports.Result) int64 {
	var n int64
	for _, w := range res.Windows {
		if w.Start < res.WarmupNS {
			n += w.Counts.Offered
		}
	}
	return n
}

func (st runStats) report(b *testing.B, prefix string) {
	s := st.wall.Seconds()
	b.ReportMetric(float64(st.requests)/s, prefix+"req/s")
	b.ReportMetric(float64(st.events)/s, prefix+"events/s")
	b.ReportMetric(float64(st.model)/s, prefix+"model-events/s")
	b.ReportMetric(float64(st.wall.Nanoseconds())/float64(st.events), prefix+"ns/event")
	b.ReportMetric(float64(st.mallocs)/float64(st.requests), prefix+"allocs/req")
	b.ReportMetric(float64(st.peakHeap)/(1<<20), prefix+"peak-MB")
	b.ReportMetric(float64(st.gcs), prefix+"run-GCs")
	b.ReportMetric(float64(st.finishGCs), prefix+"finish-GCs")
	b.ReportMetric(st.finish.Seconds(), prefix+"finish-s")
}

func loadLib(b *testing.B, name string) *scenarios.Plan {
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		b.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// BenchmarkReference runs the shipped reference scenario (96 machines, AZ
// striping, 10k/s for one simulated hour, an AZ lost for 10 minutes) and,
// in the same run, the bare pipeline at the same rate, and reports the
// ratio of the two.
func BenchmarkReference(b *testing.B) {
	p := loadLib(b, "reference")
	for i := 0; i < b.N; i++ {
		start := time.Now()
		reqs, evs := barePipeline(float64(p.Scenario.Workload.Rate), int64(p.Scenario.Run.Duration))
		bare := time.Since(start).Seconds()
		b.ReportMetric(float64(reqs)/bare, "bare-req/s")
		b.ReportMetric(float64(evs)/bare, "bare-events/s")
		st := measure(b, p)
		st.report(b, "")
		b.ReportMetric(float64(st.requests)/st.wall.Seconds()/(float64(reqs)/bare), "ratio-to-bare")
		b.ReportMetric(float64(st.events)/float64(st.requests), "events/req")
	}
}

// BenchmarkDurationMemory shows that the simulation's memory does not grow
// with simulated time: the reference for 10 minutes and for 60.
func BenchmarkDurationMemory(b *testing.B) {
	for _, d := range []string{"10m", "60m"} {
		b.Run(d, func(b *testing.B) {
			p := loadLib(b, "reference")
			dur, _ := scenarios.ParseDuration(d)
			p.Scenario.Run.Duration = dur
			p.Scenario.Faults = nil
			p.Faults = nil
			for i := 0; i < b.N; i++ {
				measure(b, p).report(b, "")
			}
		})
	}
}

// scaleScenario is the reference's stack on a bigger topology: 3 cities x 2
// AZs x racks x machines, the same 10k/s, 5 simulated minutes.
func scaleScenario(racks, machines int, granularity string) string {
	return fmt.Sprintf(`
run: {duration: 5m, warmup: 10s, seed: 42}
topology:
  cities:
    - {name: beijing, azs: 2, racks: %[1]d, machines: %[2]d}
    - {name: shanghai, azs: 2, racks: %[1]d, machines: %[2]d}
    - {name: shenzhen, azs: 2, racks: %[1]d, machines: %[2]d}
  latency: {cross_city: 20ms}
striping: {granularity: %[3]s}
stack:
  gateway: {instances: 2}
  discovery: {mode: registry, heartbeat: 2s, ttl: 6s, refresh: 5s}
  services:
    - name: order
      instances: 3
      concurrency: 16
      service_time: {dist: lognormal, mean: 2ms, sigma: 0.5}
      calls: [{service: account, timeout: 200ms}, {data: request, timeout: 200ms}]
    - {name: account, instances: 3, concurrency: 16, service_time: {dist: exponential, mean: 1ms}}
  data: {mode: sharded, replicas: 2, placement: az, replication: async, lag: 50ms}
workload:
  rate: 10k/s
  users: {count: 1M}
`, racks, machines, granularity)
}

// BenchmarkScale reports the cost per event from 96 to 24,000 machines at
// the same offered load, with AZ striping (the same deployment, wider).
func BenchmarkScale(b *testing.B) {
	for _, c := range []struct{ racks, machines int }{{4, 4}, {10, 20}, {50, 80}} {
		n := 3 * 2 * c.racks * c.machines
		b.Run(fmt.Sprintf("machines=%d", n), func(b *testing.B) {
			f, err := scenarios.Parse("scale.yaml", []byte(scaleScenario(c.racks, c.machines, "az")))
			if err != nil {
				b.Fatal(err)
			}
			p := scenarios.NewPlan(f)
			for i := 0; i < b.N; i++ {
				measure(b, p).report(b, "")
			}
		})
	}
}

// BenchmarkParallelRuns runs independent simulations one after another
// and then two at a time (one goroutine each, outside the simulator) and
// reports the speedup; with two cores it should be close to 2.
func BenchmarkParallelRuns(b *testing.B) {
	f, err := scenarios.Parse("scale.yaml", []byte(scaleScenario(4, 4, "az")))
	if err != nil {
		b.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	run := func(seed uint64) {
		if _, err := Run(context.Background(), p, Options{Seed: seed}); err != nil {
			b.Error(err)
		}
	}
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run(1)
		run(2)
		seq := time.Since(start)
		start = time.Now()
		var wg sync.WaitGroup
		for s := uint64(1); s <= 2; s++ {
			wg.Add(1)
			go func() { defer wg.Done(); run(s) }()
		}
		wg.Wait()
		par := time.Since(start)
		b.ReportMetric(seq.Seconds()/par.Seconds(), "speedup-2-runs")
	}
}

// BenchmarkReferenceMinute is the reference scenario cut to one simulated
// minute, without its fault: a quick figure for profiling, with and
// without settling ahead (the same results, see TestAnswerAheadIsExact).
func BenchmarkReferenceMinute(b *testing.B) {
	p := loadLib(b, "reference")
	p.Scenario.Run.Duration = scenarios.Duration(60e9)
	p.Scenario.Faults, p.Faults = nil, nil
	for _, ahead := range []bool{true, false} {
		b.Run(fmt.Sprintf("ahead=%v", ahead), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				measureWith(b, p, Options{noAhead: !ahead}).report(b, "")
			}
		})
	}
}

// BenchmarkBarePipeline is the bare pipeline alone: ten fixed-latency
// stages per request at 10k/s for ten simulated minutes.
func BenchmarkBarePipeline(b *testing.B) {
	for i := 0; i < b.N; i++ {
		start := time.Now()
		reqs, evs := barePipeline(10000, 600e9)
		s := time.Since(start).Seconds()
		b.ReportMetric(float64(reqs)/s, "req/s")
		b.ReportMetric(float64(evs)/s, "events/s")
		b.ReportMetric(s*1e9/float64(evs), "ns/event")
	}
}
