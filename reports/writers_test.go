package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: %d lines, want %d (run with -update if intended)", path, len(gl), len(wl))
	}
}

// analysed is the synthetic result, analysed, with the figure names the
// Markdown report links to (no rendering needed).
func analysed(t *testing.T) (*Result, []Figure) {
	res := synthResult(t)
	Analyze(res)
	var figs []Figure
	for _, n := range [][2]string{{"latency", "Latency"}, {"availability", "Availability"}, {"failover-0", "Failover timeline: lose shenzhen/a"}} {
		figs = append(figs, Figure{Name: n[0], Title: n[1]})
	}
	return res, figs
}

func TestGoldenMarkdown(t *testing.T) {
	res, figs := analysed(t)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, res, figs); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", b.Bytes())
}

func TestGoldenJUnit(t *testing.T) {
	res, _ := analysed(t)
	var b bytes.Buffer
	if err := WriteJUnit(&b, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml.golden", b.Bytes())
}

func TestGoldenJSON(t *testing.T) {
	res, _ := analysed(t)
	path := filepath.Join(t.TempDir(), "result.json")
	if err := res.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "result.json.golden", b)
	back, err := ReadResult(path)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if back.Measures == nil || len(back.Verdicts) != len(res.Verdicts) || back.Measures.Faults[0].RTO != res.Measures.Faults[0].RTO {
		t.Error("result.json does not round-trip its measures and verdicts")
	}
	// Analysing the loaded result gives the same measures as the original.
	Analyze(back)
	var a, c bytes.Buffer
	if err := WriteJUnit(&a, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&c, []*Result{back}); err != nil {
		t.Fatal(err)
	}
	if a.String() != c.String() {
		t.Error("a re-analysed result.json gives other verdicts")
	}
}

func TestReadResultErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"not json":   "{",
		"no version": `{"scenario": "x"}`,
		"version 0":  `{"version": 0}`,
		"version 1":  `{"version": 1, "window_ns": 1, "duration_ns": 1}`,
		"bad window": `{"version": 2, "window_ns": 0, "duration_ns": 1}`,
	}
	for name, text := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadResult(path); !errors.Is(err, ErrBadResult) {
			t.Errorf("%s: err = %v, want ErrBadResult", name, err)
		}
	}
}

// junitDoc is what a JUnit consumer reads.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Error *struct {
				Type    string `xml:"type,attr"`
				Message string `xml:"message,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitSuites(t *testing.T) {
	a, _ := analysed(t)
	b := handResult(5)
	b.Scenario, b.Incomplete = "quiet", true
	b.SLO.Availability = 0.5
	fillTotals(b) // not analysed: WriteJUnit analyses it
	c := synthResult(t)
	c.Seed = 8
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, []*Result{a, b, c}); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Suites) != 3 || doc.Suites[0].Name != "synthetic (seed 42)" || doc.Suites[2].Name != "synthetic (seed 8)" {
		t.Fatalf("suites = %+v", doc.Suites)
	}
	if doc.Tests != doc.Suites[0].Tests+doc.Suites[1].Tests+doc.Suites[2].Tests || doc.Failures != 2*a.Failures() || doc.Errors != 2 {
		t.Errorf("totals tests %d failures %d errors %d", doc.Tests, doc.Failures, doc.Errors)
	}
	// The quiet run held its objective when it stopped: still no case passes.
	q := doc.Suites[1]
	if q.Tests != 2 || q.Failures != 0 || q.Errors != 2 || q.Cases[1].Name != "run [incomplete]" {
		t.Errorf("incomplete suite = %+v", q)
	}
	for _, tc := range q.Cases {
		if tc.Error == nil || tc.Error.Type != "incomplete" || tc.Failure != nil {
			t.Errorf("case %s of an incomplete run: error %+v, failure %+v; want an incomplete error", tc.Name, tc.Error, tc.Failure)
		}
	}
	if m := q.Cases[0].Error.Message; !strings.Contains(m, "the run stopped at 5s of 5s") || !strings.Contains(m, "measured so far 100%") {
		t.Errorf("incomplete verdict message %q", m)
	}
	for _, tc := range doc.Suites[0].Cases {
		if tc.Name == "availability_in_fault [lose shenzhen/a]" {
			if tc.Failure == nil || !strings.Contains(tc.Failure.Message, "vs target ≥ 95%") ||
				!strings.Contains(tc.Failure.Message, "in window 30s–1m0s") || !strings.Contains(tc.Failure.Message, "seed 42") {
				t.Errorf("failure = %+v", tc.Failure)
			}
			return
		}
	}
	t.Error("no availability_in_fault [lose shenzhen/a] case")
}

func TestWriteHTML(t *testing.T) {
	res := synthResult(t)
	Analyze(res)
	figs, err := RenderPlots(res)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, res, figs); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	rows := regexp.MustCompile(`(?s)<table id="verdicts">.*?</table>`).FindString(html)
	if got := strings.Count(rows, `<tr class="pass">`) + strings.Count(rows, `<tr class="fail">`); got != len(res.Verdicts) {
		t.Errorf("%d verdict rows, want %d", got, len(res.Verdicts))
	}
	if got := strings.Count(rows, `<tr class="fail">`); got != res.Failures() {
		t.Errorf("%d failing rows, want %d", got, res.Failures())
	}
	if got := strings.Count(html, `<img src="data:image/png;base64,`); got != len(figs) {
		t.Errorf("%d embedded images, want %d", got, len(figs))
	}
	for _, want := range []string{`id="timeline"`, `id="failover"`, `id="by-set"`, `id="by-city"`, "shenzhen/a", "detected",
		"availability_in_fault", "lose shenzhen/a", "seed 42", "az-down", "slo:"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Self-contained: nothing to fetch.
	for _, bad := range []string{"<script", "<link", `src="http`, `href="http`, "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
}

func TestWriteAll(t *testing.T) {
	res := synthResult(t)
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteAll(res, dir); err != nil {
		t.Fatal(err)
	}
	files := []string{FileResult, FileTimeseries, FileHTML, FileMarkdown, FileJUnit,
		"plots/latency.png", "plots/latency.svg", "plots/availability.png", "plots/availability.svg",
		"plots/throughput.png", "plots/failures.svg", "plots/sets.png", "plots/failover-0.svg"}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() < 100 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := ReadResult(filepath.Join(dir, FileResult)); err != nil {
		t.Errorf("result.json: %v", err)
	}
	var sum bytes.Buffer
	if err := WriteSummary(&sum, res, dir, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"synthetic: FAIL", "FAIL availability_in_fault [lose shenzhen/a]", "report: " + filepath.Join(dir, FileHTML)} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	r := handResult(3)
	r.Scenario = "a|b"
	addFault(r, "x | y", sec, 2*sec)
	r.SLO.AvailabilityInFault = 0.5
	fillTotals(r)
	Analyze(r)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `x \| y`) || strings.Contains(b.String(), "x | y") {
		t.Errorf("pipes not escaped:\n%s", b.String())
	}
}

// TestIncompleteRunNeverPasses stops a run of 2m at 20s, where every
// objective still holds: every report must call it incomplete, never pass.
func TestIncompleteRunNeverPasses(t *testing.T) {
	res := handResult(20)
	res.Scenario, res.DurationNS, res.Incomplete, res.StoppedNS = "synthetic", 120*sec, true, 20*sec
	res.SLO.Availability, res.SLO.AvailabilityByPriority = 0.99, map[string]scenarios.Percent{"high": 0.99}
	w := &res.Windows[19].Counts
	w.Offered++
	w.Outcomes[Unknown]++
	fillTotals(res)
	Analyze(res)
	if res.Failures() != 0 || len(res.Verdicts) != 2 {
		t.Fatalf("%d of %d objectives failing; the test needs them holding", res.Failures(), len(res.Verdicts))
	}
	if res.Passed() || res.Status() != StatusIncomplete || res.Reached() != 20*sec {
		t.Fatalf("passed %v, status %s, reached %s", res.Passed(), res.Status(), FormatTime(res.Reached()))
	}
	dir := t.TempDir()
	if err := WriteAll(res, dir); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	md, html := read(FileMarkdown), read(FileHTML)
	if !strings.Contains(md, "⚠️ INCOMPLETE") || strings.Contains(md, "PASS") || strings.Contains(md, "✅") {
		t.Errorf("report.md of an incomplete run:\n%s", md)
	}
	if !strings.Contains(md, "This run stopped at 20s of 2m0s") || !strings.Contains(md, "1 request was still in flight") {
		t.Errorf("report.md does not say where the run stopped and what was in flight:\n%s", md)
	}
	rows := regexp.MustCompile(`(?s)<table id="verdicts">.*?</table>`).FindString(html)
	if !strings.Contains(html, `id="status">INCOMPLETE<`) || strings.Count(rows, `<tr class="incomplete">`) != len(res.Verdicts) {
		t.Errorf("report.html shows a pass in an incomplete run")
	}
	var doc junitDoc
	if err := xml.Unmarshal([]byte(read(FileJUnit)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Errors != doc.Tests || doc.Tests != len(res.Verdicts)+1 {
		t.Errorf("junit: %d tests, %d errors; every case of an incomplete run is an error", doc.Tests, doc.Errors)
	}
	var sum bytes.Buffer
	if err := WriteSummary(&sum, res, "", false); err != nil {
		t.Fatal(err)
	}
	if s := sum.String(); !strings.Contains(s, "synthetic: INCOMPLETE") || strings.Contains(s, "PASS") || strings.Count(s, "incomplete ") != len(res.Verdicts) {
		t.Errorf("terminal summary:\n%s", s)
	}
}

// TestFaultTablesNarrow checks that the fault tables of report.html and
// report.md are split into timing and impact, neither wide enough to
// wrap its cells: at most 10 columns each.
func TestFaultTablesNarrow(t *testing.T) {
	res, figs := analysed(t)
	var h, m bytes.Buffer
	if err := WriteHTML(&h, res, figs); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&m, res, figs); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"failover", "fault-impact"} {
		table := regexp.MustCompile(`(?s)<table id="` + id + `".*?</table>`).FindString(h.String())
		head := regexp.MustCompile(`(?s)<thead>.*?</thead>`).FindString(table)
		if n := strings.Count(head, "<th>") + strings.Count(head, "<th "); n == 0 || n > 10 {
			t.Errorf("report.html table %s has %d columns", id, n)
		}
	}
	for _, title := range []string{"### Faults: timing", "### Faults: impact"} {
		_, rest, ok := strings.Cut(m.String(), title+"\n\n")
		header, _, _ := strings.Cut(rest, "\n")
		if n := strings.Count(header, "|") - 1; !ok || n > 10 {
			t.Errorf("report.md %q: %d columns (found %v)", title, n, ok)
		}
	}
}

// TestShedOrderWithoutShedding checks the key figure of a run where
// nothing was shed and high priority lost the most: it must say there was
// no shedding, not that the order held.
func TestShedOrderWithoutShedding(t *testing.T) {
	r := handResult(10)
	for i := 2; i < 6; i++ {
		setCounts(r, i, [3]int64{100, 600, 300}, [3]int64{90, 594, 300})
	}
	fillTotals(r)
	Analyze(r)
	var fig string
	for _, k := range newView(r).Key {
		if k.Name == "Shed order" {
			fig = k.Value
		}
	}
	if fig != "no shedding: no request was shed" {
		t.Errorf("shed order figure %q", fig)
	}
	shed := synthResult(t)
	Analyze(shed)
	for _, k := range newView(shed).Key {
		if k.Name == "Shed order" && !strings.HasPrefix(k.Value, "held: ") {
			t.Errorf("the synthetic flash crowd sheds low priority first; figure %q", k.Value)
		}
	}
}
