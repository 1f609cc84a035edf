package web

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
)

// heatResult is a run of 10 one-second windows over two sets with a
// fault from 4s to 6s; set b fails half its requests in window 5.
func heatResult() *reports.Result {
	res := &reports.Result{WindowNS: 1e9, DurationNS: 10e9, WarmupNS: 2e9,
		Sets:   []reports.SetInfo{{Name: "a"}, {Name: "b"}},
		Faults: []reports.FaultInfo{{Name: "f", Start: 4e9, End: 6e9}}}
	for i := 0; i < 10; i++ {
		res.Windows = append(res.Windows, reports.Window{Start: int64(i) * 1e9})
	}
	res.Windows[5].SetsFailed = []reports.SetCount{{Set: 1, Offered: 100, Failed: 50}}
	res.Windows[4].SetsFailed = []reports.SetCount{{Set: 1, Offered: 100, Failed: 1}, {Set: 0, Offered: 100, Failed: 5}}
	res.Measures = &reports.Measures{BySet: []float64{0.99, 0.95}}
	return res
}

func TestHeatmapCellsAndBands(t *testing.T) {
	h := newHeatmap(heatResult(), 120)
	if len(h.Cols) != 10 || len(h.Rows) != 2 {
		t.Fatalf("%d columns, %d rows", len(h.Cols), len(h.Rows))
	}
	for c, col := range h.Cols {
		want := ""
		switch {
		case c < 2:
			want = "warmup"
		case c == 4 || c == 5:
			want = "fault"
		}
		if col.Class != want {
			t.Errorf("column %d is %q, want %q", c, col.Class, want)
		}
	}
	b := h.Rows[1]
	if b.Cells[5].Class != "h4" || b.Cells[4].Class != "h2" || b.Cells[3].Class != "h0" || h.Rows[0].Cells[4].Class != "h3" {
		t.Errorf("cells: b[3..5] %v %v %v, a[4] %v", b.Cells[3], b.Cells[4], b.Cells[5], h.Rows[0].Cells[4])
	}
	if b.Availability != "95.00%" {
		t.Errorf("set b availability %q", b.Availability)
	}
	// With at most 4 columns, windows merge 3 by 3 and a cell keeps the
	// worst of its windows.
	m := newHeatmap(heatResult(), 4)
	if len(m.Cols) != 4 || m.Rows[1].Cells[1].Class != "h4" || m.Rows[1].Cells[0].Class != "h0" || m.Span != "3s" {
		t.Errorf("merged: %d columns, span %s, b %v", len(m.Cols), m.Span, m.Rows[1].Cells)
	}
}

func TestScenarioLinesMarkObjectivesAndFaults(t *testing.T) {
	text := "name: x\nfaults:\n  - kind: az-down\n    at: 1m\nslo:\n  availability: 99%\n  latency: {p99: 1s}\nworkload:\n  rate: 1/s\n"
	got := scenarioLines(text)
	want := []string{"", "fault", "fault", "fault", "objective", "objective", "objective", "", ""}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i, l := range got {
		if l.Class != want[i] || l.N != i+1 {
			t.Errorf("line %d %q: class %q, want %q", l.N, l.Text, l.Class, want[i])
		}
	}
	if bad := scenarioLines("a: [\n"); len(bad) != 1 || bad[0].Class != "" {
		t.Errorf("broken YAML: %+v", bad)
	}
}

// TestVendoredChecksums checks that the vendored dygraphs files are the
// ones VERSION records, and that their licence is shipped with them.
func TestVendoredChecksums(t *testing.T) {
	const dir = "static/vendor/dygraphs"
	v, err := fs.ReadFile(staticFS, dir+"/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(v), "dygraphs 2.2.1") {
		t.Error("VERSION does not name the version")
	}
	lic, err := fs.ReadFile(staticFS, dir+"/LICENSE.txt")
	if err != nil || !strings.Contains(string(lic), "Permission is hereby granted") {
		t.Errorf("the MIT licence is not shipped: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(v)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 || len(fields[0]) != 64 {
			continue
		}
		b, err := fs.ReadFile(staticFS, dir+"/"+fields[1])
		if err != nil {
			t.Errorf("%s: %v", fields[1], err)
			continue
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != fields[0] {
			t.Errorf("%s does not match its checksum in VERSION", fields[1])
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d checksums checked, want 3", n)
	}
}
