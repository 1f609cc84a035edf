package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/stripelab/stripelab/components/process"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// realBackends make the host of each real backend.
var realBackends = map[string]func() runner.Host{
	"process": func() runner.Host { return process.New() },
}

func backendNames() []string {
	out := []string{"sim"}
	for n := range realBackends {
		out = append(out, n)
	}
	sort.Strings(out[1:])
	return out
}

// runReal runs a plan on a real backend and writes the same reports as
// the simulator; an interrupt stops every process and writes the partial
// result, marked incomplete.
func runReal(ctx context.Context, backend string, p *scenarios.Plan, path string, seed uint64, dir string, keep, quiet, verbose bool) error {
	if err := runner.Unsupported(p); err != nil {
		return fmt.Errorf("%w: %s: the %s backend cannot run this scenario:\n%v", errUsage, path, backend, err)
	}
	fmt.Printf("running %s (%s) on the real stack (%s backend), seed %d: %s\n", p.Scenario.Name, path, backend, seed, p.Summary())
	var log io.Writer = os.Stderr
	if quiet {
		log = nil
	}
	dur := p.Scenario.Run.Duration.Std()
	opts := runner.Options{Host: realBackends[backend](), Seed: seed, Keep: keep, Log: log}
	if !quiet {
		opts.Progress = func(now time.Duration) {
			if now/time.Second%10 == 0 {
				fmt.Fprintf(os.Stderr, "  %s of %s\n", now.Truncate(time.Second), dur)
			}
		}
	}
	start := time.Now()
	out, runErr := runner.Execute(ctx, p, opts)
	wall := time.Since(start)
	if out == nil || out.Result == nil {
		if runErr == nil {
			runErr = errors.New("the run measured nothing")
		}
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("%w: stopped during bring-up; every process of the run is stopped", errInterrupted)
		}
		return runErr
	}
	res := out.Result
	if err := reports.WriteAll(res, dir); err != nil {
		return err
	}
	if err := reports.WriteSummary(os.Stdout, res, dir, verbose); err != nil {
		return err
	}
	n, ok := 0, 0
	for _, e := range out.Ledger {
		if e.Action == "revert" {
			n++
			if e.Verified {
				ok++
			}
		}
	}
	what := reports.FormatLatency(res.DurationNS)
	if res.Incomplete {
		what = reports.FormatTime(res.Reached()) + " of " + what
	}
	fmt.Printf("  ran %s in %s (bring-up %s), %d of %d fault reverts verified", what, wall.Truncate(time.Millisecond), out.BringUp.Truncate(time.Millisecond), ok, n)
	if out.Checked+out.Unknown > 0 {
		fmt.Printf(", %d acknowledged writes read back (%d lost, %d unknown)", out.Checked, out.Lost, out.Unknown)
	}
	fmt.Println()
	if keep {
		fmt.Printf("  run folder kept: %s\n", runFolder(opts.Host))
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("%w: every process of the run is stopped; the partial result in %s is marked incomplete", errInterrupted, dir)
		}
		return runErr
	}
	if !res.Passed() {
		return fmt.Errorf("%w: %d of %s failed", errSLO, res.Failures(), scenarios.Quantity(len(res.Verdicts), "objective"))
	}
	return nil
}

func runFolder(h runner.Host) string {
	if d, ok := h.(interface{ Dir() string }); ok {
		return d.Dir()
	}
	return "(none)"
}
