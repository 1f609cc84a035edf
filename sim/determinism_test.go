package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// resultBytes runs a plan and returns its analyzed result.json bytes.
func resultBytes(t testing.TB, p *scenarios.Plan, seed uint64) []byte {
	t.Helper()
	b, _ := analyzed(t, p, seed)
	return b
}

func analyzed(t testing.TB, p *scenarios.Plan, seed uint64) ([]byte, *reports.Result) {
	t.Helper()
	res, err := Run(context.Background(), p, Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	reports.Analyze(res)
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

// expectedFailures are the objectives each shipped scenario's opening
// comment says will fail; every other objective must hold. A change to the
// simulator that breaks a scenario's story shows up here.
var expectedFailures = map[string][]string{
	"autoscale-load-step":       {"latency p99 [overall]"},
	"autoscale-az-loss":         {"availability [overall]", "availability_in_fault [lose az a]", "latency p99 [overall]"},
	"az-loss-protection":        {"availability [overall]", "availability_in_fault [lose shenzhen/a]"},
	"cross-city-partition":      {"availability_in_fault [shenzhen-shanghai partition]"},
	"gray-failure":              {"latency p99 [overall]", "latency_in_fault p99 [throttled machine]"},
	"intercity-latency":         {"latency p99 [overall]"},
	"real/added-latency":        {"latency_in_fault p99 [slow shanghai]"},
	"real/autoscale-load-step":  {"latency p99 [overall]"},
	"real/registry-outage":      {"latency p99 [overall]"},
	"real/shard-failover-async": {"lost_writes [shard 0 primary crash]"},
	"registry-outage":           {"latency p99.9 [overall]"},
	"retry-storm":               {"availability [overall]", "rto [30s spike]"},
}

// TestDeterministic runs every shipped scenario (but the hour-long speed
// reference) twice, under GOMAXPROCS=1 and 2, and compares the bytes; it
// also checks that each fails exactly the objectives its comment expects.
func TestDeterministic(t *testing.T) {
	eachShipped(t, []string{"az-loss", "shard-failover-async", "ci/smoke"}, func(t *testing.T, name string, p *scenarios.Plan) {
		prev := runtime.GOMAXPROCS(1)
		one, res := analyzed(t, p, 0)
		var failed []string
		for _, v := range res.Verdicts {
			if !v.Pass {
				failed = append(failed, v.Name())
			}
		}
		if want := expectedFailures[name]; fmt.Sprint(failed) != fmt.Sprint(want) {
			t.Errorf("failed objectives %q; the scenario's comment expects %q", failed, want)
		}
		runtime.GOMAXPROCS(2)
		two := resultBytes(t, p, 0)
		runtime.GOMAXPROCS(prev)
		if !bytes.Equal(one, two) {
			t.Fatalf("result.json differs between runs: %s", firstDiff(one, two))
		}
	})
}

// TestSeedChangesRun makes sure the seed is used: another seed gives
// another result (so the determinism test above is not vacuous).
func TestSeedChangesRun(t *testing.T) {
	f, err := scenarios.LoadLibrary("az-loss")
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	if bytes.Equal(resultBytes(t, p, 1), resultBytes(t, p, 2)) {
		t.Fatal("seeds 1 and 2 gave identical results")
	}
}

func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			lo := max(0, i-80)
			return fmt.Sprintf("at byte %d: %q vs %q", i, a[lo:min(len(a), i+80)], b[lo:min(len(b), i+80)])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(a), len(b))
}

// TestStepEqualsRunUntil drives one world event by event and another by
// RunUntil; the results must be identical.
func TestStepEqualsRunUntil(t *testing.T) {
	f, err := scenarios.LoadLibrary("ci/smoke")
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	seed := p.Scenario.Run.Seed
	a := NewWorld(p, seed, reports.NewRecorder(p, seed, Backend, Horizon(p.Scenario)))
	for a.Step() {
	}
	b := NewWorld(p, seed, reports.NewRecorder(p, seed, Backend, Horizon(p.Scenario)))
	b.RunUntil(b.stop)
	if a.Events() == 0 || a.Events() != b.Events() {
		t.Fatalf("Step processed %d events, RunUntil %d", a.Events(), b.Events())
	}
	ra, _ := json.Marshal(a.Finish(false))
	rb, _ := json.Marshal(b.Finish(false))
	if !bytes.Equal(ra, rb) {
		t.Fatalf("results differ: %s", firstDiff(ra, rb))
	}
}

// eachShipped runs fn as a subtest on the plan of every shipped scenario
// but the hour-long speed reference; with -short, only on those named.
func eachShipped(t *testing.T, short []string, fn func(t *testing.T, name string, p *scenarios.Plan)) {
	for _, name := range scenarios.LibraryNames() {
		if name == "reference" || (testing.Short() && !slices.Contains(short, name)) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f, err := scenarios.LoadLibrary(name)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, name, scenarios.NewPlan(f))
		})
	}
}
