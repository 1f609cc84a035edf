// Package realtest runs scenarios end to end on the real stack: the
// stripelab binary built once, the process backend, real kills and real
// toxics, and checks what the scenarios say they show. Each test also
// checks that no process of its run is left.
package realtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/process"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stripelab-realtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "stripelab")
	build := exec.Command("go", "build", "-o", binary, "github.com/stripelab/stripelab/cmd/stripelab")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build stripelab:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// long skips a test of several seconds of real traffic under -short
// (the race run); make test runs it.
func long(t *testing.T) {
	if testing.Short() {
		t.Skip("real traffic for several seconds: make test runs it, -short skips it")
	}
}

// plan parses a scenario text.
func plan(t *testing.T, name, text string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse(name+".yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// library loads a shipped scenario.
func library(t *testing.T, name string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// execute runs p on the process backend and checks, whatever happened,
// that no process of the run is left and its folder is gone.
func execute(t *testing.T, p *scenarios.Plan) *runner.Outcome {
	t.Helper()
	h := process.New().WaitLock(10 * time.Minute)
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), p.Scenario.Run.Duration.Std()+3*time.Minute)
	defer cancel()
	out, err := runner.Execute(ctx, p, runner.Options{Host: h, Binary: binary, Log: &log})
	t.Logf("run log:\n%s", log.String())
	if out != nil {
		checkNothingLeft(t, out.RunID, h.Dir())
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, e := range out.Ledger {
		if e.Action == "revert" && !e.Verified {
			t.Errorf("revert of %s not verified: %s", e.Name, e.Err)
		}
	}
	return out
}

func checkNothingLeft(t *testing.T, run, dir string) {
	t.Helper()
	if left := process.RunPids(run); len(left) > 0 {
		t.Errorf("processes of run %s left: %v", run, left)
	}
	if dir != "" {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("run folder %s left (%v)", dir, err)
		}
	}
}

// window sums the counts of the windows in [from, to).
func window(res *reports.Result, from, to time.Duration) reports.Counts {
	var c reports.Counts
	for _, w := range res.Windows {
		if w.Start >= int64(from) && w.Start < int64(to) {
			c.Add(&w.Counts)
		}
	}
	return c
}
