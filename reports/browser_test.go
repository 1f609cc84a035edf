package reports

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/internal/browsertest"
)

// TestReportInBrowser opens report.html from disk in headless Chromium and
// checks that the verdict table and every plot rendered, with no request
// leaving the file.
func TestReportInBrowser(t *testing.T) {
	if browsertest.Chromium() == "" {
		t.Skip("no Chromium binary (install Debian's chromium package, or set STRIPELAB_CHROMIUM); CI installs it")
	}
	res := synthResult(t)
	dir := t.TempDir()
	if err := WriteAll(res, dir); err != nil {
		t.Fatal(err)
	}
	got := browsertest.Open(t, filepath.Join(dir, FileHTML))
	got.CheckRendered(t)

	if !strings.HasPrefix(got.Title, "synthetic: FAIL") || got.Status != "FAIL" {
		t.Errorf("title %q, status %q", got.Title, got.Status)
	}
	if len(got.Verdicts) != len(res.Verdicts) {
		t.Fatalf("%d verdict rows, want %d", len(got.Verdicts), len(res.Verdicts))
	}
	for i, row := range got.Verdicts {
		v := res.Verdicts[i]
		want := map[bool]string{true: "pass", false: "fail"}[v.Pass]
		if row.Class != want || len(row.Cells) != 6 || row.Cells[1] != v.SLO || row.Cells[2] != v.Scope || row.Cells[4] != v.Measured {
			t.Errorf("verdict row %d = %q %q; want %s %s [%s] %s", i, row.Class, row.Cells, want, v.SLO, v.Scope, v.Measured)
		}
	}
	if len(got.Images) < 6 {
		t.Errorf("%d images, want the 6 plots", len(got.Images))
	}
	if got.Timeline < 6 || got.Failover != len(res.Faults) {
		t.Errorf("timeline rows %d, failover rows %d", got.Timeline, got.Failover)
	}
	// A figure and at most two detail lines per cell, on the page's width.
	if got.FaultLines > 3 || got.FaultLines == 0 || got.FaultsOverflow {
		t.Errorf("fault tables: cells of up to %d lines, overflowing the page: %v", got.FaultLines, got.FaultsOverflow)
	}
}
