package analysis

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Runner simulates one plan with a seed. Each call must be a pure
// function of (plan, seed) for an analysis to be deterministic; calls are
// made from several goroutines at once.
type Runner func(ctx context.Context, p *scenarios.Plan, seed uint64) (*reports.Result, error)

// Options are shared by every analysis.
type Options struct {
	// Runner runs the simulations; required.
	Runner Runner
	// Parallel is how many simulations run at once; 0 means runtime.NumCPU().
	// Results do not depend on it.
	Parallel int
	// Seed is used for every run; 0 keeps the scenario's run.seed. Every
	// variant runs with the same seed, so that they differ only by what
	// the analysis changed.
	Seed uint64
	// Dir, when set, receives the report folder of each kept run (under
	// runs/); the analysis' own report is written by its Write method.
	Dir string
	// Log, when set, is called after each run with a one-line summary;
	// calls are serialized.
	Log func(line string)
}

// pool runs jobs on at most Parallel goroutines at a time. Several
// searches may submit batches at once; they share the slots.
type pool struct {
	run  Runner
	seed uint64
	sem  chan struct{}
	mu   sync.Mutex
	log  func(string)
	n    int
}

func newPool(o Options, f *scenarios.File) (*pool, error) {
	if o.Runner == nil {
		return nil, fmt.Errorf("analysis: no Runner")
	}
	n := o.Parallel
	if n <= 0 {
		n = runtime.NumCPU()
	}
	seed := o.Seed
	if seed == 0 {
		seed = f.Scenario.Run.Seed
	}
	return &pool{run: o.Runner, seed: seed, sem: make(chan struct{}, n), log: o.Log}, nil
}

// job is one simulation of a variant.
type job struct {
	file  *scenarios.File
	label string // for the log
}

// runAll runs jobs and returns their analysed results by index. On a
// failure it returns the error of the lowest failed index, after every
// started job has finished. When ctx is cancelled it returns what it has
// with ctx's error: the results of the runs that finished, those of the
// runs it stopped (marked incomplete), and nil for the runs not started.
func (p *pool) runAll(ctx context.Context, jobs []job) ([]*reports.Result, error) {
	out := make([]*reports.Result, len(jobs))
	errs := p.each(ctx, len(jobs), func(i int) (err error) {
		out[i], err = p.one(ctx, jobs[i])
		return err
	})
	for i, err := range errs {
		if err == nil {
			continue
		}
		if interrupted(ctx, err) {
			return out, fmt.Errorf("%s: %w", jobs[i].label, err)
		}
		return nil, fmt.Errorf("%s: %w", jobs[i].label, err)
	}
	return out, nil
}

// interrupted reports whether err comes from the caller's ctx being
// cancelled: an analysis then returns what it measured, marked incomplete.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

func (p *pool) one(ctx context.Context, j job) (*reports.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := p.run(ctx, scenarios.NewPlan(j.file), p.seed)
	if err != nil && !(res != nil && res.Incomplete && interrupted(ctx, err)) {
		return nil, err
	}
	reports.Analyze(res)
	if err != nil {
		return res, err // stopped: kept, marked incomplete
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.log != nil {
		m := res.Measures
		p.log(fmt.Sprintf("run %d: %s: availability %s, p99 %s", p.n, j.label,
			reports.FormatPercent(m.Availability), reports.FormatLatency(m.Latency.P99)))
	}
	return res, nil
}

// firstError picks the error to report from concurrent searches that
// cancel each other on failure: the first that is not such a
// cancellation (unless ctx itself, the caller's, was cancelled).
func firstError(ctx context.Context, errs []error) error {
	for _, err := range errs {
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.Canceled)) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeRuns writes the report folder of each result under dir/runs,
// in parallel on the pool's slots; nil results (runs an interrupt kept
// from starting) have none. It writes even when ctx is cancelled: an
// interrupted analysis keeps the runs it made.
func (p *pool) writeRuns(dir string, results []*reports.Result, names []string) error {
	if dir == "" {
		return nil
	}
	errs := p.each(context.Background(), len(results), func(i int) error {
		if results[i] == nil {
			return nil
		}
		return reports.WriteAll(results[i], filepath.Join(dir, filepath.FromSlash(names[i])))
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// each runs fn(0..n-1) on the pool's slots and returns their errors by
// index; a job not started before ctx is cancelled gets ctx's error.
func (p *pool) each(ctx context.Context, n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-p.sem }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errs
}
