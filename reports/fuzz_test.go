package reports

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadResult feeds arbitrary result.json files to ReadResult and every
// report of what it accepts: a result file is outside input (stripelab
// report RESULT.json), so no content may crash the reports.
func FuzzReadResult(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "result.json.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"version":2,"window_ns":1000000000,"duration_ns":5000000000}`))
	f.Add([]byte(`{"version":2,"window_ns":1000000000,"duration_ns":5000000000,"cities":["a"],"sets":[{"name":"s","city":0}],` +
		`"windows":[{"start_ns":0,"counts":{"offered":10,"outcomes":[5,5,0,0,0,0]},"by_city":[{"offered":10,"outcomes":[5,5,0,0,0,0]}],` +
		`"sets_failed":[{"set":0,"offered":10,"failed":5}],"hist":"bad"}],` +
		`"faults":[{"name":"f","start_ns":0,"end_ns":1000000000,"detected_ns":5,"rerouted_ns":-1,"failover_done_ns":-1}],` +
		`"slo":{"availability":"99%","latency":{"p99":"0s"},"rto":"1s","shed_order":true}}`))
	f.Add([]byte(strings.Replace(string(golden), `"window_ns": 1000000000`, `"window_ns": 7`, 1)))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "result.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := ReadResult(path)
		if err != nil {
			return
		}
		if len(res.Windows) > 20000 || res.DurationNS/res.WindowNS > 1e6 {
			return // plots of absurd sizes only cost time
		}
		Analyze(res)
		for _, w := range []func(io.Writer) error{
			func(w io.Writer) error { return WriteTimeseries(w, res) },
			func(w io.Writer) error { return WriteMarkdown(w, res, nil) },
			func(w io.Writer) error { return WriteJUnit(w, []*Result{res}) },
			func(w io.Writer) error { return WriteSummary(w, res, "", true) },
		} {
			if err := w(&bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		}
		figs, err := RenderPlots(res)
		if err != nil {
			return // gonum refuses some ranges; an error is fine, a panic is not
		}
		if err := WriteHTML(&bytes.Buffer{}, res, figs); err != nil {
			t.Fatal(err)
		}
	})
}

// TestWriteAllEmpty writes the reports of a run stopped before its first
// window ended: nothing was measured, and nothing may break.
func TestWriteAllEmpty(t *testing.T) {
	p := synthPlan(t)
	rec := NewRecorder(p, 3, "test", sec)
	res := rec.Finish(0, true)
	dir := t.TempDir()
	if err := WriteAll(res, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileMarkdown))
	if err != nil || !bytes.Contains(b, []byte("This run stopped at 0s of 2m0s")) {
		t.Errorf("report.md: %v\n%s", err, b)
	}
	// Objectives on no traffic are not evidence that they hold.
	for _, v := range res.Verdicts {
		if v.SLO != "lost_writes" && v.SLO != "rpo" && v.SLO != "shed_order" && (v.Pass || v.Measured != "n/a") {
			t.Errorf("verdict on no traffic: %s %s pass=%v", v.Name(), v.Measured, v.Pass)
		}
	}
}
