package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/reports/analysis"
)

// saveAsReal runs ci/smoke in the simulator and saves its result as if a
// process run had made it, with edit applied.
func saveAsReal(t *testing.T, edit func(r *reports.Result)) string {
	t.Helper()
	dir := t.TempDir()
	if code := cli(t, "run", "ci/smoke", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	res, err := reports.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	res.Backend = "process"
	edit(res)
	p := filepath.Join(dir, "real.json")
	b, _ := json.Marshal(res)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCalibrateAgainstASavedRealResult(t *testing.T) {
	simulationsOnly(t)
	same := saveAsReal(t, func(*reports.Result) {})
	out := t.TempDir()
	if code := cli(t, "calibrate", "ci/smoke", "--real", same, "--out", out, "--quiet"); code != 0 {
		t.Fatalf("identical runs: exit %d, want 0", code)
	}
	exist(t, out, analysis.FileCalibration, analysis.FileHTML, analysis.FileMarkdown, "sim/result.json", "real/result.json", "plots/availability.png")

	// The real run timed out 5% of the requests the simulator served.
	slow := saveAsReal(t, func(r *reports.Result) {
		c := &r.Totals.Counts
		n := c.Offered / 20
		c.Outcomes[reports.OK] -= n
		c.Outcomes[reports.Timeout] += n
	})
	out = t.TempDir()
	if code := cli(t, "calibrate", "ci/smoke", "--real", slow, "--out", out, "--quiet"); code != 1 {
		t.Fatalf("real run timing out 5 percent more: exit %d, want 1", code)
	}
	var c analysis.Calibration
	readJSON(t, filepath.Join(out, analysis.FileCalibration), &c)
	if c.Out == 0 || len(c.Untrusted) == 0 || c.Untrusted[0] != "availability" {
		t.Fatalf("untrusted %v, out %d", c.Untrusted, c.Out)
	}
	// A looser tolerance passes the same pair.
	if code := cli(t, "calibrate", "ci/smoke", "--real", slow, "--out", t.TempDir(), "--quiet", "--tolerance", "availability=6%,availability_in_fault=6%"); code != 0 {
		t.Fatalf("availability=6%%: exit %d, want 0", code)
	}
}

func TestCalibrateBadInputExits2(t *testing.T) {
	same := saveAsReal(t, func(*reports.Result) {})
	simOnly := saveAsReal(t, func(r *reports.Result) { r.Backend = "sim" })
	for _, args := range [][]string{
		{"calibrate"},
		{"calibrate", "ci/smoke", "--backend", "vm"},
		{"calibrate", "ci/smoke", "--tolerance", "latency=2"},
		{"calibrate", "ci/smoke", "--real", simOnly},
		{"calibrate", "ci/", "--real", same},
		{"calibrate", "no-such-scenario"},
	} {
		if code := cli(t, append(args, "--out", t.TempDir(), "--quiet")...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestCalibrateFitRecordsTheFields(t *testing.T) {
	simulationsOnly(t)
	same := saveAsReal(t, func(*reports.Result) {})
	out := t.TempDir()
	cli(t, "calibrate", "ci/smoke", "--real", same, "--fit", "--out", out, "--quiet")
	var c analysis.Calibration
	readJSON(t, filepath.Join(out, analysis.FileCalibration), &c)
	if len(c.Fit) != 2 {
		t.Fatalf("fit fields %v, want the latency and service-time lines", c.Fit)
	}
	// The real result is the unfitted simulation: the fitted one, paying
	// the host's hop on every message, is slower.
	var simRes, realRes reports.Result
	readJSON(t, filepath.Join(out, "sim", "result.json"), &simRes)
	readJSON(t, filepath.Join(out, "real", "result.json"), &realRes)
	if simRes.Totals.Latency.P50 <= realRes.Totals.Latency.P50 {
		t.Fatalf("fitted p50 %d, unfitted %d: the fit changed nothing", simRes.Totals.Latency.P50, realRes.Totals.Latency.P50)
	}
}
