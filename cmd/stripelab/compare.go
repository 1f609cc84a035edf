package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports/analysis"
	"github.com/stripelab/stripelab/scenarios"
)

func cmdCompare(args []string) error {
	fs := newFlags("compare")
	gran := fs.String("granularity", "city,az,rack,machine", "striping granularities to compare, comma-separated")
	size := fs.Bool("size-for-slo", false, "size each layout for the objectives (searched) instead of equal total instances")
	own := fs.Bool("scenario-faults", false, "use the scenario's own faults (each in its own run) instead of one loss per place class")
	storage := fs.String("storage", "", "compare the scenario's set additions under these data modes (sharded, proxy, global), comma-separated, instead of granularities")
	af := addAnalysisFlags(fs, "compare")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("compare", pos, 1, 1); err != nil {
		return err
	}
	var gs []string
	for _, g := range strings.Split(*gran, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	if len(gs) == 0 {
		return fmt.Errorf("%w: --granularity: expected one or more of city, az, rack, machine", errUsage)
	}
	f, o, dir, pr, err := af.options("compare", pos)
	if err != nil {
		return err
	}
	if *storage != "" {
		return compareGrowth(f, o, dir, pr, *storage)
	}
	fmt.Printf("compare %s (%s): %s striping, seed %d\n", f.Scenario.Name, f.Path, strings.Join(gs, ", "), seedOf(f, o))
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	c, err := analysis.Compare(ctx, f, analysis.CompareOptions{Options: o, Granularities: gs, SizeForSLO: *size, ScenarioFaults: *own})
	pr.wait()
	if c == nil {
		return analysisError("compare", dir, err)
	}
	return finishAnalysis("compare", dir, c, c.Reading, c.Runs, time.Since(start), err)
}

// compareGrowth runs the growth case: the scenario's added sets under
// each data mode.
func compareGrowth(f *scenarios.File, o analysis.Options, dir string, pr progress, storage string) error {
	var modes []string
	for _, m := range strings.Split(storage, ",") {
		if m = strings.TrimSpace(m); m != "" {
			modes = append(modes, m)
		}
	}
	fmt.Printf("compare %s (%s): growth under %s storage, seed %d\n", f.Scenario.Name, f.Path, strings.Join(modes, ", "), seedOf(f, o))
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	g, err := analysis.CompareGrowth(ctx, f, analysis.GrowthOptions{Options: o, Modes: modes})
	pr.wait()
	if g == nil {
		return analysisError("compare", dir, err)
	}
	return finishAnalysis("compare", dir, g, g.Reading, g.Runs, time.Since(start), err)
}
