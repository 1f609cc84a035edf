package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/internal/browsertest"
	"github.com/stripelab/stripelab/reports"
)

// TestAZLossReportInBrowser runs the shipped AZ-loss scenario and opens
// its report.html from disk in headless Chromium: the verdict table, the
// plots and the failover table must render, with nothing fetched.
func TestAZLossReportInBrowser(t *testing.T) {
	if browsertest.Chromium() == "" {
		t.Skip("no Chromium binary (install Debian's chromium package); CI installs it")
	}
	dir := t.TempDir()
	if code := cli(t, "run", "az-loss", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("run az-loss: exit %d", code)
	}
	res, err := reports.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	reports.Analyze(res)
	page := browsertest.Open(t, filepath.Join(dir, "report.html"))
	page.CheckRendered(t)
	if len(page.Verdicts) != len(res.Verdicts) || len(page.Verdicts) == 0 {
		t.Fatalf("%d verdict rows, want %d", len(page.Verdicts), len(res.Verdicts))
	}
	for i, row := range page.Verdicts {
		if row.Class != "pass" {
			t.Errorf("verdict row %d is %q: %q", i, row.Class, row.Cells)
		}
	}
	if len(page.Images) < 6 || page.Failover != len(res.Faults) || page.Timeline == 0 {
		t.Errorf("%d images, %d failover rows, %d timeline rows", len(page.Images), page.Failover, page.Timeline)
	}
	if page.FaultLines > 3 || page.FaultsOverflow {
		t.Errorf("fault tables: cells of up to %d lines, overflowing the page: %v", page.FaultLines, page.FaultsOverflow)
	}
}

// TestInterruptKeepsPartialResult builds the binary, starts a long run,
// sends it SIGINT and checks that it stops with exit 1 and writes the
// result so far, marked incomplete.
func TestInterruptKeepsPartialResult(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stripelab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "run", "reference", "--out", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr: %s", err, stderr.String())
	}
	res, err := reports.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatalf("no partial result: %v", err)
	}
	if !res.Incomplete || len(res.Windows) == 0 || int64(len(res.Windows))*res.WindowNS >= res.DurationNS {
		t.Errorf("incomplete=%v with %d windows of a %ds run", res.Incomplete, len(res.Windows), res.DurationNS/1e9)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted: %s", stderr.String())
	}
}
