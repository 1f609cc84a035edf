package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

func simRun(ctx context.Context, p *scenarios.Plan, seed uint64) (*reports.Result, error) {
	return sim.Run(ctx, p, sim.Options{Seed: seed})
}

func opts(parallel int) Options { return Options{Runner: simRun, Parallel: parallel} }

func parse(t *testing.T, name, src string) *scenarios.File {
	t.Helper()
	f, err := scenarios.Parse(name+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// oneService has a single service whose saturation point follows from
// queueing theory: per set one instance of 8 threads at a constant 10ms,
// so 800 req/s per set and 1600 req/s for the two AZ sets. The gateway
// forwards up to 10 at once (a little over 8, for the network time) and
// sheds what waited 300ms in its queue, so overload fails requests
// instead of queueing them forever. Objective: availability only.
const oneService = `
run: {duration: 60s, warmup: 5s, seed: 3}
topology:
  cities: [{name: c, azs: 2, racks: 1, machines: 2}]
striping: {granularity: az}
stack:
  access: {rehome_delay: 2s}
  gateway: {instances: 1, concurrency: 10, cost: 10us, auth: {enabled: false}, queue: {capacity: 10000, timeout: 300ms}, shedding: {policy: none}}
  discovery: {mode: mesh}
  services:
    - {name: api, instances: 1, concurrency: 8, queue: 100, service_time: 10ms}
  data: {mode: none}
workload:
  rate: 600/s
  client: {timeout: 2s, retries: 0}
slo: {availability: 99.9%}
`

func TestCapacityFindsTheSaturationPoint(t *testing.T) {
	skipShort(t)
	f := parse(t, "one-service", oneService)
	c, err := FindCapacity(context.Background(), f, CapacityOptions{Options: opts(0), Lose: "az"})
	if err != nil {
		t.Fatal(err)
	}
	const perSet = 1 * 8 / 0.010 // instances x concurrency / mean service time
	within := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol*want {
			t.Errorf("%s: %.0f req/s, want %.0f within %.0f%%", name, got, want, 100*tol)
		}
	}
	within("steady limit", c.Steady.Held, 2*perSet, 0.03)
	within("N-1 limit (one AZ lost)", c.N1.Held, perSet, 0.03)
	if r := c.N1.Held / c.Steady.Held; r < 0.47 || r > 0.53 {
		t.Errorf("N-1 / steady = %.3f, want about half", r)
	}
	for _, l := range []*Limit{&c.Steady, c.N1} {
		if l.Failed <= l.Held || (l.Failed-l.Held) > 0.01*l.Held+1 {
			t.Errorf("bracket [%v, %v) is not within 1%%", l.Held, l.Failed)
		}
		if l.HeadroomRate != l.Held-600 || math.Abs(l.Growth-l.Held/600) > 1e-12 {
			t.Errorf("headroom %v (growth %v) at limit %v, peak 600", l.HeadroomRate, l.Growth, l.Held)
		}
	}
	if c.N1.Worst == "" || c.PeakRate != 600 || c.DefaultAvailability {
		t.Errorf("worst %q, peak %v, default availability %v", c.N1.Worst, c.PeakRate, c.DefaultAvailability)
	}
	if in := c.Instances; !in.Met || in.Scale != 1 || in.Against != searchN1 {
		t.Errorf("instances for N-1 at 600 req/s: %+v; one per set holds 800 req/s", in)
	}
	// One gateway and one api per set held, but a set of one gateway is
	// lost with its machine: the recommendation keeps a spare of each.
	for i, p := range c.Instances.PerSet {
		if h := c.Instances.Held[i]; h.Instances != 1 || p.Instances != 2 || p.Component != h.Component {
			t.Errorf("%s: held with %d per set, recommended %d; want 1 and 2", p.Component, h.Instances, p.Instances)
		}
	}
	if !strings.Contains(c.Reading, "takes 1 gateway, 1 api per set, so 2 gateway, 2 api with a spare of each") {
		t.Errorf("reading: %s", c.Reading)
	}
	sweeps := 0
	for _, p := range c.Probes {
		if p.Search == searchSweep {
			sweeps++
			if p.Held != (p.Rate <= c.Steady.Held) {
				t.Errorf("sweep at %v held=%v, the limit is %v", p.Rate, p.Held, c.Steady.Held)
			}
		}
	}
	if sweeps != 4 || c.Runs < len(c.Probes) {
		t.Errorf("%d sweep probes, %d runs for %d probes", sweeps, c.Runs, len(c.Probes))
	}
	if !strings.Contains(c.Reading, "steady state holds up to 1") || !strings.Contains(c.Reading, "losing the worst az") {
		t.Errorf("reading: %s", c.Reading)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, FileCapacity, "plots/capacity-latency.png", "plots/capacity-availability.svg")
	checkContains(t, filepath.Join(dir, FileHTML), `id="table-limits"`, "N-1: worst az lost", `id="plot-capacity-latency"`)
}

// The searches run concurrently on the pool; the result must not depend
// on how many workers there are.
func TestCapacityDoesNotDependOnParallel(t *testing.T) {
	f := parse(t, "one-service", oneService)
	var out [2][]byte
	for i, n := range []int{1, 3} {
		c, err := FindCapacity(context.Background(), f, CapacityOptions{Options: opts(n), Lose: "az", Measure: scenarios.Duration(20e9), Precision: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		out[i], _ = json.Marshal(c)
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Errorf("capacity with 1 and 3 workers differ:\n%s\n%s", out[0], out[1])
	}
}

// stripes is one city of 2 AZs x 2 racks x 2 machines, striped per AZ in
// the file, with few users (each sends a request every few seconds, so a
// user whose requests reach a dead instance is sure to see it) and a
// re-homing faster than discovery expiry.
const stripes = `
run: {duration: 60s, warmup: 5s, seed: 5}
topology:
  cities: [{name: c, azs: 2, racks: 2, machines: 2}]
striping: {granularity: az}
stack:
  access: {rehome_delay: 3s}
  gateway: {instances: 2}
  discovery: {mode: registry, heartbeat: 2s, ttl: 10s, refresh: 5s}
  services:
    - {name: api, instances: 2, concurrency: 8, service_time: 2ms}
  data: {mode: none}
workload:
  rate: 400/s
  users: {count: 2000}
  client: {retries: 0}
slo: {availability: 99%, availability_in_fault: 90%}
`

func TestCompareDirections(t *testing.T) {
	skipShort(t)
	f := parse(t, "stripes", stripes)
	dir := t.TempDir()
	o := opts(0)
	o.Dir = dir
	c, err := Compare(context.Background(), f, CompareOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{}
	for _, sf := range c.Suite {
		classes = append(classes, sf.Class+" "+sf.Target)
	}
	if got := strings.Join(classes, ", "); got != "machine-down machine=c/a/r1/m1, rack-down rack=c/a/r1, az-down az=c/a" {
		t.Fatalf("suite %s", got)
	}
	by := map[string]*Layout{}
	for i := range c.Layouts {
		by[c.Layouts[i].Granularity] = &c.Layouts[i]
	}
	rack := 1 // the suite's rack-down
	if r, ci := by["rack"].Faults[rack].BlastUsers, by["city"].Faults[rack].BlastUsers; r >= ci/2 {
		t.Errorf("a rack loss hits %.1f%% of users with rack striping, %.1f%% with city striping: want rack well below city", 100*r, 100*ci)
	}
	if s := by["rack"].Faults[rack]; s.SetsAffected != 1 || s.BlastSets != 0.25 {
		t.Errorf("a rack loss with rack striping hits %d sets (%v), want its own set of 4", s.SetsAffected, s.BlastSets)
	}
	prev := 0
	for _, g := range scenarios.Granularities {
		l := by[g]
		if l.Cost.Instances <= prev {
			t.Errorf("%s striping deploys %d instances, no more than the coarser layout's %d", g, l.Cost.Instances, prev)
		}
		prev = l.Cost.Instances
		if l.Cost.Machines != 8 || l.Steady.Offered == 0 || l.Steady.Availability < 0.999 {
			t.Errorf("%s: %d machines, steady %+v", g, l.Cost.Machines, l.Steady)
		}
	}
	if by["az"].ExtraInstances != 0 || by["machine"].ExtraInstances <= 0 {
		t.Errorf("extra instances: az %d (the scenario's layout), machine %d", by["az"].ExtraInstances, by["machine"].ExtraInstances)
	}
	if !strings.HasPrefix(c.Reading, "with the scenario's az striping, losing ") {
		t.Errorf("reading: %s", c.Reading)
	}
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, FileCompare, "plots/blast-users.png", "plots/availability-in-fault.svg", "plots/cost.png",
		"runs/rack/rack-down/result.json", "runs/city/az-down/report.html", "runs/machine/machine-down/plots/failover-0.png")
	checkContains(t, filepath.Join(dir, FileMarkdown), "| **rack-down: rack=c/a/r1, 15s for 15s** |", "runs/rack/rack-down/report.html")
}

// sized needs several api instances for its 1000 req/s (400 req/s each)
// once a loss takes half the machines; its objectives are ones more
// instances can meet.
const sized = `
run: {duration: 60s, warmup: 5s, seed: 5}
topology:
  cities: [{name: c, azs: 2, racks: 2, machines: 2}]
striping: {granularity: az}
stack:
  access: {rehome_delay: 3s}
  gateway: {instances: 2, queue: {timeout: 200ms}}
  discovery: {mode: mesh}
  services:
    - {name: api, instances: 3, concurrency: 4, queue: 50, service_time: 10ms}
  data: {mode: none}
workload:
  rate: 1000/s
  users: {count: 2000}
  client: {retries: 0}
slo: {availability: 90%, latency: {p99: 200ms}}
`

func TestCompareSizeForSLO(t *testing.T) {
	skipShort(t)
	f := parse(t, "sized", sized)
	c, err := Compare(context.Background(), f, CompareOptions{Options: opts(0), SizeForSLO: true})
	if err != nil {
		t.Fatal(err)
	}
	prev := 0
	for _, l := range c.Layouts {
		if !l.Size.Met || !l.Passed {
			t.Errorf("%s: the size search did not meet the objectives: %+v", l.Granularity, l.Size)
		}
		if l.Cost.Instances < prev {
			t.Errorf("%s striping needs %d instances for the objectives, fewer than the coarser layout's %d", l.Granularity, l.Cost.Instances, prev)
		}
		prev = l.Cost.Instances
		for _, p := range l.Size.Probes {
			if p.Scale < l.Size.Scale && p.Passed || p.Scale == l.Size.Scale && !p.Passed {
				t.Errorf("%s: probe %+v contradicts the chosen scale %d", l.Granularity, p, l.Size.Scale)
			}
		}
	}
	if first, last := c.Layouts[0], c.Layouts[len(c.Layouts)-1]; last.Cost.Instances <= first.Cost.Instances {
		t.Errorf("machine striping needs %d instances, city striping %d: want more for the finer layout", last.Cost.Instances, first.Cost.Instances)
	}
}

func TestCompareDoesNotDependOnParallel(t *testing.T) {
	f := parse(t, "stripes", stripes)
	var out [2][]byte
	for i, n := range []int{1, 4} {
		c, err := Compare(context.Background(), f, CompareOptions{Options: opts(n), Granularities: []string{"rack", "city"}})
		if err != nil {
			t.Fatal(err)
		}
		out[i], _ = json.Marshal(c)
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Errorf("compare with 1 and 4 workers differ")
	}
}

func TestFailoverLostWritesAsyncButNotSync(t *testing.T) {
	skipShort(t)
	for _, tc := range []struct {
		name string
		lost bool
	}{{"shard-failover-async", true}, {"shard-failover-sync", false}} {
		f, err := scenarios.LoadLibrary(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Failover(context.Background(), f, FailoverOptions{Options: opts(0)})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs.Rows) != 4 || fs.AtNS != int64(f.Scenario.Faults[0].At) || fs.ForNS != int64(f.Scenario.Faults[0].For) {
			t.Fatalf("%s: %d rows, window %d+%d", tc.name, len(fs.Rows), fs.AtNS, fs.ForNS)
		}
		var lost int64
		for _, r := range fs.Rows {
			lost += r.LostWrites
			if r.DetectionNS < 0 || r.BlastUsers <= 0 || r.Availability >= 1 || r.Sets != 4 {
				t.Errorf("%s losing %s: %+v", tc.name, r.Place, r)
			}
			if tc.lost && (r.LostWrites == 0 || r.LostSpanNS <= 0) {
				t.Errorf("%s losing %s: %d writes lost over %dns; async replication loses the last acknowledged ones", tc.name, r.Place, r.LostWrites, r.LostSpanNS)
			}
		}
		if !tc.lost && lost != 0 {
			t.Errorf("%s: %d writes lost; sync majority replication loses none", tc.name, lost)
		}
		w := fs.Rows[fs.Worst]
		for _, r := range fs.Rows {
			if r.Availability < w.Availability {
				t.Errorf("%s: %s is marked worst at %v but %s has %v", tc.name, w.Place, w.Availability, r.Place, r.Availability)
			}
		}
		if !strings.Contains(fs.Reading, "losing az "+w.Place+" hurts most") {
			t.Errorf("reading: %s", fs.Reading)
		}
	}
}

func TestFailoverWrites(t *testing.T) {
	f := parse(t, "stripes", stripes)
	dir := t.TempDir()
	o := opts(0)
	o.Dir = dir
	fs, err := Failover(context.Background(), f, FailoverOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	if fs.Window != "a quarter of the run from a quarter in (the scenario has no fault)" || fs.AtNS != 15e9 || fs.ForNS != 15e9 {
		t.Errorf("window %q %d+%d", fs.Window, fs.AtNS, fs.ForNS)
	}
	if err := fs.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, FileFailover, "plots/timing.png", "plots/lost-writes.svg", "runs/az-c-a/report.html", "runs/az-c-b/plots/failover-0.svg")
	checkContains(t, filepath.Join(dir, FileHTML), `class="worst"`, "hurts most", `href="runs/az-c-a/report.html"`)
}

func TestBadInput(t *testing.T) {
	f := parse(t, "stripes", stripes)
	ctx := context.Background()
	_, err1 := Compare(ctx, f, CompareOptions{Options: opts(1), Granularities: []string{"az", "region"}})
	_, err2 := Compare(ctx, f, CompareOptions{Options: opts(1), Granularities: []string{"az", "az"}})
	_, err3 := FindCapacity(ctx, f, CapacityOptions{Options: opts(1), Lose: "machine"})
	_, err4 := FindCapacity(ctx, f, CapacityOptions{Options: opts(1), Lose: "city"})
	_, err5 := Failover(ctx, f, FailoverOptions{Options: opts(1), Lose: "rack"})
	_, err6 := Failover(ctx, f, FailoverOptions{Options: opts(1), Lose: "city"})
	for i, tc := range []struct {
		err  error
		want string
	}{
		{err1, `unknown granularity "region"`}, {err2, `"az" is listed twice`}, {err3, `unknown place kind "machine"`},
		{err4, "the topology has one city"}, {err5, `unknown place kind "rack"`}, {err6, "the topology has one city"},
	} {
		if !errors.Is(tc.err, ErrBadInput) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("case %d: %v, want ErrBadInput saying %q", i+1, tc.err, tc.want)
		}
	}
	// A variant the scenario cannot take is a scenario error naming the fault.
	own := parse(t, "set-fault", stripes+"faults: [{at: 20s, for: 10s, kind: gateway-down, target: set=c/a}]\n")
	_, err := Compare(ctx, own, CompareOptions{Options: opts(1), Granularities: []string{"az", "rack"}, ScenarioFaults: true})
	if !errors.Is(err, scenarios.ErrInvalid) || !strings.Contains(err.Error(), `faults[0].target: unknown set "c/a"`) {
		t.Errorf("a set target at another granularity: %v", err)
	}
	if _, err := Compare(ctx, f, CompareOptions{}); err == nil {
		t.Error("no runner: no error")
	}
}

func TestCancelStops(t *testing.T) {
	f := parse(t, "stripes", stripes)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Failover(ctx, f, FailoverOptions{Options: opts(2)}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled failover: %v", err)
	}
}

func TestBracket(t *testing.T) {
	for _, tc := range []struct {
		start, limit float64
		held         float64 // 0: check within precision of limit
	}{
		{1000, 2345, 0}, {1000, 123, 0}, {1000, 1000, 0}, {100, 1e9, 102400}, {1000, 1, 0},
	} {
		n := 0
		held, failed, err := bracket(tc.start, 0.01, scenarios.MaxRate, func(r float64) (bool, error) { n++; return r <= tc.limit, nil })
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.held > 0:
			if held != tc.held || failed != 0 {
				t.Errorf("limit %v: held %v failed %v, want %v and no failure (the doubling stops)", tc.limit, held, failed, tc.held)
			}
		case tc.limit < tc.start/64:
			if held != 0 || failed != roundRate(tc.start/64) {
				t.Errorf("limit %v: held %v failed %v, want nothing held down to 1/64", tc.limit, held, failed)
			}
		default:
			if held > tc.limit || failed <= tc.limit || failed-held > 0.01*held+0.5 {
				t.Errorf("limit %v from %v: bracket [%v, %v]", tc.limit, tc.start, held, failed)
			}
		}
		if n > 20 {
			t.Errorf("limit %v: %d probes", tc.limit, n)
		}
	}
}

// TestBracketCeiling checks that the doubling stops below the rate a probe
// may not offer (the simulator's budget), instead of failing the analysis.
func TestBracketCeiling(t *testing.T) {
	held, failed, err := bracket(1000, 0.01, 50000, func(r float64) (bool, error) {
		if r > 50000 {
			t.Fatalf("probed %v, above the ceiling", r)
		}
		return true, nil
	})
	if err != nil || held != 32000 || failed != 0 {
		t.Errorf("held %v failed %v err %v; want 32000 and no failure", held, failed, err)
	}
}

func TestSmallestPassing(t *testing.T) {
	for _, tc := range []struct{ k0, need, want int }{
		{4, 1, 1}, {4, 3, 3}, {4, 4, 4}, {4, 5, 5}, {4, 13, 13}, {4, 16, 16}, {1, 3, 3}, {4, 17, 16},
	} {
		k, met, err := smallestPassing(tc.k0, 4*tc.k0, func(k int) (bool, error) { return k >= tc.need, nil })
		if err != nil || k != tc.want || met != (tc.need <= 4*tc.k0) {
			t.Errorf("k0 %d need %d: %d %v, want %d", tc.k0, tc.need, k, met, tc.want)
		}
	}
}

func TestWindowsAndObjectives(t *testing.T) {
	s := parse(t, "stripes", stripes).Scenario
	if at, dur := quarterWindow(s); at != 15e9 || dur != 15e9 {
		t.Errorf("quarter window %s+%s", at, dur)
	}
	s.Run.Warmup = scenarios.Duration(30e9)
	if at, dur := quarterWindow(s); at != 37e9 || dur != 15e9 {
		t.Errorf("quarter window after a long warm-up %s+%s", at, dur)
	}
	slo, def := steadyObjectives(scenarios.SLO{Latency: map[string]scenarios.Duration{"p99": 1}, RTO: 5, AvailabilityInFault: 0.9})
	if !def || slo.Availability != 0.999 || slo.RTO != 0 || slo.AvailabilityInFault != 0 || slo.Latency["p99"] != 1 {
		t.Errorf("steady objectives %+v default %v", slo, def)
	}
}

// skipShort leaves the longer searches and the shipped scenarios to make
// test; make race (-short) keeps the tests that exercise the pool.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("long: run without -short")
	}
}

func checkFiles(t *testing.T, dir string, extra ...string) {
	t.Helper()
	for _, f := range append([]string{FileHTML, FileMarkdown}, extra...) {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
}

func checkContains(t *testing.T, path string, want ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("%s does not contain %q", filepath.Base(path), w)
		}
	}
}

// stopAfter is a Runner that simulates normally until n runs have ended,
// then cancels the analysis halfway through the next run, as Ctrl-C would.
func stopAfter(n int, cancel context.CancelFunc) Runner {
	var mu sync.Mutex
	ended := 0
	return func(ctx context.Context, p *scenarios.Plan, seed uint64) (*reports.Result, error) {
		mu.Lock()
		stop := ended >= n
		mu.Unlock()
		o := sim.Options{Seed: seed}
		if stop {
			o.Progress = func(now, end int64) {
				if now >= end/2 {
					cancel()
				}
			}
		}
		res, err := sim.Run(ctx, p, o)
		mu.Lock()
		ended++
		mu.Unlock()
		return res, err
	}
}

func TestInterruptedFailoverKeepsWhatRan(t *testing.T) {
	f := parse(t, "stripes", stripes)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	fs, err := Failover(ctx, f, FailoverOptions{Options: Options{Runner: stopAfter(1, cancel), Parallel: 1, Dir: dir}})
	if !errors.Is(err, context.Canceled) || fs == nil {
		t.Fatalf("err %v, sweep %v; want the partial sweep and the cancellation", err, fs)
	}
	if !fs.Incomplete || len(fs.Rows) != 2 || fs.Rows[0].Incomplete == fs.Rows[1].Incomplete || fs.Worst < 0 || !fs.Rows[fs.Worst].complete() {
		t.Fatalf("sweep incomplete %v, worst %d, rows %+v", fs.Incomplete, fs.Worst, fs.Rows)
	}
	ended, stopped := fs.Rows[fs.Worst], fs.Rows[1-fs.Worst]
	if !strings.HasPrefix(fs.Reading, "interrupted: 1 of 2 losses ran to the end; among them, losing az "+ended.Place+" hurts most") {
		t.Errorf("reading: %s", fs.Reading)
	}
	if err := fs.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, FileFailover, "runs/az-c-a/report.html", "runs/az-c-b/report.html")
	checkContains(t, filepath.Join(dir, FileHTML), `id="stopped"`, stopped.Place+" (stopped)", "(incomplete)")
	res, err := reports.ReadResult(filepath.Join(dir, stopped.Dir, reports.FileResult))
	if err != nil || !res.Incomplete {
		t.Errorf("the stopped run's result: %v, incomplete %v", err, res != nil && res.Incomplete)
	}
}

func TestInterruptedCompareKeepsWhatRan(t *testing.T) {
	f := parse(t, "stripes", stripes)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	c, err := Compare(ctx, f, CompareOptions{Options: Options{Runner: stopAfter(2, cancel), Parallel: 1, Dir: dir}, Granularities: []string{"city", "az"}})
	if !errors.Is(err, context.Canceled) || c == nil {
		t.Fatalf("err %v, comparison %v; want the partial comparison and the cancellation", err, c)
	}
	counts := map[string]int{}
	for _, l := range c.Layouts {
		for _, o := range l.Faults {
			switch {
			case o.NotRun:
				counts["not run"]++
			case o.Incomplete:
				counts["stopped"]++
			default:
				counts["ended"]++
			}
		}
	}
	if !c.Incomplete || counts["ended"] != 2 || counts["stopped"] != 1 || counts["not run"] != 3 {
		t.Errorf("incomplete %v, runs %v; want 2 ended, 1 stopped, 3 not run", c.Incomplete, counts)
	}
	if !strings.HasPrefix(c.Reading, "interrupted: 2 of 6 runs ran to the end") {
		t.Errorf("reading: %s", c.Reading)
	}
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkContains(t, filepath.Join(dir, FileHTML), `id="stopped"`, "not run")
}

func TestInterruptedCapacityKeepsWhatRan(t *testing.T) {
	f := parse(t, "one-service", oneService)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := FindCapacity(ctx, f, CapacityOptions{Options: Options{Runner: stopAfter(3, cancel), Parallel: 1}, Measure: scenarios.Duration(20e9), Precision: 0.05})
	if !errors.Is(err, context.Canceled) || c == nil {
		t.Fatalf("err %v, capacity %v; want the partial analysis and the cancellation", err, c)
	}
	done, stopped := 0, 0
	for _, p := range c.Probes {
		if p.Incomplete {
			stopped++
			if p.Held || p.Failed != nil {
				t.Errorf("a stopped probe carries figures: %+v", p)
			}
		} else {
			done++
		}
	}
	if !c.Incomplete || done != 3 || stopped < 1 {
		t.Errorf("incomplete %v, %d probes ended, %d stopped, instances %+v", c.Incomplete, done, stopped, c.Instances)
	}
	if !strings.HasPrefix(c.Reading, "interrupted after 3 probes") || !strings.Contains(c.Reading, "no limit or size is recommended") {
		t.Errorf("reading: %s", c.Reading)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkContains(t, filepath.Join(dir, FileMarkdown), "stopped (interrupted)", "⚠️")
}

// TestCompareReadingAgainstOwnLayout checks that the reading compares the
// layouts with the scenario's own striping, not the extremes with each
// other.
func TestCompareReadingAgainstOwnLayout(t *testing.T) {
	layout := func(g string, instances int, users ...float64) Layout {
		l := Layout{Granularity: g, Cost: reports.Cost{Instances: instances}, Passed: true}
		for _, u := range users {
			l.Faults = append(l.Faults, FaultOutcome{BlastUsers: u})
		}
		return l
	}
	c := &Comparison{
		Base:       BaseLayout{Granularity: "az", Instances: 40},
		Objectives: []string{"availability ≥ 99%"},
		Suite: []SuiteFault{{Class: "machine-down", Kind: "machine-down", Target: "machine=c/a/r1/m1"},
			{Class: "az-down", Kind: "az-down", Target: "az=c/a"}},
		Layouts: []Layout{layout("city", 20, 0.10, 1), layout("az", 40, 0.08, 0.5), layout("machine", 90, 0.01, 0.5)},
	}
	want := "with the scenario's az striping, losing az c/a hits 50.00% of users; machine striping cuts that to 50.00%"
	if got := compareReading(c); !strings.HasPrefix(got, "with the scenario's az striping, losing az c/a hits 50.00% of users, the fewest of the layouts compared") {
		t.Errorf("reading %q (not %q)", got, want)
	}
	c.Layouts[2].Faults[1].BlastUsers = 0.125
	if got := compareReading(c); !strings.HasPrefix(got, "with the scenario's az striping, losing az c/a hits 50.00% of users; machine striping cuts that to 12.50%, for 50 more instances (90 against 40, +125%)") {
		t.Errorf("reading %q", got)
	}
	c.Base.Granularity = "rack"
	if got := compareReading(c); !strings.HasPrefix(got, "losing az c/a hits 12.50% of users with machine striping against 100% with city striping") {
		t.Errorf("reading without the scenario's layout compared: %q", got)
	}
}

// TestRTOAtTheFaultsEnd checks the wording of an RTO that is the fault's
// own length: the system recovered only because the fault ended.
func TestRTOAtTheFaultsEnd(t *testing.T) {
	for _, tc := range []struct {
		rto  int64
		want string
	}{
		{12e9, "12s"}, {60e9, "1m0s (recovered only when the fault ended)"}, {60.5e9, "1m1s (recovered only when the fault ended)"},
		{65e9, "1m5s (recovered 5s after the fault ended)"}, {-1, "never"},
	} {
		if got := rtoText(tc.rto, 60e9, 1e9); got != tc.want {
			t.Errorf("RTO %d of a 1m fault: %q, want %q", tc.rto, got, tc.want)
		}
	}
}

// TestAvailabilityChartsEndAt100 checks that availability inside faults
// is drawn on an axis that stops at 100% (a dot chart), where bars showed
// an axis from 20% to 120%.
func TestAvailabilityChartsEndAt100(t *testing.T) {
	c := &Comparison{Suite: []SuiteFault{{Class: "az-down"}, {Class: "city-down"}}, InFaultObjective: 0.92}
	for _, g := range []string{"city", "az"} {
		c.Layouts = append(c.Layouts, Layout{Granularity: g, Faults: []FaultOutcome{{Availability: 0.9}, {Availability: 0.4}}})
	}
	fs := &FailoverSweep{Lose: "az", Worst: 1, Rows: []FailoverRow{{Place: "c/a", Availability: 0.999}, {Place: "c/b", Availability: 0.95}}}
	for _, ch := range append(c.charts(), fs.charts()...) {
		if ch.name != "availability-in-fault" && ch.name != "availability" {
			continue
		}
		p, err := ch.fn()
		if err != nil {
			t.Fatal(err)
		}
		if p.Y.Max > 100.5 || p.Y.Min < 0 {
			t.Errorf("%s: axis %v to %v", ch.name, p.Y.Min, p.Y.Max)
		}
		for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if tk.Label != "" && tk.Value > 100 {
				t.Errorf("%s: a tick at %v%%", ch.name, tk.Value)
			}
		}
	}
}
