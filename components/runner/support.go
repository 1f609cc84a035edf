package runner

import (
	"errors"
	"fmt"

	"github.com/stripelab/stripelab/scenarios"
)

// Unsupported names the scenario features the real backends (process and
// containers) do not carry out, so a run refuses them instead of silently
// measuring a stack without them: adding and removing sets under sharded
// data, and the call path's resilience policies (breakers, outlier
// ejection, panic, protection and self-preservation thresholds, active
// health checks). Scale actions, autoscalers, set changes over data kept
// apart from the sets (scaling.go, sets.go) and hedging (the load
// generator's) are carried out. Each refusal is one line naming its field
// path; nil when the plan uses none. The simulator carries out all of them.
func Unsupported(p *scenarios.Plan) error {
	s := p.Scenario
	var errs []error
	add := func(field, what string) {
		errs = append(errs, fmt.Errorf("%s: %s is not carried out by the real backends (the simulator does)", field, what))
	}
	sc := &s.Scaling
	if n := len(sc.Sets); n > 0 && s.Stack.Data.Mode == "sharded" {
		errs = append(errs, fmt.Errorf("scaling.sets: adding and removing sets under data.mode sharded (%s), which moves keys between shards, is not carried out by the real backends (the simulator does; with data.mode proxy, global or none they are)",
			scenarios.Quantity(n, "change")))
	}
	if r := s.Stack.Resilience; r != nil {
		if r.Breaker != nil {
			add("stack.resilience.breaker", "a circuit breaker")
		}
		if r.Outlier != nil {
			add("stack.resilience.outlier", "outlier ejection")
		}
		if r.Panic > 0 {
			add("stack.resilience.panic", "the healthy panic threshold")
		}
		if r.Protection > 0 {
			add("stack.resilience.protection", "the registry's protection threshold")
		}
		if r.SelfPreservation > 0 {
			add("stack.resilience.self_preservation", "the registry's self-preservation")
		}
		if r.HealthCheck != nil {
			add("stack.resilience.health_check", "active health checking")
		}
	}
	return errors.Join(errs...)
}
