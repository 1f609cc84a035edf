package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// simulationsOnly skips, under -short (the race run), a test that only
// runs whole simulations one after the other for tens of seconds there:
// the simulator starts no goroutine (sim/lint_test.go), the suite test
// with --parallel keeps the command's concurrent path under the race
// detector and reports/analysis its own. make test runs it.
func simulationsOnly(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("whole simulations one after the other: make test runs it, -short skips it")
	}
}

// cli runs the command line in-process, its standard output discarded,
// and returns its exit code.
func cli(t *testing.T, args ...string) int {
	t.Helper()
	stdout := os.Stdout
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = devnull
	defer func() { os.Stdout = stdout; devnull.Close() }()
	return exitCode(run(args))
}

func writeScenario(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunWritesEveryReport(t *testing.T) {
	dir := t.TempDir()
	if code := cli(t, "run", "ci/smoke", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("exit %d, want 0 (every objective of ci/smoke holds)", code)
	}
	for _, f := range []string{"result.json", "timeseries.csv", "report.html", "report.md", "junit.xml", "plots/latency.png", "plots/latency.svg", "plots/availability.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	res, err := reports.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Backend != "sim" || res.Seed != 1 || res.Totals.Counts.Offered == 0 {
		t.Errorf("result: backend %q, seed %d, %d requests", res.Backend, res.Seed, res.Totals.Counts.Offered)
	}
}

func TestRunSeedFlag(t *testing.T) {
	dir := t.TempDir()
	if code := cli(t, "run", "ci/smoke", "--seed", "77", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	res, err := reports.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Seed != 77 {
		t.Errorf("seed %d written, want 77", res.Seed)
	}
}

// failing has an availability objective no AZ loss can meet.
const failing = `
name: cannot-hold
run: {duration: 40s, warmup: 5s}
topology:
  cities: [{name: c, azs: 2, racks: 1, machines: 2}]
stack:
  access: {rehome_delay: 10s}
  services: [{name: api}]
  data: {mode: none}
workload: {rate: 500/s}
faults:
  - {at: 15s, for: 15s, kind: az-down, target: az=c/a}
slo:
  availability: 99.99%
`

func TestRunFailingObjectiveExits1AndNamesTheWindow(t *testing.T) {
	dir := t.TempDir()
	if code := cli(t, "run", writeScenario(t, "f.yaml", failing), "--out", dir, "--quiet"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	res, err := reports.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	reports.Analyze(res)
	v := res.Verdicts[0]
	if v.Pass || v.WindowStart < 15e9 || v.WindowStart >= 30e9 {
		t.Errorf("verdict %+v: want a failure in a window inside the fault (15s-30s)", v)
	}
}

func TestBadInputExits2(t *testing.T) {
	bad := writeScenario(t, "bad.yaml", "topology:\n  cities: [{name: c, azs: two}]\nstack: {services: [{name: a}]}\n")
	junk := writeScenario(t, "junk.json", "{not json")
	cases := [][]string{
		{"nosuch"},
		{"run", bad},
		{"run", "does-not-exist.yaml"},
		{"run", "ci/smoke", "--frobnicate"},
		{"run", "ci/smoke", "--backend", "nosuch"},
		{"run", "ci/smoke", "--keep"},
		{"run", "a.yaml", "b.yaml"},
		{"validate", bad},
		{"plan"},
		{"report", junk},
		{"diff", junk},
		{"suite", "no/such/dir"},
		{"suite", "ci", "--parallel", "0"},
		{"diff", junk, junk, "--tolerance", "speed=3"},
	}
	for _, c := range cases {
		if code := cli(t, c...); code != 2 {
			t.Errorf("%q: exit %d, want 2", c, code)
		}
	}
}

func TestValidateLibrary(t *testing.T) {
	var args []string
	for _, n := range scenarios.LibraryNames() {
		args = append(args, filepath.Join("..", "..", "scenarios", "library", n+".yaml"))
	}
	if code := cli(t, append([]string{"validate"}, args...)...); code != 0 {
		t.Fatalf("validate of the library: exit %d", code)
	}
	if code := cli(t, "plan", args[0]); code != 0 {
		t.Fatalf("plan: exit %d", code)
	}
}

func TestSuiteWritesJUnitAndIndex(t *testing.T) {
	out := t.TempDir()
	junitFile := filepath.Join(out, "junit.xml")
	if code := cli(t, "suite", "ci", "--out", out, "--junit", junitFile, "--quiet", "--parallel", "2"); code != 0 {
		t.Fatalf("suite ci: exit %d, want 0", code)
	}
	suites, err := junit.IngestFile(junitFile)
	if err != nil {
		t.Fatalf("a JUnit parser rejects %s: %v", junitFile, err)
	}
	names := 0
	for _, n := range scenarios.LibraryNames() {
		if strings.HasPrefix(n, "ci/") {
			names++
		}
	}
	if len(suites) != names {
		t.Errorf("%d test suites, want one per CI scenario (%d)", len(suites), names)
	}
	for _, s := range suites {
		if len(s.Tests) == 0 || s.Totals.Failed != 0 {
			t.Errorf("suite %s: %d tests, %d failed", s.Name, len(s.Tests), s.Totals.Failed)
		}
	}
	for _, f := range []string{"index.html", "index.md", "smoke/report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// results do not depend on the number of workers
	out1 := t.TempDir()
	if code := cli(t, "suite", "ci", "--out", out1, "--quiet", "--parallel", "1"); code != 0 {
		t.Fatalf("suite ci --parallel 1: exit %d", code)
	}
	a, _ := os.ReadFile(filepath.Join(out, "smoke", "result.json"))
	b, _ := os.ReadFile(filepath.Join(out1, "smoke", "result.json"))
	if string(a) != string(b) || len(a) == 0 {
		t.Error("result.json differs between --parallel 2 and 1")
	}
}

func TestSuiteFailureInJUnit(t *testing.T) {
	out := t.TempDir()
	junitFile := filepath.Join(out, "junit.xml")
	if code := cli(t, "suite", writeScenario(t, "f.yaml", failing), "--out", out, "--junit", junitFile, "--quiet"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	suites, err := junit.IngestFile(junitFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(suites) != 1 || suites[0].Totals.Failed == 0 {
		t.Fatalf("want one suite with a failure, got %+v", suites)
	}
	for _, tc := range suites[0].Tests {
		if tc.Status == junit.StatusFailed && !strings.Contains(tc.Error.Error(), "measured") {
			t.Errorf("failure message %q does not give the measured value", tc.Error.Error())
		}
	}
}

// better re-homes in 2s; worse in 20s: a design change that makes failover worse.
func rehome(delay string) string {
	return strings.Replace(failing, "rehome_delay: 10s", "rehome_delay: "+delay, 1)
}

func TestDiffFlagsWorseAndPassesEqual(t *testing.T) {
	simulationsOnly(t)
	base, same, worse := t.TempDir(), t.TempDir(), t.TempDir()
	cli(t, "run", writeScenario(t, "a.yaml", rehome("2s")), "--out", base, "--quiet")
	cli(t, "run", writeScenario(t, "b.yaml", rehome("2s")), "--out", same, "--quiet")
	cli(t, "run", writeScenario(t, "c.yaml", rehome("20s")), "--out", worse, "--quiet")
	if code := cli(t, "diff", base, same); code != 0 {
		t.Errorf("diff of equal results: exit %d, want 0", code)
	}
	if code := cli(t, "diff", base, worse); code != 1 {
		t.Errorf("diff against a worse failover: exit %d, want 1", code)
	}
	// the faster failover serves retried requests late, so its p99 rises:
	// with availability and RTO judged strictly and latency left free, it passes
	if code := cli(t, "diff", worse, base, "--tolerance", "latency=100000%"); code != 0 {
		t.Errorf("diff of a better failover: exit %d, want 0", code)
	}
	// a suite folder against itself as baseline: no regression
	out := t.TempDir()
	cli(t, "suite", "ci/smoke", "--out", out, "--quiet")
	if code := cli(t, "suite", "ci/smoke", "--out", t.TempDir(), "--baseline", out, "--quiet"); code != 0 {
		t.Errorf("suite against its own baseline: exit %d, want 0", code)
	}
}

func TestReportRerenders(t *testing.T) {
	dir, again := t.TempDir(), t.TempDir()
	cli(t, "run", "ci/smoke", "--out", dir, "--quiet")
	if code := cli(t, "report", filepath.Join(dir, "result.json"), "--out", again); code != 0 {
		t.Fatalf("report: exit %d", code)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	b, _ := os.ReadFile(filepath.Join(again, "report.md"))
	if string(a) != string(b) || len(a) == 0 {
		t.Error("re-rendered report.md differs from the original")
	}
}

func TestSchemaCommandPrintsJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(scenarios.SchemaJSON, &v); err != nil || v["$schema"] == nil {
		t.Fatalf("embedded schema is not a JSON Schema: %v", err)
	}
	if code := cli(t, "schema"); code != 0 {
		t.Fatalf("schema: exit %d", code)
	}
}

// stopAt is a progress that cancels its context once a task reaches
// simulated time at, so that a test can interrupt a run at a known point.
type stopAt struct {
	at     time.Duration
	cancel context.CancelFunc
}

func (s stopAt) task(string, time.Duration) task { return stopTask(s) }
func (stopAt) log(string)                        {}
func (stopAt) wait()                             {}

type stopTask stopAt

func (s stopTask) update(now time.Duration) {
	if now >= s.at {
		s.cancel()
	}
}
func (stopTask) done(bool) {}

// TestSuiteInterruptedIsNotAPass stops a suite of two scenarios during
// the first: the console must list it as incomplete and the second as
// not run, and the suite must exit 1.
func TestSuiteInterruptedIsNotAPass(t *testing.T) {
	items, err := collect([]string{"ci/smoke", "ci/az-failover"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runAll(ctx, items, 1, 0, stopAt{at: 5 * time.Second, cancel: cancel})
	var out strings.Builder
	err = finishSuite(&out, items, t.TempDir(), "", "", reports.DefaultTolerance, time.Second)
	if exitCode(err) != 1 {
		t.Errorf("exit %d, want 1", exitCode(err))
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "smoke") || !strings.Contains(lines[0], "incomplete (stopped at 5s of") ||
		!strings.Contains(lines[1], "az-failover") || !strings.HasSuffix(lines[1], "not run") || strings.Contains(out.String(), "pass") {
		t.Errorf("console:\n%s", out.String())
	}
}

// TestSuiteLayoutByNameAndByFolder runs the CI suite once by its shipped
// name and once by its folder: both must write the same folders, so that
// diff pairs every scenario.
func TestSuiteLayoutByNameAndByFolder(t *testing.T) {
	simulationsOnly(t)
	byName, byDir := t.TempDir(), t.TempDir()
	if code := cli(t, "suite", "ci", "--out", byName, "--quiet"); code != 0 {
		t.Fatalf("suite ci: exit %d", code)
	}
	if code := cli(t, "suite", filepath.Join("..", "..", "scenarios", "library", "ci"), "--out", byDir, "--quiet"); code != 0 {
		t.Fatalf("suite scenarios/library/ci: exit %d", code)
	}
	list := func(root string) []string {
		var out []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == reports.FileResult {
				rel, _ := filepath.Rel(root, p)
				out = append(out, rel)
			}
			return err
		})
		return out
	}
	a, b := list(byName), list(byDir)
	if strings.Join(a, " ") != strings.Join(b, " ") || len(a) < 2 {
		t.Fatalf("layouts differ:\n by name:   %v\n by folder: %v", a, b)
	}
	pairs, err := diffPairs(byName, byDir)
	if err != nil || len(pairs) != len(a) {
		t.Errorf("diff pairs %d of %d scenarios: %v", len(pairs), len(a), err)
	}
}

// TestValidateAndPlanTakeShippedNames checks that every command that reads
// a scenario takes the name of a shipped one.
func TestValidateAndPlanTakeShippedNames(t *testing.T) {
	if code := cli(t, "validate", "az-loss", "ci/smoke"); code != 0 {
		t.Errorf("validate az-loss ci/smoke: exit %d", code)
	}
	if code := cli(t, "plan", "az-loss"); code != 0 {
		t.Errorf("plan az-loss: exit %d", code)
	}
	if code := cli(t, "validate", "no-such-scenario"); code != 2 {
		t.Errorf("validate of an unknown name: exit %d, want 2", code)
	}
}

// cliOut runs the command line in-process and returns its exit code,
// standard output and standard error (the messages exitCode prints).
func cliOut(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	files := [2]*os.File{}
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = files[0], files[1]
	code := exitCode(run(args))
	os.Stdout, os.Stderr = stdout, stderr
	var out [2]string
	for i, f := range files {
		f.Close()
		b, _ := os.ReadFile(f.Name())
		out[i] = string(b)
	}
	return code, out[0], out[1]
}

func TestHelp(t *testing.T) {
	if code, _, errOut := cliOut(t); code != 2 || !strings.Contains(errOut, "usage: stripelab COMMAND") {
		t.Errorf("bare stripelab: exit %d, stderr %q; want the usage and exit 2", code, errOut)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		if code, out, _ := cliOut(t, args...); code != 0 || !strings.Contains(out, "commands:") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}} {
			code, out, _ := cliOut(t, args...)
			want := "usage: stripelab " + strings.TrimSpace(c.name+" "+c.args) + "\n\n" + upperFirst(c.summary) + "."
			if code != 0 || !strings.HasPrefix(out, want) {
				t.Errorf("%q: exit %d, stdout %q; want it to start with %q", args, code, out, want)
			}
		}
	}
	if _, out, _ := cliOut(t, "run", "--help"); !strings.Contains(out, "-seed") || !strings.Contains(out, "-verbose") {
		t.Errorf("run --help lacks its flags:\n%s", out)
	}
	code, out, errOut := cliOut(t, "frobnicate")
	if lines := strings.Split(strings.TrimSpace(errOut), "\n"); code != 2 || out != "" || len(lines) != 1 || !strings.Contains(lines[0], `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stdout %q, stderr %q; want one line saying so", code, out, errOut)
	}
}

// TestQuietOutputs checks what a new user reads: diff with nothing worse
// prints no bare table header, run keeps the simulator's event counts
// for --verbose, and counts of one are singular.
func TestQuietOutputs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	code, out, _ := cliOut(t, "run", "ci/smoke", "--out", a, "--quiet")
	if code != 0 || strings.Contains(out, "model events") || !strings.Contains(out, "simulated 30s in ") {
		t.Errorf("run: exit %d, stdout:\n%s", code, out)
	}
	if _, out, _ := cliOut(t, "run", "ci/smoke", "--out", b, "--quiet", "--verbose"); !strings.Contains(out, "model events") {
		t.Errorf("run --verbose lacks the event counts:\n%s", out)
	}
	code, out, _ = cliOut(t, "diff", a, b)
	if code != 0 || strings.Contains(out, "SCENARIO") || !strings.Contains(out, "no measure changed beyond the tolerance\n1 scenario compared, 0 regressions") {
		t.Errorf("diff of equal results: exit %d, stdout:\n%s", code, out)
	}
	if _, out, _ := cliOut(t, "validate", writeScenario(t, "one.yaml", failing)); strings.Contains(out, "1 faults") || !strings.Contains(out, "1 city, 4 machines, 2 sets (az), 12 instances, 0 shards, 1 fault") {
		t.Errorf("validate summary: %s", out)
	}
}

// TestOverloadBeyondBudget checks that a factor that would put millions of
// requests in flight is an error at the field for validate and run, not a
// run out of memory.
func TestOverloadBeyondBudget(t *testing.T) {
	f := writeScenario(t, "flood.yaml", strings.Replace(failing, "faults:\n", "faults:\n  - {at: 10s, for: 5s, kind: overload, factor: 20000}\n", 1))
	for _, args := range [][]string{{"validate", f}, {"run", f, "--out", t.TempDir()}} {
		code, _, errOut := cliOut(t, args...)
		if code != 2 || !strings.Contains(errOut, "flood.yaml:12:48: ") || !strings.Contains(errOut, "faults[0].factor: the offered rate reaches 10M/s") {
			t.Errorf("%s: exit %d, stderr %q", args[0], code, errOut)
		}
	}
}
