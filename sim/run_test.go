package sim

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// TestInterruptCountsInFlightAsUnknown stops the shipped AZ-loss run 3s
// into its fault (its requests to the lost AZ are then waiting for their
// timeouts) and checks that the partial result counts every request sent
// before the stop, those still in flight as unknown, and never passes.
func TestInterruptCountsInFlightAsUnknown(t *testing.T) {
	f, err := scenarios.LoadLibrary("az-loss")
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	full, err := Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopAt := p.Faults[0].Start + 3e9
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	part, err := Run(ctx, p, Options{Progress: func(now, _ int64) {
		if now >= stopAt {
			cancel()
		}
	}})
	if err == nil || part == nil || !part.Incomplete || part.StoppedNS != stopAt {
		t.Fatalf("err %v, incomplete %v, stopped at %d; want a partial result stopped at %d", err, part != nil && part.Incomplete, part.StoppedNS, stopAt)
	}
	var unknown int64
	for i := range part.Windows {
		got, want := &part.Windows[i].Counts, &full.Windows[i].Counts
		if got.Offered != want.Offered {
			t.Errorf("window %d: %d requests offered, the full run %d: requests in flight at the stop were dropped", i, got.Offered, want.Offered)
		}
		if settled := got.Outcomes[reports.Unknown] == 0; settled && *got != *want {
			t.Errorf("window %d has no unknown outcome but differs from the full run: %+v vs %+v", i, *got, *want)
		}
		unknown += got.Outcomes[reports.Unknown]
	}
	if unknown == 0 {
		t.Fatal("no request was in flight at the stop, 3s into an AZ loss with 1s timeouts")
	}
	reports.Analyze(part)
	if part.Passed() || part.Status() != reports.StatusIncomplete {
		t.Errorf("status %s, passed %v; a run stopped early is incomplete", part.Status(), part.Passed())
	}
	for _, v := range part.Verdicts {
		if !v.Incomplete || v.Status() != reports.StatusIncomplete {
			t.Errorf("verdict %s is %s", v.Name(), v.Status())
		}
	}
	if rto := part.Measures.Faults[0].RTO; rto >= 0 {
		t.Errorf("RTO %s measured 3s into a 2m fault, before anything recovered", reports.FormatLatency(rto))
	}
}

// TestBudgetRefusesBeforeAllocating builds a plan the validator would
// reject (an overload of 250 at 10k/s: up to 15M requests in flight) and
// checks that the simulator refuses it at once.
func TestBudgetRefusesBeforeAllocating(t *testing.T) {
	f, err := scenarios.Parse("ok.yaml", []byte(`
run: {duration: 2m}
topology: {cities: [{name: c}]}
stack: {services: [{name: api}], data: {mode: none}}
workload: {rate: 10k/s}
faults: [{at: 1m, for: 10s, kind: overload, factor: 2}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	p.Scenario.Faults[0].Factor, p.Faults[0].Params.Factor = 250, 250
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := Run(context.Background(), p, Options{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrBudget) || res != nil || !strings.Contains(err.Error(), "up to 15000000 requests") {
		t.Fatalf("err %v, result %v; want ErrBudget and nothing run", err, res != nil)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Errorf("allocated %d bytes before refusing", grown)
	}
}

// TestBudgetStopsPilingWork runs a gateway that forwards without limit to
// a service that serves 10 requests a second from a queue of 10M: the
// clients give up after 100ms, but the abandoned requests wait in the
// queue, so the records in flight grow by 5k/s until the budget stops the
// run.
func TestBudgetStopsPilingWork(t *testing.T) {
	defer func(n int) { maxInFlight = n }(maxInFlight)
	maxInFlight = 20_000
	f, err := scenarios.Parse("pile.yaml", []byte(`
run: {duration: 30s, warmup: 1s}
topology: {cities: [{name: c, azs: 1, racks: 1, machines: 1}]}
striping: {granularity: city}
stack:
  gateway: {instances: 1, concurrency: 100000000}
  services: [{name: api, instances: 1, concurrency: 1, queue: 10000000, service_time: 100ms}]
  data: {mode: none}
workload: {rate: 5k/s, client: {timeout: 100ms, retries: 0}}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), scenarios.NewPlan(f), Options{})
	if !errors.Is(err, ErrBudget) || res != nil {
		t.Fatalf("err %v; want the run stopped by the budget", err)
	}
	if !strings.Contains(err.Error(), "requests in flight at 4.") {
		t.Errorf("stopped at the wrong point: %v", err)
	}
}

// TestHorizonIsRequestLifetime keeps the simulator's horizon and the
// lifetime the scenarios' budget check assumes equal.
func TestHorizonIsRequestLifetime(t *testing.T) {
	for _, n := range scenarios.LibraryNames() {
		f, err := scenarios.LoadLibrary(n)
		if err != nil {
			t.Fatal(err)
		}
		if h, l := Horizon(f.Scenario), scenarios.RequestLifetime(f.Scenario); h != int64(l) {
			t.Errorf("%s: horizon %d, request lifetime %d", n, h, l)
		}
	}
}
