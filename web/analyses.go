package web

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
)

type analysesPage struct {
	page
	Analyses []*analysisInfo
}

func (s *Server) handleAnalyses(w http.ResponseWriter, r *http.Request) {
	_, _, as := s.cat.snapshot()
	s.render(w, "analyses", analysesPage{page: page{Title: "Analyses", Nav: "analyses"}, Analyses: as})
}

// runSet is a group of an analysis' kept runs worth comparing: the
// granularities of a compare under one fault class, or every loss of a
// failover.
type runSet struct {
	Title string
	Link  string
	Runs  []runLink
}

type runLink struct{ ID, Name string }

type analysisPage struct {
	page
	A      *analysisInfo
	Report string
	JSON   string
	Plots  []plotLink
	Sets   []runSet
}

func (s *Server) findAnalysis(id string) *analysisInfo {
	_, _, as := s.cat.snapshot()
	for _, a := range as {
		if a.ID == id {
			return a
		}
	}
	return nil
}

func (s *Server) handleAnalysis(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	a := s.findAnalysis(id)
	if a == nil {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no analysis %q under the results folder", id))
		return
	}
	pg := analysisPage{page: page{Title: a.Kind + " " + a.Scenario, Nav: "analyses"}, A: a,
		Report: fileURL(path.Join(id, "report.html")), JSON: fileURL(path.Join(id, a.File))}
	pg.Plots = s.plots(id)
	runs, _, _ := s.cat.snapshot()
	known := map[string]bool{}
	for _, ri := range runs {
		known[ri.ID] = ri.Err == ""
	}
	pg.Sets = runSets(a, known)
	s.render(w, "analysis", pg)
}

// runSets groups an analysis' kept runs for comparison. A compare keeps
// runs/GRANULARITY/FAULT: one set per fault class, across granularities.
// Other analyses keep one folder per variant: one set of all.
func runSets(a *analysisInfo, known map[string]bool) []runSet {
	byKey := map[string][]runLink{}
	var keys []string
	for _, d := range a.Dirs {
		id := path.Join(a.ID, d)
		if !known[id] {
			continue
		}
		key, name := "all", strings.TrimPrefix(d, "runs/")
		if a.Kind == "compare" {
			key = path.Base(d)
			name = path.Base(path.Dir(d))
		}
		if _, ok := byKey[key]; !ok {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], runLink{ID: id, Name: name})
	}
	slices.Sort(keys)
	var out []runSet
	for _, k := range keys {
		rs := byKey[k]
		ids := make([]string, 0, len(rs))
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		title := "every run of the " + a.Kind
		if a.Kind == "compare" {
			title = k + ": each granularity"
		}
		if len(ids) > maxCompared {
			ids = ids[:maxCompared]
		}
		out = append(out, runSet{Title: title, Runs: rs, Link: compareURL(ids, "")})
	}
	return out
}
