package web

import (
	"cmp"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// runFilter is what the runs list is narrowed and ordered by, read from
// the query so that a filtered, sorted list is a link and works with
// scripts blocked.
type runFilter struct {
	Scenario string // substring, any case
	Verdict  string // pass, fail, incomplete or ""
	Backend  string // exact or ""
	Sort     string // a column key
	Desc     bool
}

// sortKeys are the sortable columns, in table order.
var sortKeys = []string{"scenario", "backend", "seed", "when", "duration", "verdict", "availability", "p99", "rto", "lost"}

func readFilter(q url.Values) runFilter {
	f := runFilter{Scenario: strings.TrimSpace(q.Get("scenario")), Verdict: q.Get("verdict"), Backend: q.Get("backend"),
		Sort: q.Get("sort"), Desc: q.Get("desc") == "1"}
	if !slices.Contains(sortKeys, f.Sort) {
		f.Sort, f.Desc = "when", true
	}
	return f
}

func (f runFilter) keep(r *runInfo) bool {
	if f.Scenario != "" && !strings.Contains(strings.ToLower(r.Scenario), strings.ToLower(f.Scenario)) {
		return false
	}
	if f.Verdict != "" && !strings.EqualFold(r.Status, f.Verdict) {
		return false
	}
	return f.Backend == "" || r.Backend == f.Backend
}

// rtoOrder ranks recovery times: none, then by length, never last.
func rtoOrder(ns int64) int64 {
	switch {
	case ns == noFaults:
		return -1
	case ns < 0:
		return 1 << 62
	}
	return ns
}

func (f runFilter) compare(a, b *runInfo) int {
	var c int
	switch f.Sort {
	case "scenario":
		c = strings.Compare(a.Scenario, b.Scenario)
	case "backend":
		c = strings.Compare(a.Backend, b.Backend)
	case "seed":
		c = cmp.Compare(a.Seed, b.Seed)
	case "duration":
		c = cmp.Compare(a.DurationNS, b.DurationNS)
	case "verdict":
		c = cmp.Compare(a.Failures, b.Failures)
	case "availability":
		c = cmp.Compare(a.Availability, b.Availability)
	case "p99":
		c = cmp.Compare(a.P99NS, b.P99NS)
	case "rto":
		c = cmp.Compare(rtoOrder(a.RTONS), rtoOrder(b.RTONS))
	case "lost":
		c = cmp.Compare(a.LostWrites, b.LostWrites)
	default:
		c = a.When.Compare(b.When)
	}
	if f.Desc {
		c = -c
	}
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	return c
}

// link is the list's address with one setting changed.
func (f runFilter) link(sortKey string) string {
	q := url.Values{}
	if f.Scenario != "" {
		q.Set("scenario", f.Scenario)
	}
	if f.Verdict != "" {
		q.Set("verdict", f.Verdict)
	}
	if f.Backend != "" {
		q.Set("backend", f.Backend)
	}
	q.Set("sort", sortKey)
	if sortKey == f.Sort && !f.Desc {
		q.Set("desc", "1")
	}
	return "/?" + q.Encode()
}

type column struct {
	Key, Label, Link, Mark string
}

type runGroup struct {
	ID, Kind, Title, Index string
	Runs                   []*runInfo
}

type runsPage struct {
	page
	Filter   runFilter
	Columns  []column
	Groups   []runGroup
	Backends []string
	Total    int
	Shown    int
	Results  string
}

var columnLabels = map[string]string{"scenario": "scenario", "backend": "backend", "seed": "seed", "when": "when",
	"duration": "duration", "verdict": "verdict", "availability": "availability", "p99": "p99", "rto": "RTO", "lost": "lost writes"}

func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	f := readFilter(r.URL.Query())
	runs, groups, _ := s.cat.snapshot()
	pg := runsPage{page: page{Title: "Runs", Nav: "runs"}, Filter: f, Total: len(runs), Results: s.cfg.Results}
	for _, k := range sortKeys {
		c := column{Key: k, Label: columnLabels[k], Link: f.link(k)}
		if k == f.Sort {
			c.Mark = "▲"
			if f.Desc {
				c.Mark = "▼"
			}
		}
		pg.Columns = append(pg.Columns, c)
	}
	seen := map[string]bool{}
	byGroup := map[string][]*runInfo{}
	for _, ri := range runs {
		if ri.Backend != "" && !seen[ri.Backend] {
			seen[ri.Backend] = true
			pg.Backends = append(pg.Backends, ri.Backend)
		}
		if f.keep(ri) {
			byGroup[ri.Group] = append(byGroup[ri.Group], ri)
			pg.Shown++
		}
	}
	slices.Sort(pg.Backends)
	pg.Groups = orderGroups(byGroup, groups, f)
	s.render(w, "runs", pg)
}

// orderGroups puts the runs outside any suite or analysis first, then
// each group by folder, each sorted by the filter.
func orderGroups(byGroup map[string][]*runInfo, groups map[string]*group, f runFilter) []runGroup {
	var ids []string
	for id := range byGroup {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []runGroup
	for _, id := range ids {
		rs := byGroup[id]
		slices.SortFunc(rs, f.compare)
		g := runGroup{ID: id, Runs: rs, Title: "Runs"}
		if gi, ok := groups[id]; ok {
			g.Kind, g.Index = gi.Kind, fileURL(path.Join(id, gi.Index))
			g.Title = gi.Kind + " " + id
		}
		out = append(out, g)
	}
	return out
}

// handleAPIRuns lists every run as JSON, for scripts and tests.
func (s *Server) handleAPIRuns(w http.ResponseWriter, r *http.Request) {
	runs, _, _ := s.cat.snapshot()
	writeJSON(w, http.StatusOK, runs)
}
