package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports"
)

// TestLineProgress checks the plain progress lines a pipeline log gets.
func TestLineProgress(t *testing.T) {
	var b strings.Builder
	p := &lineProgress{w: &b, every: 0}
	tk := p.task("az-loss", 4*time.Minute)
	tk.update(time.Minute)
	tk.done(true)
	out := b.String()
	for _, want := range []string{"az-loss:  25% (1m0s of 4m0s simulated", "az-loss: stopped after"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output %q lacks %q", out, want)
		}
	}
	var q strings.Builder
	p = &lineProgress{w: &q, every: time.Hour}
	p.task("x", time.Minute).update(30 * time.Second)
	if q.Len() != 0 {
		t.Errorf("printed %q before the interval passed", q.String())
	}
}

// TestSimulatedLine checks that the last line of a run says how far an
// interrupted run got, and keeps the engine's counts for --verbose.
func TestSimulatedLine(t *testing.T) {
	res := &reports.Result{DurationNS: int64(4 * time.Minute), WindowNS: 1e9, Engine: map[string]int64{"events": 7, "model_events": 9}}
	res.Totals.Counts.Offered = 5
	if got := simulatedLine(res, 300*time.Millisecond, false); got != "  simulated 4m0s in 300ms" {
		t.Errorf("complete run: %q", got)
	}
	res.Incomplete, res.StoppedNS = true, int64(63*time.Second)
	if got := simulatedLine(res, 300*time.Millisecond, false); got != "  simulated 1m3s of 4m0s in 300ms (interrupted)" {
		t.Errorf("interrupted run: %q", got)
	}
	if got := simulatedLine(res, 300*time.Millisecond, true); !strings.HasSuffix(got, "(5 requests, 9 model events, 7 through the event queue)") {
		t.Errorf("verbose: %q", got)
	}
}
