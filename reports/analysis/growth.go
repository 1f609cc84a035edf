package analysis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// FileGrowth is the growth comparison's JSON.
const FileGrowth = "growth.json"

// GrowthOptions configure CompareGrowth.
type GrowthOptions struct {
	Options
	// Modes are the data modes compared, in the order reported; nil means
	// sharded and proxy.
	Modes []string
}

// Growth is the result of CompareGrowth: the scenario's set additions run
// under each data mode, the same users moving in each.
type Growth struct {
	Scenario   string       `json:"scenario"`
	File       string       `json:"file"`
	Seed       uint64       `json:"seed"`
	Objectives []string     `json:"objectives"`
	Cases      []GrowthCase `json:"cases"`
	Reading    string       `json:"reading"`
	Runs       int          `json:"runs"`
	Incomplete bool         `json:"incomplete,omitempty"`
}

// GrowthCase is one data mode's run.
type GrowthCase struct {
	Mode string `json:"mode"`
	// Sets are the sets added, as the run recorded them.
	Sets []reports.SetAdded `json:"sets"`
	// CrossSetBefore and CrossSetAfter are the shares of requests with a
	// hop outside their home set before the first set was added and after
	// the last copy ended (or the last set was routed to).
	CrossSetBefore float64  `json:"cross_set_before"`
	CrossSetAfter  float64  `json:"cross_set_after"`
	Availability   float64  `json:"availability"`
	P99NS          int64    `json:"p99_ns"`
	Passed         bool     `json:"passed"`
	Failed         []string `json:"failed"`
	Dir            string   `json:"dir"`
	Incomplete     bool     `json:"incomplete,omitempty"`
}

// CompareGrowth runs a scenario that adds sets (scaling.sets) under each
// data mode: sharded storage copies the moved users' keys into the new
// set's shard, a data proxy or a global store moves none, which is the
// cost of growth the source article puts against locality.
func CompareGrowth(ctx context.Context, f *scenarios.File, o GrowthOptions) (*Growth, error) {
	if len(f.Scenario.Scaling.Sets) == 0 {
		return nil, badInput("%s adds no set (scaling.sets): there is no growth to compare", f.Path)
	}
	modes := o.Modes
	if len(modes) == 0 {
		modes = []string{"sharded", "proxy"}
	}
	seen := map[string]bool{}
	for _, m := range modes {
		if !slices.Contains([]string{"sharded", "proxy", "global"}, m) || seen[m] {
			return nil, badInput("--storage: %q is not sharded, proxy or global, or is listed twice", m)
		}
		seen[m] = true
	}
	pl, err := newPool(o.Options, f)
	if err != nil {
		return nil, err
	}
	g := &Growth{Scenario: f.Scenario.Name, File: f.Path, Seed: pl.seed, Objectives: describeObjectives(f.Scenario.SLO)}
	jobs := make([]job, len(modes))
	for i, m := range modes {
		v, err := scenarios.Derive(f, scenarios.WithDataMode(m), scenarios.WithName(f.Scenario.Name+"-"+m))
		if err != nil {
			return nil, err
		}
		jobs[i] = job{file: v, label: "data " + m}
	}
	results, err := pl.runAll(ctx, jobs)
	if err != nil && !interrupted(ctx, err) {
		return nil, err
	}
	var names []string
	for i, m := range modes {
		c := GrowthCase{Mode: m, Dir: "runs/" + m}
		if res := results[i]; res != nil {
			growthCase(&c, res)
		}
		g.Cases = append(g.Cases, c)
		names = append(names, c.Dir)
	}
	if werr := pl.writeRuns(o.Dir, results, names); werr != nil {
		return nil, werr
	}
	g.Runs, g.Incomplete = pl.n, err != nil
	g.Reading = growthReading(g)
	return g, err
}

func growthCase(c *GrowthCase, res *reports.Result) {
	c.Incomplete = res.Incomplete
	if res.Scaling != nil {
		c.Sets = res.Scaling.Sets
	}
	first, last := res.DurationNS, int64(0)
	for _, s := range c.Sets {
		first = min(first, s.Added)
		last = max(last, s.Routed, s.CopyEnd)
	}
	c.CrossSetBefore = crossShare(res, res.WarmupNS, first)
	c.CrossSetAfter = crossShare(res, last, res.DurationNS)
	m := res.Measures
	c.Availability, c.P99NS = m.Availability, m.Latency.P99
	c.Failed = failedObjectives(res)
	c.Passed = len(c.Failed) == 0 && !res.Incomplete
}

// crossShare is the share of requests sent in [from, to) with a hop
// outside their home set.
func crossShare(res *reports.Result, from, to int64) float64 {
	var cross, offered int64
	for _, w := range res.Windows {
		if w.Start >= from && w.Start+res.WindowNS <= to {
			cross += w.CrossSet
			offered += w.Counts.Offered
		}
	}
	if offered == 0 {
		return 0
	}
	return float64(cross) / float64(offered)
}

func growthReading(g *Growth) string {
	var parts []string
	for _, c := range g.Cases {
		var keys, fwd, moved int64
		var copyNS int64
		for _, s := range c.Sets {
			keys += s.Keys
			fwd += s.Forwarded
			moved += s.Moved
			if s.CopyStart >= 0 {
				copyNS += s.CopyEnd - s.CopyStart
			}
		}
		p := fmt.Sprintf("%s: %d users moved, %d keys copied", c.Mode, moved, keys)
		if keys > 0 {
			p += fmt.Sprintf(" in %s with %d requests forwarded", reports.FormatLatency(copyNS), fwd)
		}
		p += fmt.Sprintf(", cross-set %s after", reports.FormatPercent(c.CrossSetAfter))
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// Write writes growth.json, report.html and report.md into dir.
func (g *Growth) Write(dir string) error {
	return writeAll(dir, FileGrowth, g, g.page(), nil)
}

func (g *Growth) page() *page {
	pg := &page{
		Title:   "stripelab growth: " + g.Scenario,
		Reading: upperFirst(g.Reading),
		Facts: []fact{{"Scenario", g.File}, {"Seed", strconv.FormatUint(g.Seed, 10)},
			{"Holds means", objectivesText(g.Objectives)}, {"Simulations", strconv.Itoa(g.Runs)}},
		Notes: []string{"The scenario runs once per data mode with its own sets added: the same users move to each new set " +
			"(rendezvous hashing). Sharded storage copies their keys into the new set's shard at scaling.copy_rate, forwarding " +
			"a request whose key has not arrived; a data proxy or a global store moves no key. Cross-set: the share of requests " +
			"with a hop outside their home set, before the first set is added and after the last copy (or routing) ends."},
	}
	if g.Incomplete {
		pg.Title += " (incomplete)"
		pg.Stopped = stoppedNote
	}
	s := section{ID: "growth", Title: "Growth by data mode",
		Head: []string{"Data", "Set added", "Users moved", "Keys copied", "Copy took", "Requests forwarded", "Cross-set before", "Cross-set after", "Availability", "p99", "Objectives"}}
	for _, c := range g.Cases {
		for k, st := range c.Sets {
			r := row{Cells: []cell{txt(c.Mode), txt(st.Set),
				txt(fmt.Sprintf("%d of %d (%s)", st.Moved, st.Users, reports.FormatPercent(float64(st.Moved)/float64(max(st.Users, 1))))),
				txt(strconv.FormatInt(st.Keys, 10)), txt(copyText(st)), txt(strconv.FormatInt(st.Forwarded, 10)),
				txt(reports.FormatPercent(c.CrossSetBefore)), txt(reports.FormatPercent(c.CrossSetAfter)),
				txt(reports.FormatPercent(c.Availability)), txt(reports.FormatLatency(c.P99NS)),
				passCell(c.Passed, c.Failed, c.Dir+"/"+reports.FileHTML)}}
			if k > 0 {
				r.Cells[0] = txt("")
			}
			s.Rows = append(s.Rows, r)
		}
		if len(c.Sets) == 0 {
			s.Rows = append(s.Rows, row{Class: "fail", Cells: []cell{txt(c.Mode), txt("(run did not end)")}})
		}
	}
	pg.Sections = append(pg.Sections, s)
	return pg
}

func copyText(s reports.SetAdded) string {
	if s.CopyStart < 0 {
		return "-"
	}
	return reports.FormatLatency(s.CopyEnd - s.CopyStart)
}
