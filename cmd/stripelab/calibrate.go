package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/reports/analysis"
	"github.com/stripelab/stripelab/scenarios"
)

// realRun runs a scenario on a real backend (process or containers) and
// returns its result; run.go points it at the runner.
var realRun = func(ctx context.Context, f *scenarios.File, backend string, seed uint64, quiet bool) (*reports.Result, error) {
	return nil, fmt.Errorf("%w: backend %q is not available in this build", errUsage, backend)
}

// lockWait is how long a real run waits for another one to end.
var lockWait time.Duration

// fitOverheads measures the host's overheads and returns the scenario
// fields that make the simulator account for them (field = value lines)
// and a function applying them to a scenario; calibrate_fit.go sets it.
var fitOverheads func(ctx context.Context) (fields []string, apply func(*scenarios.Scenario), err error)

func cmdCalibrate(args []string) error {
	fs := newFlags("calibrate")
	backend := fs.String("backend", "process", "the real backend: process or containers")
	realFile := fs.String("real", "", "a saved real result.json to compare with, instead of running the real stack (one scenario only)")
	tolS := fs.String("tolerance", "", "tolerances, e.g. latency=20%,availability=0.5%,availability_in_fault=2%,time=20%,time_abs=2s,windows=80%")
	fit := fs.Bool("fit", false, "measure this host's overheads first and let the simulated run account for them")
	seed := fs.Uint64("seed", 0, "seed overriding the scenario's run.seed (0 keeps it)")
	out := fs.String("out", "", "output folder (default out/calibrate-NAME)")
	quiet := fs.Bool("quiet", false, "no progress output")
	fs.DurationVar(&lockWait, "wait", 0, "wait up to this long for another real run on this machine to end (default: fail at once)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("calibrate", pos, 1, 1); err != nil {
		return err
	}
	if *backend != "process" && *backend != "containers" {
		return fmt.Errorf("%w: --backend %q: want process or containers", errUsage, *backend)
	}
	tol, err := analysis.ParseCalibrationTolerance(*tolS)
	if err != nil {
		return analysisError("calibrate", "", err)
	}
	files, suite, err := calibrationFiles(pos[0])
	if err != nil {
		return err
	}
	if *realFile != "" && suite {
		return fmt.Errorf("%w: --real compares one scenario; %s holds %d", errUsage, pos[0], len(files))
	}
	dir := *out
	if dir == "" {
		name := strings.ReplaceAll(strings.TrimSuffix(pos[0], "/"), "/", "-")
		if !suite {
			name = strings.ReplaceAll(files[0].Scenario.Name, "/", "-")
		}
		dir = filepath.Join("out", "calibrate-"+filepath.Base(name))
	}
	ctx, stop := interruptible()
	defer stop()
	var fields []string
	var apply func(*scenarios.Scenario)
	if *fit {
		if fitOverheads == nil {
			return fmt.Errorf("%w: --fit is not available in this build", errUsage)
		}
		if fields, apply, err = fitOverheads(ctx); err != nil {
			return fmt.Errorf("calibrate --fit: %w", err)
		}
		fmt.Printf("host overheads measured; the simulated runs use %s\n", strings.Join(fields, "; "))
	}
	if !suite {
		c, err := calibrateOne(ctx, files[0], *backend, *realFile, *seed, tol, fields, apply, dir, *quiet)
		if err != nil {
			return err
		}
		fmt.Printf("%s\n  report: %s\n", upperFirst(c.Reading), filepath.Join(dir, analysis.FileHTML))
		if c.Out > 0 {
			return fmt.Errorf("%w: %d of %d calibration measures out of tolerance", errRegression, c.Out, len(c.Gaps))
		}
		return nil
	}
	ix := &analysis.CalibrationIndex{Backend: *backend}
	out1 := 0
	for _, f := range files {
		name := strings.ReplaceAll(f.Scenario.Name, "/", "-")
		sub := filepath.Join(dir, name)
		e := analysis.CalibrationEntry{Scenario: f.Scenario.Name, Dir: name}
		c, err := calibrateOne(ctx, f, *backend, "", *seed, tol, fields, apply, sub, *quiet)
		switch {
		case errors.Is(err, errInterrupted) || ctx.Err() != nil:
			e.Error = "interrupted"
			ix.Entries = append(ix.Entries, e)
			if werr := ix.Write(dir); werr != nil {
				return werr
			}
			return fmt.Errorf("%w: the calibration index in %s is partial", errInterrupted, dir)
		case err != nil:
			e.Error = err.Error()
			out1++
		default:
			e.Out, e.Gaps, e.Untrusted = c.Out, len(c.Gaps), c.Untrusted
			if c.Out > 0 {
				out1++
			}
		}
		fmt.Printf("  %s: %s\n", f.Scenario.Name, entryLine(e))
		ix.Entries = append(ix.Entries, e)
	}
	if err := ix.Write(dir); err != nil {
		return err
	}
	fmt.Printf("%d of %d scenarios within every tolerance; index: %s\n", len(files)-out1, len(files), filepath.Join(dir, analysis.FileHTML))
	if out1 > 0 {
		return fmt.Errorf("%w: %d of %d scenarios out of tolerance", errRegression, out1, len(files))
	}
	return nil
}

func entryLine(e analysis.CalibrationEntry) string {
	if e.Error != "" {
		return "not run: " + e.Error
	}
	if e.Out == 0 {
		return "within every tolerance"
	}
	return fmt.Sprintf("%d of %d out of tolerance (%s)", e.Out, e.Gaps, strings.Join(e.Untrusted, ", "))
}

// calibrationFiles loads one scenario, or every scenario of a folder or
// a shipped folder name (real/).
func calibrationFiles(arg string) ([]*scenarios.File, bool, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		paths, _ := filepath.Glob(filepath.Join(arg, "*.yaml"))
		sort.Strings(paths)
		if len(paths) == 0 {
			return nil, false, fmt.Errorf("%w: %s holds no .yaml scenario", errUsage, arg)
		}
		var fs []*scenarios.File
		for _, p := range paths {
			f, err := loadScenario(p)
			if err != nil {
				return nil, false, err
			}
			fs = append(fs, f)
		}
		return fs, true, nil
	}
	prefix := strings.TrimSuffix(arg, "/") + "/"
	var fs []*scenarios.File
	for _, n := range scenarios.LibraryNames() {
		if strings.HasPrefix(n, prefix) {
			f, err := scenarios.LoadLibrary(n)
			if err != nil {
				return nil, false, err
			}
			fs = append(fs, f)
		}
	}
	if len(fs) > 0 {
		return fs, true, nil
	}
	f, err := loadScenario(arg)
	if err != nil {
		return nil, false, err
	}
	return []*scenarios.File{f}, false, nil
}

// calibrateOne runs f in the simulator (with the fitted fields applied)
// and on the real backend (or reads the saved real result), writes both
// runs' reports under dir/sim and dir/real and the calibration into dir.
func calibrateOne(ctx context.Context, f *scenarios.File, backend, realFile string, seed uint64, tol analysis.CalibrationTolerance,
	fields []string, apply func(*scenarios.Scenario), dir string, quiet bool) (*analysis.Calibration, error) {
	s := seed
	if s == 0 {
		s = f.Scenario.Run.Seed
	}
	var realRes *reports.Result
	var err error
	if realFile != "" {
		if realRes, err = reports.ReadResult(realFile); err != nil {
			return nil, err
		}
		if realRes.Backend == "sim" {
			return nil, fmt.Errorf("%w: --real %s was made by the simulator; give a process or containers result", errUsage, realFile)
		}
	} else {
		fmt.Printf("calibrating %s: the %s backend first (real time, %s)\n", f.Scenario.Name, backend, f.Scenario.Run.Duration.Std())
		realRes, err = realRun(ctx, f, backend, s, quiet)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, fmt.Errorf("%w: calibration of %s stopped", errInterrupted, f.Scenario.Name)
			}
			return nil, err
		}
		reports.Analyze(realRes)
	}
	simFile := f
	if apply != nil {
		cp := *f.Scenario // apply replaces the slices it changes
		apply(&cp)
		nf := *f
		nf.Scenario = &cp
		simFile = &nf
	}
	pr := newProgress(os.Stderr, quiet, false)
	p := scenarios.NewPlan(simFile)
	simRes, err := simulate(ctx, p, s, pr.task(p.Scenario.Name, p.Scenario.Run.Duration.Std()))
	pr.wait()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("%w: calibration of %s stopped", errInterrupted, f.Scenario.Name)
		}
		return nil, err
	}
	for name, r := range map[string]*reports.Result{"sim": simRes, "real": realRes} {
		if err := reports.WriteAll(r, filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	c, err := analysis.Calibrate(simRes, realRes, tol)
	if err != nil {
		return nil, analysisError("calibrate", dir, err)
	}
	c.Fit = fields
	if err := c.Write(dir); err != nil {
		return nil, err
	}
	return c, nil
}
