package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// suiteItem is one scenario of a suite and where its report goes.
type suiteItem struct {
	name string // output folder relative to --out
	file *scenarios.File
	res  *reports.Result
	err  error
}

// collect expands the suite's arguments into scenario files: folders are
// searched for *.yaml (sorted), and a name that is not a path picks the
// shipped scenarios under it (ci, or ci/smoke). Every scenario's output
// folder is its path relative to the folder given (a file given alone:
// its name), and a shipped name is treated as the folder or file it names
// in scenarios/library, so that "suite ci" and "suite
// scenarios/library/ci" write the same layout and diff can pair them.
func collect(args []string) ([]suiteItem, error) {
	var items []suiteItem
	var bad scenarios.ErrorList
	add := func(name string, f *scenarios.File, err error) {
		if err != nil {
			var el scenarios.ErrorList
			if errors.As(err, &el) {
				bad = append(bad, el...)
			} else {
				bad = append(bad, scenarios.Error{File: name, Msg: err.Error()})
			}
			return
		}
		items = append(items, suiteItem{name: name, file: f})
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		switch {
		case err == nil && st.IsDir():
			var paths []string
			err := filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
					paths = append(paths, p)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			sort.Strings(paths)
			for _, p := range paths {
				rel, _ := filepath.Rel(arg, p)
				f, err := scenarios.Load(p)
				add(strings.TrimSuffix(strings.TrimSuffix(rel, ".yaml"), ".yml"), f, err)
			}
		case err == nil:
			f, err := scenarios.Load(arg)
			add(strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg)), f, err)
		default:
			found := false
			dir := strings.TrimSuffix(strings.TrimSuffix(arg, ".yaml"), "/")
			for _, n := range scenarios.LibraryNames() {
				if n == dir || strings.HasPrefix(n, dir+"/") {
					f, err := scenarios.LoadLibrary(n)
					add(libraryOutName(n, dir), f, err)
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("%w: %s: no such file, folder or shipped scenario", errUsage, arg)
			}
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: no scenario files found in %s", errUsage, strings.Join(args, " "))
	}
	seen := map[string]int{}
	for i := range items {
		seen[items[i].name]++
		if n := seen[items[i].name]; n > 1 {
			items[i].name += fmt.Sprintf("-%d", n)
		}
	}
	return items, nil
}

// libraryOutName is the output folder of shipped scenario n picked by
// arg: its path below the folder arg names, or its base name when arg
// names the scenario itself.
func libraryOutName(n, arg string) string {
	if n == arg {
		return path.Base(n)
	}
	return strings.TrimPrefix(n, arg+"/")
}

func cmdSuite(args []string) error {
	fs := newFlags("suite")
	out := fs.String("out", filepath.Join("out", "suite"), "output folder: one sub-folder per scenario, index.html and index.md")
	junit := fs.String("junit", "", "write a JUnit XML file (one test case per objective)")
	parallel := fs.Int("parallel", runtime.NumCPU(), "simulations run at once (each on one core); results do not depend on it")
	baseline := fs.String("baseline", "", "a previous suite's --out folder to compare against; regressions fail the suite")
	tolerance := fs.String("tolerance", "", "regression tolerance, e.g. availability=0.1%,latency=10%,rto=5s,lost_writes=0")
	seed := fs.Uint64("seed", 0, "seed for every scenario (0 keeps each file's run.seed)")
	quiet := fs.Bool("quiet", false, "no progress output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("suite", pos, 1, -1); err != nil {
		return err
	}
	if *parallel < 1 {
		return fmt.Errorf("%w: --parallel must be at least 1", errUsage)
	}
	tol, err := reports.ParseTolerance(*tolerance)
	if err != nil {
		return fmt.Errorf("%w: --tolerance: %v", errUsage, err)
	}
	items, err := collect(pos)
	if err != nil {
		return err
	}
	fmt.Printf("suite: %s, %d at a time\n", scenarios.Quantity(len(items), "scenario"), *parallel)
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	runAll(ctx, items, *parallel, *seed, newProgress(os.Stderr, *quiet, false))
	return finishSuite(os.Stdout, items, *out, *junit, *baseline, tol, time.Since(start))
}

// runAll simulates every item with a pool of workers; each simulation
// runs on one goroutine and its result does not depend on the others.
func runAll(ctx context.Context, items []suiteItem, workers int, seed uint64, pr progress) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					continue // interrupted before it started: not run
				}
				it := &items[i]
				p := scenarios.NewPlan(it.file)
				s := seed
				if s == 0 {
					s = p.Scenario.Run.Seed
				}
				it.res, it.err = simulate(ctx, p, s, pr.task(it.name, p.Scenario.Run.Duration.Std()))
			}
		}()
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	pr.wait()
}

// finishSuite writes every report, the index and JUnit, and prints one
// status line per scenario to w: pass, FAIL, incomplete (stopped mid-run)
// or not run (an interrupt came first).
func finishSuite(w io.Writer, items []suiteItem, out, junit, baseline string, tol reports.Tolerance, wall time.Duration) error {
	var entries []reports.IndexEntry
	var results []*reports.Result
	failed, regressions, skipped, stopped := 0, 0, 0, 0
	for i := range items {
		it := &items[i]
		if it.res == nil && it.err != nil && !errors.Is(it.err, context.Canceled) {
			return fmt.Errorf("%s: %w", it.name, it.err) // the simulator refused it
		}
		if it.res == nil {
			skipped++
			entries = append(entries, reports.IndexEntry{Dir: filepath.ToSlash(it.name), Regressions: -1})
			fmt.Fprintf(w, "  %-32s not run\n", it.name)
			continue
		}
		dir := filepath.Join(out, it.name)
		if err := reports.WriteAll(it.res, dir); err != nil {
			return err
		}
		e := reports.IndexEntry{Dir: filepath.ToSlash(it.name), Result: it.res, Regressions: -1}
		if baseline != "" {
			n, err := compareBaseline(filepath.Join(baseline, it.name, reports.FileResult), it.res, tol)
			if err != nil {
				return err
			}
			e.Regressions = n
			regressions += max(n, 0)
		}
		switch it.res.Status() {
		case reports.StatusIncomplete:
			stopped++
		case reports.StatusFail:
			failed++
		}
		entries = append(entries, e)
		results = append(results, it.res)
		fmt.Fprintf(w, "  %-32s %s\n", it.name, suiteStatus(it.res))
	}
	if err := writeFile(filepath.Join(out, "index.md"), func(w io.Writer) error { return reports.WriteIndexMarkdown(w, entries) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "index.html"), func(w io.Writer) error { return reports.WriteIndexHTML(w, entries) }); err != nil {
		return err
	}
	if junit != "" {
		if err := writeFile(junit, func(w io.Writer) error { return reports.WriteJUnit(w, results) }); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "suite: %d of %s run in %s, %d failed, %s; index: %s\n", len(results)-stopped, scenarios.Quantity(len(items), "scenario"),
		wall.Truncate(time.Millisecond), failed, scenarios.Quantity(regressions, "regression"), filepath.Join(out, "index.html"))
	switch {
	case skipped > 0 || stopped > 0:
		return fmt.Errorf("%w: %s stopped mid-run, %d did not run", errInterrupted, scenarios.Quantity(stopped, "scenario"), skipped)
	case failed > 0:
		return fmt.Errorf("%w: %s failed an objective, %s", errSLO, scenarios.Quantity(failed, "scenario"), scenarios.Quantity(regressions, "regression"))
	case regressions > 0:
		return fmt.Errorf("%w: %s worse than the baseline", errRegression, scenarios.Quantity(regressions, "measure"))
	}
	return nil
}

// suiteStatus is a scenario's line on the console.
func suiteStatus(res *reports.Result) string {
	switch res.Status() {
	case reports.StatusIncomplete:
		return fmt.Sprintf("incomplete (stopped at %s of %s)", reports.FormatTime(res.Reached()), reports.FormatLatency(res.DurationNS))
	case reports.StatusFail:
		return fmt.Sprintf("FAIL (%d of %d objectives)", res.Failures(), len(res.Verdicts))
	}
	return "pass"
}

// compareBaseline diffs a result with the one saved at path; -1 when the
// baseline has no such scenario.
func compareBaseline(path string, res *reports.Result, tol reports.Tolerance) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Printf("  (no baseline for %s at %s)\n", res.Scenario, path)
		return -1, nil
	}
	base, err := reports.ReadResult(path)
	if err != nil {
		return 0, err
	}
	changes, err := reports.Diff(base, res, tol)
	if err != nil {
		return 0, err
	}
	for _, c := range changes {
		if c.Regression {
			fmt.Printf("  regression in %s: %s [%s] %s -> %s\n", res.Scenario, c.Measure, c.Scope, c.Base, c.New)
		}
	}
	return reports.Regressions(changes), nil
}

func writeFile(path string, fn func(w io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
