package runner_test

import (
	"strings"
	"testing"

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

// TestUnsupported: set changes and every resilience feature are refused
// by their field path, each on its own line; a plan with none passes, and
// scale actions and autoscalers pass (the real backends carry them out).
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
	for _, data := range []string{"{mode: none}", "{mode: proxy, shards: 2}", "{mode: global}"} {
		if err := runner.Unsupported(supportPlanData(t, data, sets)); err != nil {
			t.Errorf("set changes over data %s: %v", data, err)
		}
	}
	if err := runner.Unsupported(supportPlanData(t, "{mode: sharded}", sets)); err == nil || !strings.HasPrefix(err.Error(), "scaling.sets: ") {
		t.Errorf("set changes over sharded data: %v, want refused at scaling.sets", err)
	}
	err := runner.Unsupported(supportPlanData(t, "{mode: sharded}", "  resilience: {breaker: {level: service}, outlier: {consecutive_errors: 3}}\n"+sets))
	if err == nil || len(strings.Split(err.Error(), "\n")) != 3 || !strings.Contains(err.Error(), "(1 change)") {
		t.Fatalf("three features: %v, want three lines", err)
	}
}
