package reports

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/pkg/errors"

	"github.com/stripelab/stripelab/scenarios"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/report.html.tmpl"))
	mdTmpl   = texttemplate.Must(texttemplate.New("report.md.tmpl").Funcs(texttemplate.FuncMap{"md": mdEscape}).
			ParseFS(templateFS, "templates/report.md.tmpl"))
)

// Files written by WriteAll into its folder.
const (
	FileResult     = "result.json"
	FileTimeseries = "timeseries.csv"
	FileHTML       = "report.html"
	FileMarkdown   = "report.md"
	FileJUnit      = "junit.xml"
	DirPlots       = "plots"
)

// WriteAll writes every report of res into dir: result.json,
// timeseries.csv, report.html, report.md, junit.xml and plots/*.png and
// *.svg. It analyses res first (again, if it was), so that the reports of
// a loaded result.json always follow this build's definitions.
func WriteAll(res *Result, dir string) error {
	Analyze(res)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrap(err, "reports")
	}
	if err := res.WriteJSON(filepath.Join(dir, FileResult)); err != nil {
		return err
	}
	figs, err := RenderPlots(res)
	if err != nil {
		return err
	}
	if err := WritePlots(filepath.Join(dir, DirPlots), figs); err != nil {
		return err
	}
	writers := []struct {
		name string
		fn   func(w io.Writer) error
	}{
		{FileTimeseries, func(w io.Writer) error { return WriteTimeseries(w, res) }},
		{FileHTML, func(w io.Writer) error { return WriteHTML(w, res, figs) }},
		{FileMarkdown, func(w io.Writer) error { return WriteMarkdown(w, res, figs) }},
		{FileJUnit, func(w io.Writer) error { return WriteJUnit(w, []*Result{res}) }},
	}
	for _, wr := range writers {
		var b bytes.Buffer
		if err := wr.fn(&b); err != nil {
			return errors.Wrapf(err, "write %s", wr.name)
		}
		if err := os.WriteFile(filepath.Join(dir, wr.name), b.Bytes(), 0o644); err != nil {
			return errors.Wrap(err, "reports")
		}
	}
	return nil
}

// plotView is a plot as a report shows it.
type plotView struct {
	Name, Title string
	Src         htmltemplate.URL // a data: URI, so the report needs no other file
}

// WriteHTML writes report.html: one self-contained file (plots embedded
// as data: URIs, no external CSS, scripts or fonts) that opens from disk.
// figs come from RenderPlots. res is analysed first if it was not.
func WriteHTML(w io.Writer, res *Result, figs []Figure) error {
	if res.Measures == nil {
		Analyze(res)
	}
	data := struct {
		*view
		Plots []plotView
	}{view: newView(res)}
	for _, f := range figs {
		data.Plots = append(data.Plots, plotView{Name: f.Name, Title: f.Title,
			Src: htmltemplate.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))})
	}
	return htmlTmpl.Execute(w, data)
}

// WriteMarkdown writes report.md, for pull-request comments: verdicts and
// key figures as tables and links to the plot files (only the names and
// titles of figs are used). res is analysed first if it was not.
func WriteMarkdown(w io.Writer, res *Result, figs []Figure) error {
	if res.Measures == nil {
		Analyze(res)
	}
	data := struct {
		*view
		Plots []plotView
	}{view: newView(res)}
	for _, f := range figs {
		data.Plots = append(data.Plots, plotView{Name: f.Name, Title: f.Title})
	}
	return mdTmpl.Execute(w, data)
}

// mdEscape makes a string safe inside a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "<", "&lt;", ">", "&gt;").Replace(s)
}

// JUnit XML, in the common schema read by Jenkins, GitLab and the GitHub
// test-report actions.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	// Error marks a case that could not be judged: its run stopped early.
	Error *junitFailure `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes one testsuite per result and one testcase per verdict
// (named like "availability_in_fault [lose shenzhen/a]"); a failing one
// carries the measured value, the target, the window and the seed. In a
// run that stopped early no case passes: every verdict is an error of type
// incomplete (with what it measured so far), and a "run [incomplete]"
// error case says where the run stopped. Results
// without measures are analysed first. Times are 0: the suites measure a
// simulated or replayed run, not the time the test took.
func WriteJUnit(w io.Writer, results []*Result) error {
	all := junitSuites{Name: "stripelab", Time: "0"}
	seen := map[string]int{}
	for _, res := range results {
		seen[res.Scenario]++
	}
	for _, res := range results {
		if res.Measures == nil {
			Analyze(res)
		}
		s := junitSuiteOf(res, seen[res.Scenario] > 1)
		all.Suites = append(all.Suites, s)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return errors.Wrap(err, "junit")
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(res *Result, withSeed bool) junitSuite {
	name := res.Scenario
	if withSeed {
		name += " (seed " + strconv.FormatUint(res.Seed, 10) + ")"
	}
	s := junitSuite{Name: name, Time: "0", Properties: []junitProperty{
		{"file", res.File}, {"seed", strconv.FormatUint(res.Seed, 10)}, {"backend", res.Backend},
		{"duration", FormatLatency(res.DurationNS)}, {"availability", FormatPercent(res.Measures.Availability)},
	}}
	class := "stripelab." + res.Scenario
	stopped := "the run stopped at " + FormatTime(res.Reached()) + " of " + FormatTime(res.DurationNS)
	for i := range res.Verdicts {
		v := &res.Verdicts[i]
		c := junitCase{Name: v.Name(), ClassName: class, Time: "0"}
		msg := "measured " + v.Measured + " vs target " + v.Target
		if v.WindowStart >= 0 && !v.Pass {
			msg += " in window " + formatRange(v.WindowStart, v.WindowEnd)
		}
		msg += fmt.Sprintf(" (scenario %s, seed %d)", res.Scenario, res.Seed)
		switch {
		case v.Incomplete:
			msg = stopped + ", so this objective cannot be judged; " + strings.Replace(msg, "measured", "measured so far", 1)
			c.Error = &junitFailure{Message: msg, Type: StatusIncomplete, Body: strings.TrimSpace(msg + "\n" + v.Detail)}
			s.Errors++
		case !v.Pass:
			c.Failure = &junitFailure{Message: msg, Type: "slo", Body: strings.TrimSpace(msg + "\n" + v.Detail)}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	if res.Incomplete {
		msg := stopped + fmt.Sprintf(" (seed %d)", res.Seed)
		s.Cases = append(s.Cases, junitCase{Name: "run [incomplete]", ClassName: class, Time: "0",
			Error: &junitFailure{Message: msg, Type: StatusIncomplete, Body: msg}})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	return s
}

// WriteSummary prints a short terminal summary of an analysed result: the
// status, the failed verdicts (all verdicts when verbose), the key
// figures, and where the reports are (dir, when not empty).
func WriteSummary(w io.Writer, res *Result, dir string, verbose bool) error {
	if res.Measures == nil {
		Analyze(res)
	}
	v := newView(res)
	var b strings.Builder
	if res.Incomplete {
		fmt.Fprintf(&b, "%s: %s (%d of %s failing when it stopped; none can pass)\n  %s\n  %s\n",
			res.Scenario, v.Status, v.Failures, scenarios.Quantity(len(v.Verdicts), "objective"), v.Run, v.Stopped)
	} else {
		fmt.Fprintf(&b, "%s: %s (%d of %s failed)\n  %s\n", res.Scenario, v.Status, v.Failures, scenarios.Quantity(len(v.Verdicts), "objective"), v.Run)
	}
	for _, r := range v.Verdicts {
		if r.Class == StatusPass && !verbose {
			continue
		}
		mark := map[string]string{StatusPass: "ok  ", StatusFail: "FAIL", StatusIncomplete: "incomplete"}[r.Class]
		fmt.Fprintf(&b, "  %-4s %-44s %-10s target %s", mark, r.Name, r.Measured, r.Target)
		if r.Where != "" {
			fmt.Fprintf(&b, "  [%s]", r.Where)
		}
		b.WriteString("\n")
	}
	for _, k := range v.Key[:5] {
		fmt.Fprintf(&b, "  %-34s %s\n", k.Name, k.Value)
	}
	for _, f := range v.Faults {
		rto := f.RTO
		var extra []string
		for _, s := range []string{f.RTOAt, f.RTONote} {
			if s != "" {
				extra = append(extra, s)
			}
		}
		if len(extra) > 0 {
			rto += " (" + strings.Join(extra, "; ") + ")"
		}
		fmt.Fprintf(&b, "  fault %q: availability %s, detected %s, RTO %s, lost writes %s\n", f.Name, f.Availability, f.Detection, rto, f.LostWrites)
	}
	for _, s := range v.Scaling {
		fmt.Fprintf(&b, "  scaled %s: %s at start, peak %s, %s at end; %s instance-hours (%s without scaling)\n", s.Name, s.Start, s.Peak, s.End, s.Hours, s.Static)
	}
	for _, s := range v.SetsAdded {
		fmt.Fprintf(&b, "  set %s: routed at %s, users moved %s, keys copied %s in %s, requests forwarded %s\n", s.Set, s.Routed, s.Moved, s.Keys, s.Copy, s.Forwarded)
	}
	if dir != "" {
		fmt.Fprintf(&b, "  report: %s\n", filepath.Join(dir, FileHTML))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
