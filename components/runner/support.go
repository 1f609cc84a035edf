package runner

import (
	"errors"
	"fmt"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// Unsupported names the scenario features the real backends (process and
// containers) do not carry out, so a run refuses them instead of silently
// measuring a stack without them: key copies of two set changes of one
// city at once, and the call path's resilience policies (breakers, outlier
// ejection, panic, protection and self-preservation thresholds, active
// health checks). Scale actions, autoscalers, set changes (scaling.go,
// sets.go; under sharded data with their key copies, moves.go, added or
// removed) and hedging (the load generator's) are carried out. Each refusal is one line naming its field
// path; nil when the plan uses none. The simulator carries out all of them.
func Unsupported(p *scenarios.Plan) error {
	s := p.Scenario
	var errs []error
	add := func(field, what string) {
		errs = append(errs, fmt.Errorf("%s: %s is not carried out by the real backends (the simulator does)", field, what))
	}
	errs = append(errs, overlappingCopies(p)...)
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

// overlappingCopies refuses, under sharded data, a set change of a city
// routed while the key copy of the one before it there still runs: the
// real shards follow a key through the moves one after the other.
func overlappingCopies(p *scenarios.Plan) []error {
	sc := &p.Scenario.Scaling
	rate := float64(sc.CopyRate)
	ends := map[int]time.Duration{} // per city, when the last copy ends
	prev := map[int]int{}
	var errs []error
	for _, m := range p.KeyMoves() {
		routed := sc.Sets[m.Change].At.Std() + p.Scenario.Stack.Access.RehomeDelay.Std()
		if !m.Remove {
			routed += sc.Startup.Std()
		}
		if end, ok := ends[m.City]; ok && routed < end {
			errs = append(errs, fmt.Errorf("scaling.sets[%d]: routed at %s while the key copy of scaling.sets[%d] runs until %s; under data.mode sharded the real backends copy one set change's keys after the other's in a city (the simulator overlaps them): move it to %s or later",
				m.Change, routed, prev[m.City], end, sc.Sets[m.Change].At.Std()+end-routed))
		}
		ends[m.City], prev[m.City] = routed+m.Duration(rate), m.Change
	}
	return errs
}
