package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

// defaultScenario is the shipped scenario run when no file is given.
const defaultScenario = "az-loss"

// loadScenario reads a scenario file, or a shipped one by name (az-loss,
// ci/smoke) when no such file exists.
func loadScenario(arg string) (*scenarios.File, error) {
	if _, err := os.Stat(arg); err != nil && !strings.ContainsAny(arg, `\`) {
		for _, n := range scenarios.LibraryNames() {
			if n == strings.TrimSuffix(arg, ".yaml") {
				return scenarios.LoadLibrary(n)
			}
		}
	}
	return scenarios.Load(arg)
}

// simulate runs one plan in the simulator with a progress task and
// returns the analyzed result. When ctx is cancelled it returns what was
// measured, marked incomplete.
func simulate(ctx context.Context, p *scenarios.Plan, seed uint64, tk task) (*reports.Result, error) {
	res, err := sim.Run(ctx, p, sim.Options{Seed: seed, Progress: func(now, end int64) { tk.update(time.Duration(now)) }})
	tk.done(err != nil)
	if res != nil {
		reports.Analyze(res)
	}
	return res, err
}

// interruptible returns a context cancelled by Ctrl-C or SIGTERM.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cmdRun(args []string) error {
	fs := newFlags("run")
	backend := fs.String("backend", "sim", "backend that runs the scenario: sim (the simulator), process (the real stack as local processes) or containers (one container per machine)")
	keep := fs.Bool("keep", false, "real backends: keep the run folder (configs, logs, shard data) after the run")
	seed := fs.Uint64("seed", 0, "seed overriding the scenario's run.seed (0 keeps it)")
	out := fs.String("out", "", "output folder (default out/NAME)")
	quiet := fs.Bool("quiet", false, "no progress output")
	verbose := fs.Bool("verbose", false, "list every objective, not only the failed ones, and the simulator's event counts")
	fs.BoolVar(verbose, "v", false, "short for --verbose")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("run", pos, 0, 1); err != nil {
		return err
	}
	if _, ok := realBackends[*backend]; !ok && *backend != "sim" {
		return fmt.Errorf("%w: run: unknown backend %q; the backends are %s", errUsage, *backend, strings.Join(backendNames(), ", "))
	}
	if *keep && *backend == "sim" {
		return fmt.Errorf("%w: run: --keep applies to the real backends only (there is no run folder in the simulator)", errUsage)
	}
	arg := defaultScenario
	if len(pos) == 1 {
		arg = pos[0]
	}
	f, err := loadScenario(arg)
	if err != nil {
		return err
	}
	p := scenarios.NewPlan(f)
	s := *seed
	if s == 0 {
		s = p.Scenario.Run.Seed
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", p.Scenario.Name)
	}
	ctx, stop := interruptible()
	defer stop()
	if *backend != "sim" {
		return runReal(ctx, *backend, p, f.Path, s, dir, *keep, *quiet, *verbose)
	}
	fmt.Printf("running %s (%s) in the simulator, seed %d: %s\n", p.Scenario.Name, f.Path, s, p.Summary())
	pr := newProgress(os.Stderr, *quiet, false)
	start := time.Now()
	res, runErr := simulate(ctx, p, s, pr.task(p.Scenario.Name, p.Scenario.Run.Duration.Std()))
	pr.wait()
	wall := time.Since(start)
	if res == nil {
		return runErr // refused: nothing was measured
	}
	if err := reports.WriteAll(res, dir); err != nil {
		return err
	}
	if err := reports.WriteSummary(os.Stdout, res, dir, *verbose); err != nil {
		return err
	}
	fmt.Println(simulatedLine(res, wall, *verbose))
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("%w: the partial result in %s is marked incomplete", errInterrupted, dir)
		}
		return runErr
	}
	if !res.Passed() {
		return fmt.Errorf("%w: %d of %s failed", errSLO, res.Failures(), scenarios.Quantity(len(res.Verdicts), "objective"))
	}
	return nil
}

// simulatedLine says how much was simulated in how long: the whole run,
// or how far an interrupted one got; verbose adds the simulator's event
// counts.
func simulatedLine(res *reports.Result, wall time.Duration, verbose bool) string {
	what := reports.FormatLatency(res.DurationNS)
	if res.Incomplete {
		what = reports.FormatTime(res.Reached()) + " of " + what
	}
	s := fmt.Sprintf("  simulated %s in %s", what, wall.Truncate(time.Millisecond))
	if res.Incomplete {
		s += " (interrupted)"
	}
	if verbose {
		s += fmt.Sprintf(" (%d requests, %d model events, %d through the event queue)",
			res.Totals.Counts.Offered, res.Engine["model_events"], res.Engine["events"])
	}
	return s
}
