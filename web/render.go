package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports"
)

// pageNames are the templates, each parsed with layout.html.
var pageNames = []string{"runs", "run", "compare", "analyses", "analysis", "playground", "error"}

var funcs = template.FuncMap{
	"pct":    reports.FormatPercent,
	"lat":    reports.FormatLatency,
	"when":   func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	"runURL": runURL,
	"rto":    formatRTO,
	"lower":  strings.ToLower,
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New(n+".html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// page is what the layout needs of every page.
type page struct {
	Title string
	Nav   string // the section lit in the menu
}

// render executes a page template into a buffer first, so that a
// template error is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

type errorPage struct {
	page
	Code    int
	Message string
}

// fail shows an error page with a status code.
func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	var b bytes.Buffer
	if err := s.pages["error"].ExecuteTemplate(&b, "layout", errorPage{page{Title: http.StatusText(code)}, code, msg}); err != nil {
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func runURL(id string) string { return "/run?id=" + url.QueryEscape(id) }

// compareURL is the permalink of a comparison. Slashes stay as they are
// (they are allowed in a query), so that the address reads as the runs'
// folders.
func compareURL(ids []string, tol string) string {
	parts := make([]string, 0, len(ids)+1)
	for _, id := range ids {
		parts = append(parts, "run="+strings.ReplaceAll(url.QueryEscape(id), "%2F", "/"))
	}
	if tol != "" {
		parts = append(parts, "tol="+url.QueryEscape(tol))
	}
	return "/compare?" + strings.Join(parts, "&")
}

// pathEscape escapes one element of a path for a URL.
func pathEscape(s string) string { return url.PathEscape(s) }

func formatRTO(ns int64) string {
	switch {
	case ns == noFaults:
		return "–"
	case ns < 0:
		return "never"
	}
	return reports.FormatLatency(ns)
}
