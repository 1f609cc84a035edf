package realtest

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/reports/analysis"
)

// TestCalibrateEndToEnd calibrates a short scenario with a machine loss:
// the command runs it on the process backend and in the simulator and
// writes the side by side. The real stack and the simulator need not
// agree (exit 0 or 1); the report must be made of both runs.
func TestCalibrateEndToEnd(t *testing.T) {
	long(t)
	file := filepath.Join(t.TempDir(), "cal.yaml")
	text := small("rt-calibrate", registryFast, "rehome_delay: 2s",
		"  - {name: lose an api machine, at: 4s, for: 4s, kind: machine-down, target: machine=shenzhen/a/r1/m2}\n")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command(binary, "calibrate", file, "--out", out, "--quiet", "--wait", "10m")
	b, runErr := cmd.CombinedOutput()
	var ee *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("calibrate: %v\n%s", runErr, b)
	}
	var c analysis.Calibration
	raw, err := os.ReadFile(filepath.Join(out, analysis.FileCalibration))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c.RealBackend != "process" || len(c.Gaps) < 10 || len(c.Windows) == 0 {
		t.Fatalf("calibration: backend %q, %d gaps, %d windows", c.RealBackend, len(c.Gaps), len(c.Windows))
	}
	if (runErr == nil) != (c.Out == 0) {
		t.Fatalf("exit %v with %d measures out of tolerance", runErr, c.Out)
	}
	for dir, backend := range map[string]string{"sim": "sim", "real": "process"} {
		res, err := reports.ReadResult(filepath.Join(out, dir, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Backend != backend || res.Totals.Counts.Offered == 0 {
			t.Fatalf("%s: backend %q, %d offered", dir, res.Backend, res.Totals.Counts.Offered)
		}
	}
	// Both runs saw the machine loss: availability in the fault below 100%.
	for _, g := range c.Gaps {
		if g.Measure == "availability in fault" && (g.Sim >= 1 || g.Real >= 1) {
			t.Errorf("availability in the fault: sim %v, real %v; both should see the loss", g.Sim, g.Real)
		}
	}
	for _, f := range []string{analysis.FileHTML, analysis.FileMarkdown, "plots/availability.png", "plots/latency-p99.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%s", c.Reading)
}
