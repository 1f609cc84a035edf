package runner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/scenarios"
)

func supportPlan(t *testing.T, extra string) *scenarios.Plan {
	t.Helper()
	return supportPlanData(t, "{mode: none}", extra)
}

func supportPlanData(t *testing.T, data, extra string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse("support.yaml", []byte(`name: support
run: {duration: 1m, warmup: 0s}
topology:
  cities: [{name: a, azs: 2, racks: 1, machines: 2}]
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  services: [{name: api, instances: 1}]
  data: `+data+`
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// TestUnsupported: every resilience feature but hedging is refused by its
// field path, each on its own line; a plan with none passes, and scale
// actions, autoscalers and set changes over every data mode pass (the real
// backends carry them out).
func TestUnsupported(t *testing.T) {
	for _, ok := range []string{"", "scaling:\n  actions: [{at: 10s, service: api, by: 1}]\n  autoscale: [{service: gateway, max: 3}]", "  resilience: {hedging: {delay: 20ms}}"} {
		if err := runner.Unsupported(supportPlan(t, ok)); err != nil {
			t.Fatalf("%q: %v", ok, err)
		}
	}
	for _, tc := range []struct{ yaml, field string }{
		{"  resilience: {breaker: {level: instance}}", "stack.resilience.breaker"},
		{"  resilience: {outlier: {consecutive_errors: 3}}", "stack.resilience.outlier"},
		{"  discovery: {mode: mesh}\n  resilience: {panic: 50%}", "stack.resilience.panic"},
		{"  discovery: {mode: registry}\n  resilience: {protection: 50%}", "stack.resilience.protection"},
		{"  discovery: {mode: registry}\n  resilience: {self_preservation: 85%}", "stack.resilience.self_preservation"},
		{"  resilience: {health_check: {interval: 1s}}", "stack.resilience.health_check"},
	} {
		err := runner.Unsupported(supportPlan(t, tc.yaml))
		if err == nil || !strings.HasPrefix(err.Error(), tc.field+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming %s", tc.yaml, err, tc.field)
		}
	}
	sets := "scaling:\n  sets: [{at: 10s, remove: a/b}]"
	for _, data := range []string{"{mode: none}", "{mode: proxy, shards: 2}", "{mode: global}", "{mode: sharded}"} {
		if err := runner.Unsupported(supportPlanData(t, data, sets)); err != nil {
			t.Errorf("a set removed over data %s: %v", data, err)
		}
	}
	err := runner.Unsupported(supportPlanData(t, "{mode: sharded}", "  resilience: {breaker: {level: service}, outlier: {consecutive_errors: 3}}\n"+sets))
	if err == nil || len(strings.Split(err.Error(), "\n")) != 2 {
		t.Fatalf("two features: %v, want two lines", err)
	}
}

// TestOverlappingCopies: under sharded data a set change routed while the
// copy of the one before it in its city runs is refused, naming both
// entries and the first time that would do; one routed after it passes.
func TestOverlappingCopies(t *testing.T) {
	plan := func(second string) *scenarios.Plan {
		f, err := scenarios.Parse("overlap.yaml", []byte(`name: overlap
run: {duration: 1m, warmup: 0s}
topology:
  cities: [{name: a, azs: 4, racks: 1, machines: 1}]
striping: {granularity: az, reserve: [a/c, a/d]}
stack:
  access: {rehome_delay: 1s}
  gateway: {instances: 1}
  services: [{name: api, instances: 1}]
  data: {mode: sharded}
workload: {users: {count: 3000}}
scaling:
  startup: 2s
  copy_rate: 100/s
  sets: [{at: 5s, add: a/c}, {at: `+second+`, add: a/d}]
`))
		if err != nil {
			t.Fatal(err)
		}
		return scenarios.NewPlan(f)
	}
	p := plan("10s")
	moves := p.KeyMoves()
	if len(moves) != 2 || len(moves[0].Users) == 0 {
		t.Fatalf("moves: %+v", moves)
	}
	// the add is routed at 5+2+1 = 8s and copies its keys at 100/s
	end := 8*time.Second + moves[0].Duration(100)
	err := runner.Unsupported(p)
	if err == nil || !strings.HasPrefix(err.Error(), "scaling.sets[1]: ") || !strings.Contains(err.Error(), "scaling.sets[0]") {
		t.Fatalf("overlap: %v, want refused at scaling.sets[1]", err)
	}
	later := (end - 3*time.Second).Round(time.Second) + time.Second // the second add is routed startup + rehome_delay after its time
	if err := runner.Unsupported(plan(later.String())); err != nil {
		t.Errorf("second change at %s (copy ends %s): %v", later, end, err)
	}
}
