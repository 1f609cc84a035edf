package main

import (
	"fmt"
	"time"

	"github.com/stripelab/stripelab/reports/analysis"
	"github.com/stripelab/stripelab/scenarios"
)

func cmdCapacity(args []string) error {
	fs := newFlags("capacity")
	lose := fs.String("lose", "", "also search N-1: the worst single az, city or rack lost")
	precision := fs.String("precision", "1%", "stop bisecting when the bracket is this close to the rate that held")
	measure := fs.String("measure", "50s", "measured length of each probe (after warm-up, and for N-1 after the loss settled)")
	af := addAnalysisFlags(fs, "capacity")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("capacity", pos, 1, 1); err != nil {
		return err
	}
	prec, err := scenarios.ParsePercent(*precision)
	if err != nil {
		return fmt.Errorf("%w: --precision: %v", errUsage, err)
	}
	dur, err := scenarios.ParseDuration(*measure)
	if err != nil || dur < scenarios.Duration(time.Second) {
		return fmt.Errorf("%w: --measure: expected a duration of at least 1s, got %q", errUsage, *measure)
	}
	f, o, dir, pr, err := af.options("capacity", pos)
	if err != nil {
		return err
	}
	what := "steady state"
	if *lose != "" {
		what += " and N-1 (" + *lose + ")"
	}
	fmt.Printf("capacity %s (%s): %s, seed %d\n", f.Scenario.Name, f.Path, what, seedOf(f, o))
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	c, err := analysis.FindCapacity(ctx, f, analysis.CapacityOptions{Options: o, Lose: *lose, Precision: prec.Fraction(), Measure: dur})
	pr.wait()
	if c == nil {
		return analysisError("capacity", dir, err)
	}
	return finishAnalysis("capacity", dir, c, c.Reading, c.Runs, time.Since(start), err)
}
