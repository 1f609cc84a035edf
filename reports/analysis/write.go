package analysis

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"

	"github.com/pkg/errors"

	"github.com/stripelab/stripelab/reports"
)

// Files each analysis writes into its folder, besides plots/ (PNG and
// SVG) and runs/ (the report folder of every kept run).
const (
	FileHTML     = "report.html"
	FileMarkdown = "report.md"
	FileCompare  = "compare.json"
	FileCapacity = "capacity.json"
	FileFailover = "failover.json"
	DirPlots     = "plots"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/analysis.html.tmpl"))
	mdTmpl   = texttemplate.Must(texttemplate.New("analysis.md.tmpl").Funcs(texttemplate.FuncMap{"md": mdEscape}).
			ParseFS(templateFS, "templates/analysis.md.tmpl"))
)

// page is what the HTML and Markdown templates show: every analysis is
// a title, a few facts, a one-line reading, tables and plots.
type page struct {
	Title string
	// Stopped explains an interrupted analysis; empty otherwise.
	Stopped  string
	Facts    []fact
	Reading  string
	Notes    []string
	Sections []section
	Plots    []plotView
}

type fact struct{ Name, Value string }

type section struct {
	ID, Title string
	Note      string
	Head      []string
	Rows      []row
}

// row is a table row; Class is "group" (a heading row), "worst", "fail" or "".
type row struct {
	Class string
	Cells []cell
}

type cell struct {
	Text, Link, Class string
	// Detail is a smaller second line (HTML only).
	Detail string
}

type plotView struct {
	Name, Title string
	Src         htmltemplate.URL
}

func txt(s string) cell { return cell{Text: s} }

// writeAll writes v as name (JSON), the figures, report.html and report.md into dir.
func writeAll(dir, name string, v any, pg *page, figs []reports.Figure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrap(err, "analysis")
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return errors.Wrap(err, "encode "+name)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
		return errors.Wrap(err, "analysis")
	}
	if err := reports.WritePlots(filepath.Join(dir, DirPlots), figs); err != nil {
		return err
	}
	for _, f := range figs {
		pg.Plots = append(pg.Plots, plotView{Name: f.Name, Title: f.Title,
			Src: htmltemplate.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))})
	}
	var h, m bytes.Buffer
	if err := htmlTmpl.Execute(&h, pg); err != nil {
		return errors.Wrap(err, "write "+FileHTML)
	}
	if err := mdTmpl.Execute(&m, pg); err != nil {
		return errors.Wrap(err, "write "+FileMarkdown)
	}
	if err := os.WriteFile(filepath.Join(dir, FileHTML), h.Bytes(), 0o644); err != nil {
		return errors.Wrap(err, "analysis")
	}
	return errors.Wrap(os.WriteFile(filepath.Join(dir, FileMarkdown), m.Bytes(), 0o644), "analysis")
}

// mdEscape makes a string safe inside a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "<", "&lt;", ">", "&gt;").Replace(s)
}
