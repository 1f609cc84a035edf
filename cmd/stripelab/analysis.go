package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/reports/analysis"
	"github.com/stripelab/stripelab/scenarios"
)

// simRunner runs the simulations of an analysis with sim.Run on the
// calling goroutine, each with its progress task as `run` has, named by
// the variant (the scenario, the striping and the fault or probe).
func simRunner(pr progress) analysis.Runner {
	return func(ctx context.Context, p *scenarios.Plan, seed uint64) (*reports.Result, error) {
		return simulate(ctx, p, seed, pr.task(p.Scenario.Name, p.Scenario.Run.Duration.Std()))
	}
}

// analysisFlags are the flags every analysis command takes.
type analysisFlags struct {
	out      *string
	parallel *int
	seed     *uint64
	quiet    *bool
}

func addAnalysisFlags(fs *flag.FlagSet, kind string) analysisFlags {
	return analysisFlags{
		out:      fs.String("out", "", "output folder (default out/"+kind+"-NAME)"),
		parallel: fs.Int("parallel", runtime.NumCPU(), "simulations run at once (each on one core); results do not depend on it"),
		seed:     fs.Uint64("seed", 0, "seed for every run (0 keeps the scenario's run.seed)"),
		quiet:    fs.Bool("quiet", false, "no progress output"),
	}
}

// options checks the common flags and loads the scenario. The analysis
// shows its progress as run does: a bar per simulation in progress on a
// terminal (with a line above the bars per finished run), plain lines in
// a log; the caller waits for pr once the analysis returned.
func (a analysisFlags) options(kind string, pos []string) (f *scenarios.File, o analysis.Options, dir string, pr progress, err error) {
	if *a.parallel < 1 {
		return nil, o, "", nil, fmt.Errorf("%w: --parallel must be at least 1", errUsage)
	}
	if f, err = loadScenario(pos[0]); err != nil {
		return nil, o, "", nil, err
	}
	dir = *a.out
	if dir == "" {
		dir = filepath.Join("out", kind+"-"+strings.ReplaceAll(f.Scenario.Name, "/", "-"))
	}
	pr = newProgress(os.Stderr, *a.quiet, true)
	o = analysis.Options{Runner: simRunner(pr), Parallel: *a.parallel, Seed: *a.seed, Dir: dir}
	start := time.Now()
	o.Log = func(line string) { pr.log(fmt.Sprintf("  [%6.1fs] %s", time.Since(start).Seconds(), line)) }
	return f, o, dir, pr, nil
}

// analysisError maps an analysis failure to the CLI's exit codes: bad
// options are usage errors (2), scenario errors keep theirs (2), an
// interruption fails the command (1) after the partial analysis was
// written to dir.
func analysisError(kind, dir string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, analysis.ErrBadInput):
		return fmt.Errorf("%w: %s: %v", errUsage, kind, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: the partial analysis in %s is marked incomplete", errInterrupted, dir)
	}
	return err
}

// writer is an analysis' result.
type writer interface{ Write(dir string) error }

// finishAnalysis writes what an analysis returned, complete or cut short
// by an interrupt, says where the report is and how long it took, and
// maps err to the exit code.
func finishAnalysis(kind, dir string, w writer, reading string, runs int, wall time.Duration, err error) error {
	if werr := w.Write(dir); werr != nil {
		return werr
	}
	fmt.Printf("%s\n  %d simulations in %s; report: %s\n", reading, runs, wall.Truncate(time.Millisecond), filepath.Join(dir, analysis.FileHTML))
	return analysisError(kind, dir, err)
}
