package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stripelab/stripelab/components/process"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

func init() {
	realRun = func(ctx context.Context, f *scenarios.File, backend string, seed uint64, quiet bool) (*reports.Result, error) {
		host, ok := realBackends[backend]
		if !ok {
			return nil, fmt.Errorf("%w: backend %q is not available in this build; the real backends are %v", errUsage, backend, backendNames()[1:])
		}
		if err := runner.Unsupported(scenarios.NewPlan(f)); err != nil {
			return nil, fmt.Errorf("%w: %s: the %s backend cannot run this scenario:\n%v", errUsage, f.Path, backend, err)
		}
		var log io.Writer = os.Stderr
		if quiet {
			log = nil
		}
		h := host()
		if ph, ok := h.(*process.Host); ok && lockWait > 0 {
			ph.WaitLock(lockWait)
		}
		out, err := runner.Execute(ctx, scenarios.NewPlan(f), runner.Options{Host: h, Seed: seed, Log: log})
		if out == nil || out.Result == nil {
			if err == nil {
				err = errors.New("the real run measured nothing")
			}
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		return out.Result, nil
	}
}
