package reports

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"path"
	"strings"
)

// IndexEntry is one scenario of a suite: its folder (relative to the
// index) and its result (nil when it did not run: the suite was stopped
// first); Regressions counts changes against a baseline (-1 when there was
// no baseline to compare with).
type IndexEntry struct {
	Dir         string
	Result      *Result
	Regressions int
}

type indexRow struct {
	Name, Link, Status, Class, Availability, P99, Failed, Regressions, Faults string
}

func indexRows(entries []IndexEntry) []indexRow {
	rows := make([]indexRow, 0, len(entries))
	for _, e := range entries {
		r := e.Result
		if r == nil {
			rows = append(rows, indexRow{Name: e.Dir, Status: "not run", Class: StatusIncomplete,
				Availability: "—", P99: "—", Failed: "—", Regressions: "—", Faults: "—"})
			continue
		}
		if r.Measures == nil {
			Analyze(r)
		}
		row := indexRow{
			Name: r.Scenario, Link: path.Join(e.Dir, FileHTML), Status: "pass", Class: "pass",
			Availability: FormatPercent(r.Measures.Availability), P99: FormatLatency(r.Measures.Latency.P99),
			Failed: fmt.Sprintf("%d of %d", r.Failures(), len(r.Verdicts)), Regressions: "-",
			Faults: fmt.Sprint(len(r.Faults)),
		}
		switch r.Status() {
		case StatusFail:
			row.Status, row.Class = "FAIL", "fail"
		case StatusIncomplete:
			row.Status, row.Class = "incomplete", StatusIncomplete
			row.Failed += " when it stopped"
		}
		if e.Regressions >= 0 {
			row.Regressions = fmt.Sprint(e.Regressions)
			if e.Regressions > 0 {
				row.Class = "fail"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// WriteIndexMarkdown writes a suite's index as Markdown: one row per
// scenario with its status, key figures and a link to its report.
func WriteIndexMarkdown(w io.Writer, entries []IndexEntry) error {
	var b strings.Builder
	b.WriteString("# stripelab suite\n\n| scenario | status | availability | p99 | objectives failed | regressions | faults |\n|---|---|---|---|---|---|---|\n")
	for _, r := range indexRows(entries) {
		name := "[" + mdEscape(r.Name) + "](" + r.Link + ")"
		if r.Link == "" {
			name = mdEscape(r.Name)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, r.Status, r.Availability, r.P99, r.Failed, r.Regressions, r.Faults)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var indexTmpl = htmltemplate.Must(htmltemplate.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stripelab suite</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
tr.pass td:nth-child(2){color:#176f2c;font-weight:600}tr.fail td:nth-child(2){color:#b00020;font-weight:600}
tr.incomplete td:nth-child(2){color:#8a5300;font-weight:600}
</style></head><body>
<h1>stripelab suite</h1>
<table id="suite"><tr><th>scenario</th><th>status</th><th>availability</th><th>p99</th><th>objectives failed</th><th>regressions</th><th>faults</th></tr>
{{range .}}<tr class="{{.Class}}"><td>{{if .Link}}<a href="{{.Link}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}</td><td>{{.Status}}</td><td>{{.Availability}}</td><td>{{.P99}}</td><td>{{.Failed}}</td><td>{{.Regressions}}</td><td>{{.Faults}}</td></tr>
{{end}}</table></body></html>
`))

// WriteIndexHTML writes a suite's index as a self-contained HTML page.
func WriteIndexHTML(w io.Writer, entries []IndexEntry) error {
	return indexTmpl.Execute(w, indexRows(entries))
}
