package sim

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// runAhead runs a plan with answering ahead on or off and returns the
// result.json bytes without the engine's event counters, and the counters.
func runAhead(t *testing.T, p *scenarios.Plan, ahead bool) ([]byte, map[string]int64) {
	t.Helper()
	seed := p.Scenario.Run.Seed
	w := NewWorld(p, seed, reports.NewRecorder(p, seed, Backend, Horizon(p.Scenario)))
	w.ahead = ahead && w.res == nil // resilience policies settle nothing ahead
	w.RunUntil(w.stop)
	res := w.Finish(false)
	reports.Analyze(res)
	engine := res.Engine
	res.Engine = nil
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b, engine
}

// TestAnswerAheadIsExact runs every shipped scenario with CPU work settled
// ahead (leaves answering, gateways forwarding when their work starts) and
// with every CPU end as its own event: the results must be the same to the
// byte, with fewer events. The scenarios cover contention
// (queues that demote holds), every fault kind (faults demote every hold)
// and link faults (no answering ahead while one is active).
func TestAnswerAheadIsExact(t *testing.T) {
	var ahead, demoted int64
	eachShipped(t, []string{"az-loss", "retry-storm", "ci/shedding", "cross-city-partition"}, func(t *testing.T, _ string, p *scenarios.Plan) {
		on, eOn := runAhead(t, p, true)
		off, eOff := runAhead(t, p, false)
		if !bytes.Equal(on, off) {
			t.Fatalf("answering ahead changed the result: %s", firstDiff(on, off))
		}
		if n := eOff["answered_ahead"] + eOff["forwarded_ahead"] + eOff["relayed_ahead"] + eOff["arrived_ahead"] + eOff["work_arrived_ahead"]; n != 0 {
			t.Fatalf("settled %d ahead with that off", n)
		}
		// ModelEvents counts what settling ahead skipped; deadline
		// timers can stop once more or less (see deadlineFIFO.arm)
		if got, want := eOn["model_events"]-eOn["edge_timers"], eOff["events"]-eOff["edge_timers"]; got != want {
			t.Errorf("model events but timers: %d settling ahead, %d without (engine counters %v)", got, want, eOn)
		}
		if eOff["model_events"] != eOff["events"] {
			t.Errorf("without settling ahead, model events %d != events %d", eOff["model_events"], eOff["events"])
		}
		ahead += eOn["answered_ahead"] + eOn["forwarded_ahead"] + eOn["relayed_ahead"] + eOn["arrived_ahead"] + eOn["work_arrived_ahead"]
		demoted += eOn["answers_demoted"] + eOn["forwards_demoted"] + eOn["relays_demoted"] + eOn["arrivals_demoted"] + eOn["work_arrivals_demoted"]
	})
	if ahead == 0 || demoted == 0 {
		t.Fatalf("the scenarios answered %d ahead and demoted %d: both paths must be exercised", ahead, demoted)
	}
}
