// Command stripelab is the one binary of stripelab: it validates and plans
// scenarios, runs them in the simulator, and renders and compares reports.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitFailed  = 1 // an SLO failed or a regression was found
	exitBadUser = 2 // bad usage or bad input (a scenario the simulator cannot hold included)
)

// errUsage marks a usage error (exit 2).
var errUsage = errors.New("usage")

// errSLO marks a run whose objectives failed (exit 1).
var errSLO = errors.New("an objective failed")

// errInterrupted marks a run or analysis stopped by Ctrl-C or SIGTERM
// (exit 1: it proves nothing).
var errInterrupted = errors.New("interrupted")

// errRegression marks a comparison that found a result worse than its
// baseline (exit 1).
var errRegression = errors.New("regression")

func main() {
	err := run(os.Args[1:])
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errSLO), errors.Is(err, errRegression), errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, err)
		return exitFailed
	case errors.Is(err, errUsage), errors.Is(err, scenarios.ErrInvalid), errors.Is(err, reports.ErrBadResult), errors.Is(err, sim.ErrBudget):
		fmt.Fprintln(os.Stderr, err)
		return exitBadUser
	default:
		fmt.Fprintln(os.Stderr, "stripelab:", err)
		return exitFailed
	}
}
