package web

import (
	"fmt"
	"html/template"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports"
)

// fixtureRuns are the run folders of the fixture and the group each
// belongs to.
var fixtureRuns = map[string]string{
	"runs/smoke": "", "runs/smoke-strict": "", "runs/az-failover": "", "runs/az-failover-seed4": "",
	"suite/machine-loss": "suite", "suite/shedding": "suite",
	"failover/runs/az-shenzhen-a": "failover", "failover/runs/az-shenzhen-b": "failover", "failover/runs/az-shenzhen-c": "failover",
}

func readFixtureResult(t *testing.T, id string) *reports.Result {
	t.Helper()
	res, err := reports.ReadResult(filepath.Join(fixture(t), filepath.FromSlash(id), reports.FileResult))
	if err != nil {
		t.Fatal(err)
	}
	reports.Analyze(res)
	return res
}

func TestRunsFoundRecursivelyAndGrouped(t *testing.T) {
	_, ts := serve(t, Config{Results: fixture(t)})
	code, body := get(t, ts, "/api/runs")
	if code != 200 {
		t.Fatalf("GET /api/runs: %d %s", code, body)
	}
	runs := decode[[]runInfo](t, body)
	got := map[string]runInfo{}
	for _, r := range runs {
		got[r.ID] = r
	}
	for id, group := range fixtureRuns {
		r, ok := got[id]
		if !ok {
			t.Errorf("run %s is not listed", id)
			continue
		}
		if r.Group != group {
			t.Errorf("run %s is in group %q, want %q", id, r.Group, group)
		}
	}
	if len(runs) != len(fixtureRuns) {
		t.Errorf("%d runs listed, want %d", len(runs), len(fixtureRuns))
	}
	res := readFixtureResult(t, "runs/az-failover")
	r := got["runs/az-failover"]
	if r.Scenario != res.Scenario || r.Seed != res.Seed || r.Backend != res.Backend || r.Availability != res.Measures.Availability ||
		r.P99NS != res.Measures.Latency.P99 || r.Faults != len(res.Faults) || r.RTONS != res.Measures.Faults[0].RTO {
		t.Errorf("summary of runs/az-failover %+v does not match its result", r)
	}
	if got["runs/smoke-strict"].Status != "FAIL" || got["runs/smoke"].Status != "PASS" || got["runs/smoke"].RTONS != noFaults {
		t.Errorf("statuses: strict %q, smoke %q (RTO %d)", got["runs/smoke-strict"].Status, got["runs/smoke"].Status, got["runs/smoke"].RTONS)
	}
}

// rowIDs lists the data-id of the runs table rows, in page order.
var rowID = regexp.MustCompile(`<tr class="[a-z]*" data-id="([^"]+)">`)

func rowIDs(body string) []string {
	var out []string
	for _, m := range rowID.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestRunsPageFiltersAndSorts(t *testing.T) {
	_, ts := serve(t, Config{Results: fixture(t)})
	_, body := get(t, ts, "/")
	if ids := rowIDs(body); len(ids) != len(fixtureRuns) {
		t.Fatalf("the runs page lists %d runs, want %d: %v", len(ids), len(fixtureRuns), ids)
	}
	for _, want := range []string{`data-group="suite"`, `href="/files/suite/index.html"`, `data-group="failover"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the runs page has no %s", want)
		}
	}
	_, body = get(t, ts, "/?verdict=fail")
	if ids := rowIDs(body); !slices.Equal(ids, []string{"runs/smoke-strict"}) {
		t.Errorf("verdict=fail lists %v, want only runs/smoke-strict", ids)
	}
	_, body = get(t, ts, "/?scenario=SMOKE")
	if ids := rowIDs(body); len(ids) != 2 {
		t.Errorf("scenario=SMOKE lists %v, want the two smoke runs", ids)
	}
	_, body = get(t, ts, "/?backend=process")
	if ids := rowIDs(body); len(ids) != 0 {
		t.Errorf("backend=process lists %v, want none", ids)
	}
	_, body = get(t, ts, "/?sort=availability")
	ids := rowIDs(body)
	runs, _, _ := mustServer(t).cat.snapshot()
	avail := map[string]float64{}
	for _, r := range runs {
		avail[r.ID] = r.Availability
	}
	var ungrouped []float64
	for _, id := range ids {
		if fixtureRuns[id] == "" {
			ungrouped = append(ungrouped, avail[id])
		}
	}
	if !slices.IsSorted(ungrouped) || len(ungrouped) != 4 {
		t.Errorf("sort=availability: ungrouped runs in order %v", ungrouped)
	}
	_, body = get(t, ts, "/?sort=availability&desc=1")
	if desc := rowIDs(body); desc[0] == ids[0] {
		t.Errorf("desc=1 did not reverse the order: %v then %v", ids, desc)
	}
}

// mustServer is a Server over the fixture, for tests that read its state.
func mustServer(t *testing.T) *Server {
	t.Helper()
	s, _ := serve(t, Config{Results: fixture(t)})
	return s
}

func TestRescanFindsNewAndRemovedRuns(t *testing.T) {
	dir := t.TempDir()
	if _, err := runInto("ci/smoke", 0, filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	_, ts := serve(t, Config{Results: dir})
	if ids := rowIDs(mustGet(t, ts, "/")); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("first listing %v", ids)
	}
	if _, err := runInto("ci/smoke", 9, filepath.Join(dir, "deep/er/b")); err != nil {
		t.Fatal(err)
	}
	must(t, os.RemoveAll(filepath.Join(dir, "a")))
	deadline := time.Now().Add(3 * rescanEvery)
	for {
		ids := rowIDs(mustGet(t, ts, "/"))
		if slices.Equal(ids, []string{"deep/er/b"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after adding deep/er/b and removing a, the list is %v", ids)
		}
		time.Sleep(rescanEvery / 4)
	}
}

func mustGet(t *testing.T, ts *httptest.Server, path string) string {
	t.Helper()
	code, body := get(t, ts, path)
	if code != 200 {
		t.Fatalf("GET %s: status %d: %s", path, code, body)
	}
	return body
}

func TestRunPage(t *testing.T) {
	_, ts := serve(t, Config{Results: fixture(t)})
	res := readFixtureResult(t, "runs/az-failover")
	body := mustGet(t, ts, "/run?id="+url.QueryEscape("runs/az-failover"))
	verdicts := section(t, body, `<table id="verdicts">`, "</table>")
	if n := strings.Count(verdicts, `<tr class="pass">`) + strings.Count(verdicts, `<tr class="fail">`); n != len(res.Verdicts) {
		t.Errorf("%d verdict rows, want %d", n, len(res.Verdicts))
	}
	for _, v := range res.Verdicts {
		if !strings.Contains(verdicts, template.HTMLEscapeString(v.Name())) {
			t.Errorf("verdict %s missing", v.Name())
		}
	}
	for _, want := range []string{`id="chart-latency"`, `id="chart-availability"`, `id="chart-throughput"`, `id="chart-failures"`,
		`<img src="/files/runs/az-failover/plots/availability.png"`, `id="timeline"`, `id="heatmap"`,
		`href="/files/runs/az-failover/report.html"`, `href="/files/runs/az-failover/junit.xml"`,
		`href="/files/runs/az-failover/timeseries.csv"`, `href="/files/runs/az-failover/result.json"`,
		template.HTMLEscapeString(res.Faults[0].Name)} {
		if !strings.Contains(body, want) {
			t.Errorf("the run page has no %s", want)
		}
	}
	// The slo block of the scenario text is marked as the objectives.
	lines := strings.Split(res.Text, "\n")
	slo := slices.Index(lines, "slo:")
	if slo < 0 {
		t.Fatal("the scenario text has no slo: line")
	}
	if want := fmt.Sprintf(`<span class="line objective" data-line="%d">`, slo+1); !strings.Contains(body, want) {
		t.Errorf("the slo line is not marked: no %s", want)
	}
	if want := fmt.Sprintf(`<span class="line objective" data-line="%d">`, slo+2); !strings.Contains(body, want) {
		t.Errorf("the line after slo: is not marked: no %s", want)
	}
	if strings.Contains(body, fmt.Sprintf(`<span class="line objective" data-line="%d">`, slo)) {
		t.Error("the line before slo: is marked as an objective")
	}
	for _, bad := range []string{"../runs/az-failover", "runs/../runs/az-failover", "/etc", "runs"} {
		if code, _ := get(t, ts, "/run?id="+url.QueryEscape(bad)); code != 404 {
			t.Errorf("/run?id=%s: status %d, want 404", bad, code)
		}
	}
}

// section is the part of body from start to the first end after it.
func section(t *testing.T, body, start, end string) string {
	t.Helper()
	i := strings.Index(body, start)
	if i < 0 {
		t.Fatalf("no %s in the page", start)
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		t.Fatalf("no %s after %s", end, start)
	}
	return body[i : i+j]
}

func TestSeriesFollowTheResult(t *testing.T) {
	_, ts := serve(t, Config{Results: fixture(t)})
	res := readFixtureResult(t, "runs/az-failover")
	s := decode[struct {
		WindowS float64 `json:"window_s"`
		Bands   []struct {
			Kind   string  `json:"kind"`
			Name   string  `json:"name"`
			StartS float64 `json:"start_s"`
			EndS   float64 `json:"end_s"`
		} `json:"bands"`
		T            []*float64 `json:"t"`
		Availability []struct {
			Name   string     `json:"name"`
			Values []*float64 `json:"values"`
		} `json:"availability_pct"`
		Throughput []struct {
			Name   string     `json:"name"`
			Values []*float64 `json:"values"`
		} `json:"throughput_per_s"`
	}](t, mustGet(t, ts, "/api/series?run=runs/az-failover"))
	if len(s.T) != len(res.Windows) {
		t.Fatalf("%d points, want one per window (%d)", len(s.T), len(res.Windows))
	}
	var faults int
	for _, b := range s.Bands {
		if b.Kind == "fault" {
			f := res.Faults[faults]
			if b.Name != f.Name || b.StartS != float64(f.Start)/1e9 || b.EndS != float64(f.End)/1e9 {
				t.Errorf("band %+v does not match fault %+v", b, f)
			}
			faults++
		}
		if b.Kind == "warmup" && b.EndS != float64(res.WarmupNS)/1e9 {
			t.Errorf("warm-up band ends at %gs, warm-up is %d ns", b.EndS, res.WarmupNS)
		}
	}
	if faults != len(res.Faults) {
		t.Errorf("%d fault bands, want %d", faults, len(res.Faults))
	}
	worst, at := 100.0, -1
	for i, v := range s.Availability[0].Values {
		w := &res.Windows[i]
		if v == nil {
			if w.Counts.Offered != 0 {
				t.Errorf("window %d has traffic but no availability point", i)
			}
			continue
		}
		if want := 100 * w.Counts.Availability(); abs(*v-want) > 1e-3 {
			t.Errorf("window %d: availability %g, want %g", i, *v, want)
		}
		if *v < worst {
			worst, at = *v, i
		}
		if want := float64(w.Counts.OK()) / s.WindowS; abs(*s.Throughput[1].Values[i]-want) > 1e-3*max(1, want) {
			t.Errorf("window %d: served %g/s, want %g", i, *s.Throughput[1].Values[i], want)
		}
	}
	if ws := res.Windows[at].Start; ws < res.Faults[0].Start || ws >= res.Faults[0].End+res.WindowNS*5 {
		t.Errorf("the worst window (%d ns) is not in or just after the fault", ws)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestComparePage(t *testing.T) {
	_, ts := serve(t, Config{Results: fixture(t)})
	base, cur := readFixtureResult(t, "runs/az-failover"), readFixtureResult(t, "runs/az-failover-seed4")
	changes, err := reports.Diff(base, cur, reports.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	path := compareURL([]string{"runs/az-failover", "runs/az-failover-seed4"}, "")
	body := mustGet(t, ts, path)
	diff := section(t, body, `<table class="difftable">`, "</table>")
	if n := strings.Count(diff, "<tr class=") - 0; n != len(changes) {
		t.Errorf("%d diff rows, want %d", n, len(changes))
	}
	if n := strings.Count(diff, `<tr class="regression">`); n != reports.Regressions(changes) {
		t.Errorf("%d rows marked as regressions, want %d", n, reports.Regressions(changes))
	}
	if !strings.Contains(body, fmt.Sprintf("%d regressions", reports.Regressions(changes))) {
		t.Error("the regression count is not shown")
	}
	if !strings.Contains(body, `id="permalink" href="`+template.HTMLEscapeString(path)+`"`) {
		t.Errorf("no permalink to %s", path)
	}
	// A looser tolerance in the address turns regressions off.
	loose := mustGet(t, ts, compareURL([]string{"runs/az-failover", "runs/az-failover-seed4"}, "availability=50%,latency=1000%,rto=1h,lost_writes=1000"))
	if strings.Contains(loose, `<tr class="regression">`) {
		t.Error("with a huge tolerance, rows are still marked as regressions")
	}
	// Runs of different fault schedules are not comparable.
	other := mustGet(t, ts, compareURL([]string{"runs/smoke", "runs/az-failover"}, ""))
	if !strings.Contains(other, "not comparable") {
		t.Error("comparing a run without faults to one with a fault does not say they are not comparable")
	}
	missing := mustGet(t, ts, compareURL([]string{"runs/smoke", "../nothing"}, ""))
	if !strings.Contains(missing, "Not found under the results folder") {
		t.Error("an unknown run in a comparison is not reported")
	}
}

func TestAnalysesPages(t *testing.T) {
	_, ts := serve(t, Config{Results: fixture(t)})
	list := mustGet(t, ts, "/analyses")
	if !strings.Contains(list, `href="/analysis?id=failover"`) {
		t.Fatal("the failover analysis is not listed")
	}
	body := mustGet(t, ts, "/analysis?id=failover")
	want := compareURL([]string{"failover/runs/az-shenzhen-a", "failover/runs/az-shenzhen-b", "failover/runs/az-shenzhen-c"}, "")
	if !strings.Contains(body, template.HTMLEscapeString(want)) {
		t.Errorf("the analysis page does not link the comparison of its kept runs (%s)", want)
	}
	if !strings.Contains(body, `<iframe id="report" class="report" src="/files/failover/report.html"`) {
		t.Error("the analysis report is not shown")
	}
	if !strings.Contains(body, "<img src=\"/files/failover/plots/") {
		t.Error("the analysis plots are not shown")
	}
	if code, _ := get(t, ts, "/analysis?id=runs"); code != 404 {
		t.Errorf("/analysis?id=runs: %d, want 404", code)
	}
}

// TestCatalogSkipsSymlinksAndListsBrokenResults checks that a result
// reached through a symlink is not listed (it may lie outside the folder),
// and that an unreadable result is listed with its error, not hidden.
func TestCatalogSkipsSymlinksAndListsBrokenResults(t *testing.T) {
	outside := t.TempDir()
	if _, err := runInto("ci/smoke", 0, filepath.Join(outside, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must(t, os.Symlink(filepath.Join(outside, "elsewhere"), filepath.Join(dir, "linked")))
	must(t, os.MkdirAll(filepath.Join(dir, "broken"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "broken", reports.FileResult), []byte(`{"version": 99}`), 0o644))
	_, ts := serve(t, Config{Results: dir})
	runs := decode[[]runInfo](t, mustGet(t, ts, "/api/runs"))
	if len(runs) != 1 || runs[0].ID != "broken" || runs[0].Status != "unreadable" || !strings.Contains(runs[0].Err, "version 99") {
		t.Errorf("runs %+v: want only broken, unreadable, with its error", runs)
	}
	if body := mustGet(t, ts, "/"); !strings.Contains(body, "version 99") {
		t.Error("the runs page does not show why a result is unreadable")
	}
	if code, _ := get(t, ts, "/run?id=broken"); code != 404 {
		t.Errorf("/run?id=broken: %d, want 404", code)
	}
}
