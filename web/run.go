package web

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

type keyFigure struct{ Name, Value string }

type verdictRow struct {
	Name, Target, Measured, Window, Detail, Class string
}

type faultRow struct {
	Name, Kind, Target, Window, Availability, Detection, Reroute, RTO, LostWrites, Users string
}

type eventRow struct{ T, Kind, Fault, Detail string }

type plotLink struct{ Name, Title, Src string }

// chartSlot is an interactive chart's place on the page, holding the
// static PNG of the same measure until the script replaces it.
type chartSlot struct {
	Kind, Title, Fallback string
}

type runPage struct {
	page
	Run      *runInfo
	Res      *reports.Result
	Line     string
	Key      []keyFigure
	Verdicts []verdictRow
	Faults   []faultRow
	Events   []eventRow
	Charts   []chartSlot
	Heat     heatmap
	Text     []textLine
	Plots    []plotLink
	Links    []plotLink
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	res, ri, err := s.cat.result(id)
	if err != nil {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no run %q under the results folder", id))
		return
	}
	pg := runPage{page: page{Title: res.Scenario + ": " + ri.Status, Nav: "runs"}, Run: ri, Res: res}
	pg.Line = runLine(res)
	pg.Key = keyFigures(res)
	for i := range res.Verdicts {
		pg.Verdicts = append(pg.Verdicts, newVerdictRow(&res.Verdicts[i]))
	}
	for i := range res.Faults {
		pg.Faults = append(pg.Faults, newFaultRow(res, i))
	}
	pg.Events = timeline(res)
	pg.Plots = s.plots(id)
	pg.Charts = chartSlots(id, pg.Plots)
	pg.Heat = newHeatmap(res, maxHeatColumns)
	pg.Text = scenarioLines(res.Text)
	for _, name := range ri.Files {
		pg.Links = append(pg.Links, plotLink{Name: name, Src: fileURL(path.Join(id, name))})
	}
	pg.Links = append(pg.Links, plotLink{Name: reports.FileResult, Src: fileURL(path.Join(id, reports.FileResult))})
	s.render(w, "run", pg)
}

func runLine(res *reports.Result) string {
	parts := []string{"seed " + strconv.FormatUint(res.Seed, 10), "backend " + res.Backend,
		reports.FormatLatency(res.DurationNS) + " run", reports.FormatLatency(res.WarmupNS) + " warm-up",
		reports.FormatLatency(res.WindowNS) + " windows"}
	if res.Incomplete {
		parts = append(parts, "INCOMPLETE: stopped at "+reports.FormatTime(int64(len(res.Windows))*res.WindowNS))
	}
	return strings.Join(parts, " · ")
}

func keyFigures(res *reports.Result) []keyFigure {
	m, t := res.Measures, &res.Totals
	l := &m.Latency
	var pri []string
	for k, name := range scenarios.PriorityNames {
		if t.ByPriority[k].Offered > 0 {
			pri = append(pri, name+" "+reports.FormatPercent(m.ByPriority[k]))
		}
	}
	c := &res.Cost
	return append([]keyFigure{
		{"Availability", reports.FormatPercent(m.Availability)},
		{"Availability outside faults", reports.FormatPercent(m.AvailabilitySteady)},
		{"Availability by priority", strings.Join(pri, " · ")},
		{"Latency p50 / p90 / p99 / p99.9", strings.Join([]string{reports.FormatLatency(l.P50), reports.FormatLatency(l.P90),
			reports.FormatLatency(l.P99), reports.FormatLatency(l.P999)}, " / ")},
		{"Requests offered (after warm-up)", strconv.FormatInt(t.Counts.Offered, 10)},
		{"Acknowledged writes lost", strconv.FormatInt(m.LostWrites, 10)},
		{"Cross-region share", reports.FormatPercent(m.CrossRegion)},
		{"Retry amplification", strconv.FormatFloat(m.RetryAmplification, 'f', 3, 64) + " attempts per request"},
		{"Cost", fmt.Sprintf("%d machines, %d sets, %d instances, %d shards", c.Machines, c.Sets, c.Instances, c.Shards)},
	}, scalingFigures(res)...)
}

// scalingFigures sum up a run that scaled: each scaled component's
// instances and instance-hours, each set added or removed.
func scalingFigures(res *reports.Result) []keyFigure {
	sc := res.Scaling
	if sc == nil {
		return nil
	}
	var out []keyFigure
	for _, c := range sc.Components {
		end := 0
		if n := len(c.Provisioned); n > 0 {
			end = int(c.Provisioned[n-1])
		}
		out = append(out, keyFigure{"Instances of " + c.Name, fmt.Sprintf("%d at start, peak %d, %d at end; %.3g instance-hours (%.3g without scaling)",
			c.Initial, c.Peak, end, c.InstanceHours(), c.StaticHours())})
	}
	for _, s := range sc.Sets {
		what := "Set added "
		if s.Removed {
			what = "Set removed "
		}
		out = append(out, keyFigure{what + s.Set, fmt.Sprintf("%d of %d users moved, %d keys copied, %d requests forwarded", s.Moved, s.Users, s.Keys, s.Forwarded)})
	}
	return out
}

func newVerdictRow(v *reports.Verdict) verdictRow {
	r := verdictRow{Name: v.Name(), Target: v.Target, Measured: v.Measured, Detail: v.Detail, Class: "pass"}
	if !v.Pass {
		r.Class = "fail"
	}
	if v.WindowStart >= 0 {
		r.Window = reports.FormatTime(v.WindowStart) + "–" + reports.FormatTime(v.WindowEnd)
	}
	return r
}

func optDur(ns int64) string {
	if ns < 0 {
		return "—"
	}
	return "+" + reports.FormatLatency(ns)
}

func newFaultRow(res *reports.Result, i int) faultRow {
	f, fm := &res.Faults[i], &res.Measures.Faults[i]
	return faultRow{Name: f.Name, Kind: f.Kind, Target: f.Target,
		Window:       reports.FormatTime(f.Start) + "–" + reports.FormatTime(f.End),
		Availability: reports.FormatPercent(fm.Availability), Detection: optDur(fm.Detection),
		Reroute: optDur(fm.Reroute), RTO: reports.FormatLatency(fm.RTO), LostWrites: strconv.FormatInt(fm.LostWrites, 10),
		Users: reports.FormatPercent(fm.BlastUsers)}
}

// timeline lists the run's events by time, with each fault's start and
// end and its recovery (the end of its RTO) added where the backend did
// not log them.
func timeline(res *reports.Result) []eventRow {
	type ev struct {
		reports.Event
		seq int
	}
	var evs []ev
	logged := map[string]bool{}
	for i, e := range res.Events {
		evs = append(evs, ev{e, i})
		logged[e.Kind+"/"+strconv.Itoa(e.Fault)] = true
	}
	n := len(evs)
	for i, f := range res.Faults {
		key := "/" + strconv.Itoa(i)
		if !logged[reports.EvFaultStart+key] {
			evs = append(evs, ev{reports.Event{T: f.Start, Kind: reports.EvFaultStart, Fault: i, Detail: f.Kind + " " + f.Target}, n + 3*i})
		}
		if !logged[reports.EvFaultEnd+key] && f.End < res.DurationNS {
			evs = append(evs, ev{reports.Event{T: f.End, Kind: reports.EvFaultEnd, Fault: i}, n + 3*i + 1})
		}
		if rto := res.Measures.Faults[i].RTO; !logged[reports.EvRecovered+key] && rto > 0 {
			evs = append(evs, ev{reports.Event{T: f.Start + rto, Kind: reports.EvRecovered, Fault: i,
				Detail: "availability back above the objective (RTO " + reports.FormatLatency(rto) + ")"}, n + 3*i + 2})
		}
	}
	sort.Slice(evs, func(a, b int) bool {
		if evs[a].T != evs[b].T {
			return evs[a].T < evs[b].T
		}
		return evs[a].seq < evs[b].seq
	})
	out := make([]eventRow, 0, len(evs))
	for _, e := range evs {
		r := eventRow{T: reports.FormatTime(e.T), Kind: e.Kind, Detail: e.Detail}
		if e.Fault >= 0 && e.Fault < len(res.Faults) {
			r.Fault = res.Faults[e.Fault].Name
		}
		out = append(out, r)
	}
	return out
}

// plotTitles names the run report's plots (plots/NAME.png).
var plotTitles = map[string]string{
	"latency": "Latency percentiles", "availability": "Availability", "throughput": "Throughput",
	"failures": "Failures by reason", "sets": "Failures by set",
}

// plots lists the PNG plots of a run folder, the report's own first.
func (s *Server) plots(id string) []plotLink {
	dir := path.Join(id, reports.DirPlots)
	entries, err := fs.ReadDir(s.root.FS(), dir)
	if err != nil {
		return nil
	}
	var out []plotLink
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".png")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		title := plotTitles[name]
		if title == "" {
			title = strings.ReplaceAll(name, "-", " ")
		}
		out = append(out, plotLink{Name: name, Title: title, Src: fileURL(path.Join(dir, e.Name()))})
	}
	return out
}

// chartKinds are the interactive charts of a run, in page order, with the
// static plot shown in their place when scripts are blocked.
var chartKinds = []struct{ Kind, Title, Plot string }{
	{"latency", "Latency percentiles of successful requests (ms)", "latency"},
	{"availability", "Availability, overall and by priority (%)", "availability"},
	{"throughput", "Throughput, offered and served (requests/s)", "throughput"},
	{"failures", "Failures by reason, stacked (requests/s)", "failures"},
}

func chartSlots(id string, plots []plotLink) []chartSlot {
	src := map[string]string{}
	for _, p := range plots {
		src[p.Name] = p.Src
	}
	out := make([]chartSlot, 0, len(chartKinds))
	for _, k := range chartKinds {
		out = append(out, chartSlot{Kind: k.Kind, Title: k.Title, Fallback: src[k.Plot]})
	}
	return out
}
