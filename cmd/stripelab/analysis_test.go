package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports/analysis"
)

// small is a fast scenario for the analysis commands: one city of two AZs
// with two machines each, 40s at 300 req/s.
const small = `
name: small
run: {duration: 40s, warmup: 5s}
topology:
  cities: [{name: c, azs: 2, racks: 1, machines: 2}]
stack:
  access: {rehome_delay: 3s}
  discovery: {mode: mesh}
  services: [{name: api, concurrency: 4, service_time: 5ms}]
  data: {mode: none}
workload: {rate: 300/s, users: {count: 3000}}
slo: {availability: 95%}
`

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func exist(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
}

func TestCompareCommand(t *testing.T) {
	simulationsOnly(t) // compare's own goroutines are raced by reports/analysis
	dir := t.TempDir()
	if code := cli(t, "compare", writeScenario(t, "small.yaml", small), "--granularity", "city, machine", "--out", dir, "--quiet", "--parallel", "2"); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	exist(t, dir, analysis.FileCompare, analysis.FileHTML, analysis.FileMarkdown, "plots/blast-users.png", "plots/blast-users.svg",
		"runs/city/az-down/report.html", "runs/machine/machine-down/result.json")
	var c analysis.Comparison
	readJSON(t, filepath.Join(dir, analysis.FileCompare), &c)
	if len(c.Layouts) != 2 || c.Layouts[0].Granularity != "city" || c.Layouts[1].Granularity != "machine" || len(c.Suite) != 3 || c.Reading == "" {
		t.Errorf("comparison: %d layouts, %d suite faults, reading %q", len(c.Layouts), len(c.Suite), c.Reading)
	}
}

func TestCapacityCommand(t *testing.T) {
	dir := t.TempDir()
	if code := cli(t, "capacity", writeScenario(t, "small.yaml", small), "--lose", "az", "--measure", "20s", "--precision", "5%", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	exist(t, dir, analysis.FileCapacity, analysis.FileHTML, analysis.FileMarkdown, "plots/capacity-latency.png", "plots/capacity-availability.svg")
	var c analysis.Capacity
	readJSON(t, filepath.Join(dir, analysis.FileCapacity), &c)
	if c.Steady.Held <= 300 || c.N1 == nil || c.N1.Held <= 0 || c.N1.Held >= c.Steady.Held || c.Setup.MeasureNS != 20e9 || c.Precision != 0.05 {
		t.Errorf("capacity: steady %+v, N-1 %+v, setup %+v, precision %v", c.Steady, c.N1, c.Setup, c.Precision)
	}
}

func TestFailoverCommand(t *testing.T) {
	dir := t.TempDir()
	if code := cli(t, "failover", writeScenario(t, "small.yaml", small), "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	exist(t, dir, analysis.FileFailover, analysis.FileHTML, analysis.FileMarkdown, "plots/availability.png", "runs/az-c-a/report.html", "runs/az-c-b/report.md")
	var fs analysis.FailoverSweep
	readJSON(t, filepath.Join(dir, analysis.FileFailover), &fs)
	if len(fs.Rows) != 2 || fs.Lose != "az" || fs.Rows[0].Place != "c/a" {
		t.Errorf("failover: %+v", fs)
	}
}

func TestAnalysisBadInputExits2(t *testing.T) {
	f := writeScenario(t, "small.yaml", small)
	oneAZ := writeScenario(t, "one.yaml", "topology: {cities: [{name: c, azs: 1}]}\nstack: {services: [{name: a}]}\n")
	out := t.TempDir()
	for _, c := range [][]string{
		{"compare"},
		{"compare", f, "--granularity", "city,galaxy"},
		{"compare", f, "--granularity", ","},
		{"compare", f, "--parallel", "0"},
		{"compare", "no-such-file.yaml"},
		{"capacity", f, "--lose", "moon"},
		{"capacity", f, "--precision", "5"},
		{"capacity", f, "--measure", "0s"},
		{"capacity", f, "a.yaml"},
		{"failover", f, "--lose", "rack"},
		{"failover", oneAZ},
	} {
		if code := cli(t, append(c, "--out", out, "--quiet")...); code != 2 {
			t.Errorf("%q: exit %d, want 2", c, code)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("bad input wrote %d files into the output folder", len(entries))
	}
}

// recorder is a progress that remembers what it was told.
type recorder struct {
	mu    sync.Mutex
	tasks map[string]*recTask
	lines []string
}

type recTask struct {
	total, last time.Duration
	done        bool
}

func (r *recorder) task(name string, total time.Duration) task {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := &recTask{total: total}
	r.tasks[name] = t
	return recTaskOf{r, t}
}
func (r *recorder) log(line string) { r.mu.Lock(); r.lines = append(r.lines, line); r.mu.Unlock() }
func (r *recorder) wait()           {}

type recTaskOf struct {
	r *recorder
	t *recTask
}

func (t recTaskOf) update(now time.Duration) { t.r.mu.Lock(); t.t.last = now; t.r.mu.Unlock() }
func (t recTaskOf) done(aborted bool)        { t.r.mu.Lock(); t.t.done = !aborted; t.r.mu.Unlock() }

// TestAnalysisProgress checks that an analysis shows the progress of each
// of its simulations, as run does, and one line per finished run.
func TestAnalysisProgress(t *testing.T) {
	f, err := loadScenario(writeScenario(t, "small.yaml", small))
	if err != nil {
		t.Fatal(err)
	}
	pr := &recorder{tasks: map[string]*recTask{}}
	o := analysis.Options{Runner: simRunner(pr), Parallel: 2, Log: pr.log}
	if _, err := analysis.Failover(context.Background(), f, analysis.FailoverOptions{Options: o}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"small [lose az c/a]", "small [lose az c/b]"} {
		tk := pr.tasks[name]
		if tk == nil || tk.total != 40*time.Second || tk.last != tk.total || !tk.done {
			t.Errorf("progress of %q: %+v (tasks %v)", name, tk, pr.tasks)
		}
	}
	if len(pr.tasks) != 2 || len(pr.lines) != 2 {
		t.Errorf("%d tasks, %d lines: %q", len(pr.tasks), len(pr.lines), pr.lines)
	}
}
