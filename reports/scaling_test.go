package reports

import (
	"bytes"
	"strings"
	"testing"
)

// withScaling adds a scaling record to the synthetic result: api grows
// from 8 to 12 instances at 40s (ready at 60s, seen at 62s) and a set is
// added with 1,000 of 3,000 users and their keys moved over 10s.
func withScaling(t *testing.T) *Result {
	res := synthResult(t)
	n := len(res.Windows)
	c := ScaledComponent{Name: "api", Initial: 8, InstanceNS: 8*res.DurationNS + 4*(res.DurationNS-40e9), StaticNS: 8 * res.DurationNS, Peak: 12}
	for i := 0; i < n; i++ {
		ready, prov := int32(8), int32(8)
		if end := res.Windows[i].Start + res.WindowNS; end > 40e9 {
			prov = 12
		}
		if end := res.Windows[i].Start + res.WindowNS; end > 60e9 {
			ready = 12
		}
		c.Ready, c.Provisioned = append(c.Ready, ready), append(c.Provisioned, prov)
	}
	res.Scaling = &Scaling{Components: []ScaledComponent{c},
		Decisions: []ScaleDecision{{T: 30e9, Component: "api", Ready: 8, Utilization: 0.4, Current: 8, Recommended: 8, Desired: 8},
			{T: 40e9, Component: "api", Ready: 8, Utilization: 0.9, Current: 8, Recommended: 12, Desired: 12}},
		Sets: []SetAdded{{Set: "x/c", Added: 50e9, Ready: 70e9, Routed: 80e9, Users: 3000, Moved: 1000, Keys: 1000, CopyStart: 80e9, CopyEnd: 90e9, Forwarded: 321}},
	}
	for k := 0; k < 4; k++ {
		res.Scaling.Starts = append(res.Scaling.Starts, ScaleStart{Component: "api", Cause: "autoscaler", Decided: 40e9, Ready: 60e9, Seen: 62e9})
	}
	Analyze(res)
	return res
}

func TestScalingReport(t *testing.T) {
	res := withScaling(t)
	rows := scalingRows(res)
	if len(rows) != 1 {
		t.Fatalf("%d scaling rows", len(rows))
	}
	r := rows[0]
	if r.Start != "8" || r.Peak != "12" || r.End != "12" || r.Started != "4" || r.ToReady != FormatLatency(20e9) || r.ToSeen != FormatLatency(2e9) {
		t.Errorf("row %+v", r)
	}
	if all, changed := scalingDecisions(res); all != 2 || changed != 1 {
		t.Errorf("decisions %d, changed %d; want 2 and 1", all, changed)
	}
	sets := setAddedRows(res)
	if len(sets) != 1 || sets[0].Moved != "1,000 (33.33%)" || sets[0].Keys != "1,000" || sets[0].Copy != FormatLatency(10e9) || sets[0].Forwarded != "321" {
		t.Errorf("sets added %+v", sets)
	}
	var md bytes.Buffer
	figs, err := RenderPlots(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, res, figs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Scaling", "| api | 8 | 12 | 12 | 4 |", "### Sets added", "| x/c |", "2 autoscaler decisions, 1 changed a count."} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	found := false
	for _, f := range figs {
		if f.Name == "instances" {
			found = true
			if !bytes.Contains(f.SVG, []byte("api ready")) || !bytes.Contains(f.SVG, []byte("starting")) {
				t.Errorf("instances plot lacks its legend or the starting band")
			}
		}
	}
	if !found {
		t.Error("no instances plot for a run that scaled")
	}
	var csvOut bytes.Buffer
	if err := WriteTimeseries(&csvOut, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(csvOut.String(), "\n")
	if !strings.HasSuffix(lines[0], ",faults_active,ready_api,provisioned_api") || !strings.HasSuffix(lines[len(lines)-2], ",12,12") || !strings.HasSuffix(lines[1], ",8,8") {
		t.Errorf("timeseries.csv: header %q, first row %q, last row %q", lines[0], lines[1], lines[len(lines)-2])
	}
	var sum bytes.Buffer
	if err := WriteSummary(&sum, res, "", false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "scaled api: 8 at start, peak 12, 12 at end") || !strings.Contains(sum.String(), "set x/c: routed at") {
		t.Errorf("summary:\n%s", sum.String())
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, res, figs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `id="scaling-figures"`) || !strings.Contains(html.String(), `id="sets-added"`) {
		t.Error("report.html lacks the scaling tables")
	}
}

// A result without scaling renders as before: no table, no plot.
func TestNoScalingNoSection(t *testing.T) {
	res := synthResult(t)
	Analyze(res)
	if scalingRows(res) != nil || setAddedRows(res) != nil {
		t.Error("scaling rows for a run without scaling")
	}
	figs, err := RenderPlots(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if f.Name == "instances" {
			t.Error("an instances plot for a run without scaling")
		}
	}
}
