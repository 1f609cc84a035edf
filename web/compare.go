package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/stripelab/stripelab/reports"
)

// maxCompared bounds how many runs one comparison loads.
const maxCompared = 8

type diffRow struct {
	Measure, Scope, Base, New, Mark, Class string
}

// diffTable is one run compared against the first.
type diffTable struct {
	Base, New   *runInfo
	Rows        []diffRow
	Regressions int
	Improved    int
	Err         string
}

type comparePage struct {
	page
	Runs      []*runInfo
	Missing   []string
	Diffs     []diffTable
	Tolerance string
	TolErr    string
	Permalink string
	IDs       string // JSON of the ids, for the charts
	// Rebase[i] is the comparison with run i as the baseline.
	Rebase []string
}

func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := q["run"]
	if len(ids) > maxCompared {
		s.fail(w, http.StatusBadRequest, fmt.Sprintf("at most %d runs can be compared at once", maxCompared))
		return
	}
	pg := comparePage{page: page{Title: "Compare", Nav: "compare"}, Tolerance: q.Get("tol")}
	tol, err := reports.ParseTolerance(pg.Tolerance)
	if err != nil {
		pg.TolErr, tol = err.Error(), reports.DefaultTolerance
	}
	var results []*reports.Result
	var found []string
	for _, id := range ids {
		res, ri, err := s.cat.result(id)
		if err != nil {
			pg.Missing = append(pg.Missing, id)
			continue
		}
		results = append(results, res)
		pg.Runs = append(pg.Runs, ri)
		found = append(found, id)
	}
	for i := 1; i < len(results); i++ {
		pg.Diffs = append(pg.Diffs, diffOf(pg.Runs[0], pg.Runs[i], results[0], results[i], tol))
	}
	pg.Permalink = compareURL(found, pg.Tolerance)
	for i := range found {
		ids := append([]string{found[i]}, found[:i]...)
		pg.Rebase = append(pg.Rebase, compareURL(append(ids, found[i+1:]...), pg.Tolerance))
	}
	b, _ := json.Marshal(found)
	pg.IDs = string(b)
	if len(pg.Runs) > 0 {
		pg.Title = "Compare " + strings.Join(found, " · ")
	}
	s.render(w, "compare", pg)
}

// diffOf is reports.Diff of two runs (the regression gate of `stripelab
// diff`), regressions first.
func diffOf(bi, ni *runInfo, base, cur *reports.Result, tol reports.Tolerance) diffTable {
	t := diffTable{Base: bi, New: ni}
	changes, err := reports.Diff(base, cur, tol)
	if err != nil {
		t.Err = err.Error()
		return t
	}
	reports.SortChanges(changes)
	for _, c := range changes {
		row := diffRow{Measure: c.Measure, Scope: c.Scope, Base: c.Base, New: c.New}
		switch {
		case c.Regression:
			row.Mark, row.Class = "regression", "regression"
			t.Regressions++
		case c.Improved:
			row.Mark, row.Class = "improved", "improved"
			t.Improved++
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
