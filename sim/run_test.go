package sim

import (
	"context"
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
