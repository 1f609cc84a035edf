package main

import (
	"fmt"
	"time"

	"github.com/stripelab/stripelab/reports/analysis"
	"github.com/stripelab/stripelab/scenarios"
)

func cmdFailover(args []string) error {
	fs := newFlags("failover")
	lose := fs.String("lose", "az", "the place lost in turn: az or city")
	af := addAnalysisFlags(fs, "failover")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("failover", pos, 1, 1); err != nil {
		return err
	}
	f, o, dir, pr, err := af.options("failover", pos)
	if err != nil {
		return err
	}
	fmt.Printf("failover %s (%s): every %s lost in turn, seed %d\n", f.Scenario.Name, f.Path, *lose, seedOf(f, o))
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	sw, err := analysis.Failover(ctx, f, analysis.FailoverOptions{Options: o, Lose: *lose})
	pr.wait()
	if sw == nil {
		return analysisError("failover", dir, err)
	}
	return finishAnalysis("failover", dir, sw, sw.Reading, sw.Runs, time.Since(start), err)
}

// seedOf is the seed an analysis runs with.
func seedOf(f *scenarios.File, o analysis.Options) uint64 {
	if o.Seed != 0 {
		return o.Seed
	}
	return f.Scenario.Run.Seed
}
