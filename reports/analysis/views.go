package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

var (
	pct     = reports.FormatPercent
	latency = reports.FormatLatency
)

// rtoText is an RTO with what it means against the fault's length:
// "2m0s (recovered only when the fault ended)".
func rtoText(rto, faultLen, window int64) string {
	if note := reports.RTONote(rto, faultLen, window); note != "" {
		return latency(rto) + " (" + note + ")"
	}
	return latency(rto)
}

func optDur(ns int64) string {
	if ns < 0 {
		return "—"
	}
	return "+" + latency(ns)
}

// stoppedNote is the banner of an interrupted analysis.
const stoppedNote = "This analysis was interrupted (Ctrl-C): its figures cover only the runs that ended. " +
	"A run marked stopped covers what it reached and a run marked not run never started; neither counts in any ranking or verdict."

// runCell shows a run that did not end instead of its figures: "not run"
// or the figure with a note that the run was stopped.
func runCell(notRun, incomplete bool, c cell) cell {
	switch {
	case notRun:
		return cell{Text: "not run", Class: "incomplete"}
	case incomplete:
		c.Class, c.Detail = "incomplete", strings.TrimPrefix(c.Detail+"; run stopped early", "; ")
	}
	return c
}

func passCell(passed bool, failed []string, link string) cell {
	c := cell{Text: "pass", Class: "pass", Link: link}
	if !passed {
		c.Text, c.Class, c.Detail = fmt.Sprintf("FAIL (%d)", len(failed)), "fail", strings.Join(failed, "; ")
	}
	return c
}

func byPriority(v [reports.NumPriorities]float64) string {
	parts := make([]string, len(v))
	for k := range v {
		parts[k] = scenarios.PriorityNames[k] + " " + pct(v[k])
	}
	return strings.Join(parts, " · ")
}

func perSetLine(ps []PerSet) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%d %s", p.Instances, p.Component)
	}
	return strings.Join(parts, " · ")
}

func objectivesText(objs []string) string {
	if len(objs) == 0 {
		return "none set"
	}
	return strings.Join(objs, "; ")
}

// Write writes compare.json, report.html, report.md and plots/ into dir.
func (c *Comparison) Write(dir string) error {
	figs, err := renderAll(c.charts())
	if err != nil {
		return err
	}
	return writeAll(dir, FileCompare, c, c.page(), figs)
}

func (c *Comparison) page() *page {
	sizing := "equal: each component's total instances as in the scenario's " + c.Base.Granularity +
		" layout, spread as ceil(total / sets) per set, at least one"
	if c.Sizing == "slo" {
		sizing = "for the objectives: the smallest instances per set with which every run meets every objective (searched)"
	}
	pg := &page{
		Title:   "stripelab compare: " + c.Scenario,
		Reading: upperFirst(c.Reading),
		Facts: []fact{
			{"Scenario", c.File}, {"Seed", strconv.FormatUint(c.Seed, 10)},
			{"Scenario's own layout", fmt.Sprintf("%s striping, %d sets, %s per set, %d instances", c.Base.Granularity, c.Base.Sets, perSetLine(c.Base.PerSet), c.Base.Instances)},
			{"Sizing", sizing}, {"Objectives", objectivesText(c.Objectives)},
			{"Simulations", strconv.Itoa(c.Runs)},
		},
		Notes: []string{"Each fault runs alone, in its own run, at the same time and on the same place under every striping; the same seed drives every run. " +
			"Users hit is the share of users active during the fault who saw a failure; sets hit the share of sets whose availability fell below the objective in some window of the fault. " +
			"Steady state is measured before the fault (after warm-up). Extra instances are counted against the scenario's own layout."},
	}
	if c.Incomplete {
		pg.Title += " (incomplete)"
		pg.Stopped = stoppedNote
	}
	pg.Sections = append(pg.Sections, c.sideBySide(), c.suiteSection())
	if c.Sizing == "slo" {
		pg.Sections = append(pg.Sections, c.sizeSection())
	}
	return pg
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (c *Comparison) sideBySide() section {
	s := section{ID: "side-by-side", Title: "Side by side", Head: []string{""}}
	for _, l := range c.Layouts {
		s.Head = append(s.Head, l.Granularity+" striping")
	}
	add := func(name string, f func(l *Layout) cell) {
		r := row{Cells: []cell{txt(name)}}
		for i := range c.Layouts {
			r.Cells = append(r.Cells, f(&c.Layouts[i]))
		}
		s.Rows = append(s.Rows, r)
	}
	addRun := func(k int) func(string, func(l *Layout) cell) {
		return func(name string, f func(l *Layout) cell) {
			add(name, func(l *Layout) cell {
				o := &l.Faults[k]
				return runCell(o.NotRun, o.Incomplete, f(l))
			})
		}
	}
	group := func(name string) {
		r := row{Class: "group", Cells: []cell{txt(name)}}
		for range c.Layouts {
			r.Cells = append(r.Cells, txt(""))
		}
		s.Rows = append(s.Rows, r)
	}
	group("Cost")
	add("Sets", func(l *Layout) cell { return txt(strconv.Itoa(l.Cost.Sets)) })
	add("Instances per set", func(l *Layout) cell { return txt(perSetLine(l.PerSet)) })
	add("Instances (every role)", func(l *Layout) cell {
		return txt(fmt.Sprintf("%d (%+d against the scenario's layout)", l.Cost.Instances, l.ExtraInstances))
	})
	add("By role", func(l *Layout) cell { return txt(rolesLine(l.Cost.ByRole)) })
	add("Machines · cores · shards", func(l *Layout) cell {
		return txt(fmt.Sprintf("%d · %d · %d", l.Cost.Machines, l.Cost.Cores, l.Cost.Shards))
	})
	if c.Sizing == "slo" {
		add("Size search", func(l *Layout) cell {
			if l.Size.Incomplete {
				return cell{Text: "interrupted before it ended", Class: "incomplete"}
			}
			if l.Size.Met {
				return txt(fmt.Sprintf("met at scale %d (equal sizing: %d)", l.Size.Scale, l.Size.Equal))
			}
			return cell{Text: fmt.Sprintf("not met up to scale %d (equal sizing: %d)", l.Size.Scale, l.Size.Equal), Class: "fail"}
		})
	}
	group("Steady state (before the fault)")
	add("Availability", func(l *Layout) cell { return txt(pct(l.Steady.Availability)) })
	add("Latency p99", func(l *Layout) cell { return txt(latency(l.Steady.P99NS)) })
	add("Cross-set share", func(l *Layout) cell { return txt(pct(l.Steady.CrossSet)) })
	add("Cross-region share", func(l *Layout) cell { return txt(pct(l.Steady.CrossRegion)) })
	for k := range c.Faults() {
		c.faultRows(k, group, addRun(k))
	}
	group("Verdict")
	add("Every objective in every run", func(l *Layout) cell {
		switch {
		case l.Incomplete:
			return cell{Text: "unknown: not every run ended", Class: "incomplete"}
		case l.Passed:
			return cell{Text: "yes", Class: "pass"}
		}
		return cell{Text: "no", Class: "fail"}
	})
	return s
}

// Faults lists the suite, or the one run without faults when it is empty.
func (c *Comparison) Faults() []SuiteFault {
	if len(c.Suite) == 0 {
		return []SuiteFault{{Class: "no fault"}}
	}
	return c.Suite
}

func (c *Comparison) faultRows(k int, group func(string), add func(string, func(l *Layout) cell)) {
	sf := c.Faults()[k]
	title := sf.Class
	if sf.Kind != "" {
		title += ": " + sf.Target + ", " + reports.FormatTime(sf.AtNS) + " for " + latency(sf.ForNS)
	}
	group(title)
	bestUsers := 2.0
	for _, l := range c.Layouts {
		if l.Faults[k].complete() {
			bestUsers = min(bestUsers, l.Faults[k].BlastUsers)
		}
	}
	add("Users hit", func(l *Layout) cell {
		o := &l.Faults[k]
		cl := ""
		if o.complete() && o.BlastUsers == bestUsers && len(c.Layouts) > 1 {
			cl = "best"
		}
		return cell{Text: pct(o.BlastUsers), Class: cl}
	})
	add("Sets hit", func(l *Layout) cell {
		o := &l.Faults[k]
		return txt(fmt.Sprintf("%s (%d of %d)", pct(o.BlastSets), o.SetsAffected, l.Cost.Sets))
	})
	add("Availability in the fault", func(l *Layout) cell { return txt(pct(l.Faults[k].Availability)) })
	add("By priority", func(l *Layout) cell { return txt(byPriority(l.Faults[k].ByPriority)) })
	add("Latency p99 in the fault", func(l *Layout) cell { return txt(latency(l.Faults[k].P99NS)) })
	add("RTO", func(l *Layout) cell { return txt(rtoText(l.Faults[k].RTONS, sf.ForNS, c.WindowNS)) })
	add("Detected · rerouted", func(l *Layout) cell {
		return txt(optDur(l.Faults[k].DetectionNS) + " · " + optDur(l.Faults[k].RerouteNS))
	})
	add("Writes lost", func(l *Layout) cell { return txt(strconv.FormatInt(l.Faults[k].LostWrites, 10)) })
	add("Objectives (run report)", func(l *Layout) cell {
		o := &l.Faults[k]
		return passCell(o.Passed, o.Failed, o.Dir+"/report.html")
	})
}

func rolesLine(m map[string]int) string {
	var parts []string
	for _, r := range []string{"gateway", "service", "proxy", "shard", "registry"} {
		if n := m[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	return strings.Join(parts, ", ")
}

func (c *Comparison) suiteSection() section {
	s := section{ID: "suite", Title: "Fault suite", Head: []string{"Class", "Fault", "Target", "Window"},
		Note: "One loss of each place class the topology has more than one of, on nested places of the city with the most users (its first AZ, that AZ's first rack, and that rack's first machine running a gateway or service instance in every layout)."}
	if c.ScenarioFaults {
		s.Note = "The scenario's own faults, each alone in its own run."
	}
	for _, sf := range c.Suite {
		s.Rows = append(s.Rows, row{Cells: []cell{txt(sf.Class), txt(sf.Name), txt(sf.Target),
			txt(reports.FormatTime(sf.AtNS) + "–" + reports.FormatTime(sf.AtNS+sf.ForNS))}})
	}
	if len(c.Suite) == 0 {
		s.Note = "The topology has no place class with more than one place: one run without faults per layout."
	}
	return s
}

func (c *Comparison) sizeSection() section {
	s := section{ID: "size-search", Title: "Size search", Head: []string{"Striping", "Scales tried (largest component per set)", "Chosen"},
		Note: "The scale is the per-set count of the largest component; the others follow in proportion (at least one). The equal-total size is tried first, then halved towards one or doubled up to four times, then bisected; more instances are assumed never to hurt."}
	for _, l := range c.Layouts {
		if l.Size == nil {
			continue
		}
		var tried []string
		for _, p := range l.Size.Probes {
			mark := "pass"
			if !p.Passed {
				mark = "fail"
			}
			tried = append(tried, fmt.Sprintf("%d %s", p.Scale, mark))
		}
		chosen := fmt.Sprintf("%d: %s", l.Size.Scale, perSetLine(l.PerSet))
		switch {
		case l.Size.Incomplete:
			chosen = "interrupted before the search ended"
		case !l.Size.Met:
			chosen = "not met; reported at " + chosen
			if n := len(l.Size.Probes); n > 0 {
				chosen += "; still failing: " + strings.Join(verdictNames(l.Size.Probes[n-1].Failed), ", ")
			}
		}
		s.Rows = append(s.Rows, row{Cells: []cell{txt(l.Granularity), txt(strings.Join(tried, ", ")), txt(chosen)}})
	}
	return s
}

// verdictNames keeps the names of failed objectives ("rto [lose az
// c/a]"), once each, in order.
func verdictNames(failed []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range failed {
		name, _, _ := strings.Cut(f, ": ")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// chartClasses are the fault classes the charts show: those every layout
// finished (all of them unless the comparison was interrupted).
func (c *Comparison) chartClasses() []int {
	if len(c.Suite) == 0 {
		if len(c.Layouts) > 0 && !c.Incomplete {
			return []int{0}
		}
		return nil
	}
	return c.completeClasses()
}

func (c *Comparison) charts() []chart {
	var groups, series []string
	classes := c.chartClasses()
	for _, k := range classes {
		groups = append(groups, c.Faults()[k].Class)
	}
	for _, l := range c.Layouts {
		series = append(series, l.Granularity+" striping")
	}
	per := func(f func(o *FaultOutcome) float64) [][]float64 {
		out := make([][]float64, len(c.Layouts))
		for i := range c.Layouts {
			for _, k := range classes {
				out[i] = append(out[i], f(&c.Layouts[i].Faults[k]))
			}
		}
		return out
	}
	if len(classes) == 0 {
		return []chart{{"cost", c.costChart}}
	}
	b := func(name, title, ylabel string, v [][]float64, ymin float64) chart {
		return chart{name, bars{title: title, xlabel: "fault", ylabel: ylabel, groups: groups, series: series,
			values: v, ymin: ymin, highlight: -1}.plot}
	}
	return []chart{
		b("blast-users", "Blast radius: share of users hit, by striping", "users hit (% of active users)",
			per(func(o *FaultOutcome) float64 { return 100 * o.BlastUsers }), 0),
		b("blast-sets", "Blast radius: share of sets hit, by striping", "sets below the objective (%)",
			per(func(o *FaultOutcome) float64 { return 100 * o.BlastSets }), 0),
		{"availability-in-fault", dots{title: "Availability inside the fault window, by striping", xlabel: "fault", ylabel: "availability (% served)",
			groups: groups, series: series, values: per(func(o *FaultOutcome) float64 { return 100 * o.Availability }), ymax: 100,
			objective: 100 * c.InFaultObjective, objectiveName: "objective in a fault", highlight: -1}.plot},
		b("p99-in-fault", "Latency p99 inside the fault window, by striping", "p99 (ms)",
			per(func(o *FaultOutcome) float64 { return float64(o.P99NS) / 1e6 }), 0),
		b("rto", "Recovery time (RTO) by striping (a fault never recovered from is not drawn)", "RTO (s)",
			per(func(o *FaultOutcome) float64 { return max(0, float64(o.RTONS)/1e9) }), 0),
		{"cost", c.costChart},
	}
}

// costChart stacks each layout's instances by role.
func (c *Comparison) costChart() (*plot.Plot, error) {
	roles := []string{"gateway", "service", "proxy", "shard", "registry"}
	var groups []string
	for _, l := range c.Layouts {
		groups = append(groups, l.Granularity+" striping")
	}
	p := reports.NewChart("Cost: instances by role and striping", "striping", "instances")
	hi := 0.0
	var below *plotter.BarChart
	for ri, r := range roles {
		vals := make(plotter.Values, len(c.Layouts))
		any := false
		for i, l := range c.Layouts {
			vals[i] = float64(l.Cost.ByRole[r])
			any = any || vals[i] > 0
		}
		if !any {
			continue
		}
		bc, err := plotter.NewBarChart(vals, 60)
		if err != nil {
			return nil, err
		}
		bc.Color, bc.LineStyle.Width = seriesColor(ri), 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(r, reports.Swatch(seriesColor(ri)))
	}
	for _, l := range c.Layouts {
		hi = max(hi, float64(l.Cost.Instances))
	}
	p.NominalX(groups...)
	p.Y.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.Y.Min, p.Y.Max = 0, max(hi, 1)*1.08 // the legend is beside the plot
	return p, nil
}

// Write writes capacity.json, report.html, report.md and plots/ into dir.
func (c *Capacity) Write(dir string) error {
	figs, err := renderAll(c.charts())
	if err != nil {
		return err
	}
	return writeAll(dir, FileCapacity, c, c.page(), figs)
}

func (c *Capacity) page() *page {
	st := c.Setup
	setup := fmt.Sprintf("constant rate, no scenario fault; %s warm-up, then %s measured", latency(st.WarmupNS), latency(st.MeasureNS))
	if c.Lose != "" {
		setup += fmt.Sprintf("; N-1: the %s lost at %s, measured from %s (after %s for re-homing, discovery and data failover to settle) for %s",
			c.Lose, reports.FormatTime(st.LossAtNS), reports.FormatTime(st.LossAtNS+st.SettleNS), latency(st.SettleNS), latency(st.MeasureNS))
	}
	objs := objectivesText(c.Objectives)
	if c.DefaultAvailability {
		objs += " (availability 99.9% added: the scenario sets no availability objective, and shed requests do not count in latency)"
	}
	pg := &page{
		Title:   "stripelab capacity: " + c.Scenario,
		Reading: upperFirst(c.Reading),
		Facts: []fact{
			{"Scenario", c.File}, {"Seed", strconv.FormatUint(c.Seed, 10)},
			{"Peak offered rate (the scenario's)", formatRate(c.PeakRate)},
			{"Holds means", objs}, {"Probes", setup},
			{"Precision", fmt.Sprintf("bisection until the bracket is within %s of the rate that held", trimZeros(fmt.Sprintf("%.2f", 100*c.Precision))+"%")},
			{"Simulations", strconv.Itoa(c.Runs)},
		},
		Notes: []string{"Each probe is a short run (see Probes): the limits are those of the measured stretch, not of a long run with its slow drifts. " +
			"The searches start at the peak rate, double while the objectives hold (or halve while they fail), then bisect. " +
			"An N-1 probe holds when the loss of every place holds; the place that was worst runs first and, when it fails, the others are not run."},
	}
	if c.Incomplete {
		pg.Title += " (incomplete)"
		pg.Stopped = stoppedNote
	}
	pg.Sections = append(pg.Sections, c.limitSection(), c.instanceSection(), c.probeSection())
	return pg
}

func (c *Capacity) limitSection() section {
	s := section{ID: "limits", Title: "Limits and headroom",
		Head: []string{"Search", "Holds up to", "Fails at", "Headroom at the peak", "Availability at the limit", "p99 at the limit", "Worst place", "What failed above"}}
	add := func(name string, l *Limit) {
		head := "—"
		if l.Held > 0 {
			head = fmt.Sprintf("%+.0f req/s (%+.1f%% of the limit)", l.HeadroomRate, 100*l.HeadroomPct)
		}
		failedAt, held := formatRate(l.Failed), formatRate(l.Held)
		if l.Failed == 0 {
			failedAt = "not reached"
		}
		if l.Held == 0 {
			held = "no rate"
		}
		r := row{Cells: []cell{txt(name), txt(held), txt(failedAt), txt(head), txt(pct(l.Availability)), txt(latency(l.P99NS)),
			txt(orDash(l.Worst)), txt(strings.Join(l.FailedWhy, "; "))}}
		if l.HeadroomRate < 0 || l.Held == 0 {
			r.Class = "fail"
		}
		if c.Incomplete {
			r.Cells[1].Detail, r.Cells[2].Detail = "so far (interrupted)", "so far (interrupted)"
		}
		s.Rows = append(s.Rows, r)
	}
	add("steady state", &c.Steady)
	if c.N1 != nil {
		add("N-1: worst "+c.Lose+" lost", c.N1)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (c *Capacity) instanceSection() section {
	in := c.Instances
	what := "steady state at the peak rate"
	if in.Against == searchN1 {
		what = "the worst " + c.Lose + " lost at the peak rate"
	}
	s := section{ID: "instances", Title: "Instances per set to hold " + what,
		Head: []string{"Component", "Per set now", "Smallest that held", "Recommended (one spare)"}}
	for i, p := range in.PerSet {
		s.Rows = append(s.Rows, row{Cells: []cell{txt(p.Component), txt(strconv.Itoa(in.Now[i].Instances)),
			txt(strconv.Itoa(in.Held[i].Instances)), txt(strconv.Itoa(p.Instances))}})
	}
	var tried []string
	for _, p := range in.Probes {
		mark := "held"
		if !p.Passed {
			mark = "failed"
		}
		tried = append(tried, fmt.Sprintf("%d %s", p.Scale, mark))
	}
	s.Note = "Scales tried (per-set count of the largest component, the others in proportion): " + strings.Join(tried, ", ") + ". " +
		"The recommendation adds one instance of each component to the smallest size that held, so that a set which loses one instance (its machine) still holds."
	switch {
	case in.Incomplete:
		s.Note += " The search was interrupted before it ended: no size is recommended."
	case !in.Met:
		s.Note += " None held: more instances per set do not fix what fails (data, machine cores, re-homing or the objectives themselves)."
	}
	return s
}

func (c *Capacity) probeSection() section {
	s := section{ID: "probes", Title: "Every probe", Head: []string{"Search", "Offered", "Scale", "Held", "Availability", "p99", "Worst place", "Failed objectives"}}
	for _, p := range c.Probes {
		held := cell{Text: "held", Class: "pass"}
		switch {
		case p.Incomplete:
			held = cell{Text: "stopped (interrupted)", Class: "incomplete"}
		case !p.Held:
			held = cell{Text: "failed", Class: "fail"}
		}
		s.Rows = append(s.Rows, row{Cells: []cell{txt(p.Search), txt(formatRate(p.Rate)), txt(strconv.Itoa(p.Scale)), held,
			txt(pct(p.Availability)), txt(latency(p.P99NS)), txt(orDash(p.Worst)), txt(strings.Join(p.Failed, "; "))}})
	}
	return s
}

// curvePoints are the probes at the scenario's size of one or more searches.
func (c *Capacity) curvePoints(y func(p *Probe) float64, searches ...string) []plotter.XY {
	var out []plotter.XY
	for i := range c.Probes {
		p := &c.Probes[i]
		if p.Scale != c.Instances.Current || p.Incomplete {
			continue
		}
		for _, s := range searches {
			if p.Search == s {
				out = append(out, plotter.XY{X: p.Rate, Y: y(p)})
			}
		}
	}
	return out
}

func (c *Capacity) charts() []chart {
	series := []string{"steady state (search and sweep)"}
	var marks []vmark
	marks = append(marks, vmark{"scenario peak " + formatRate(c.PeakRate), c.PeakRate, reports.SeriesColors[7]})
	if c.Steady.Held > 0 {
		marks = append(marks, vmark{"steady limit (knee) " + formatRate(c.Steady.Held), c.Steady.Held, reports.SeriesColors[0]})
	}
	if c.N1 != nil {
		series = append(series, "N-1: worst "+c.Lose+" lost")
		if c.N1.Held > 0 {
			marks = append(marks, vmark{"N-1 limit " + formatRate(c.N1.Held), c.N1.Held, reports.SeriesColors[1]})
		}
	}
	pts := func(y func(p *Probe) float64) [][]plotter.XY {
		out := [][]plotter.XY{c.curvePoints(y, searchSteady, searchSweep)}
		if c.N1 != nil {
			out = append(out, c.curvePoints(y, searchN1))
		}
		return out
	}
	return []chart{
		{"capacity-latency", curve{title: "Capacity curve: latency p99 against offered rate", ylabel: "p99 of successful requests (ms, log scale)",
			series: series, points: pts(func(p *Probe) float64 { return float64(p.P99NS) / 1e6 }), log: true, marks: marks,
			hline: float64(c.P99ObjectiveNS) / 1e6, hlineName: "p99 objective"}.plot},
		{"capacity-availability", curve{title: "Capacity curve: availability against offered rate", ylabel: "availability (% served)",
			series: series, points: pts(func(p *Probe) float64 { return 100 * p.Availability }), marks: marks,
			hline: 100 * c.AvailabilityObjective, hlineName: "availability objective"}.plot},
	}
}

// Write writes failover.json, report.html, report.md and plots/ into dir.
func (fs *FailoverSweep) Write(dir string) error {
	figs, err := renderAll(fs.charts())
	if err != nil {
		return err
	}
	return writeAll(dir, FileFailover, fs, fs.page(), figs)
}

func (fs *FailoverSweep) page() *page {
	pg := &page{
		Title:   "stripelab failover: " + fs.Scenario,
		Reading: upperFirst(fs.Reading),
		Facts: []fact{
			{"Scenario", fs.File}, {"Seed", strconv.FormatUint(fs.Seed, 10)},
			{"Lost in turn", fmt.Sprintf("every %s (%d runs, one loss each)", fs.Lose, len(fs.Rows))},
			{"Loss window", reports.FormatTime(fs.AtNS) + "–" + reports.FormatTime(fs.AtNS+fs.ForNS) + ": " + fs.Window},
			{"Objectives", objectivesText(fs.Objectives)}, {"Simulations", strconv.Itoa(fs.Runs)},
		},
		Notes: []string{"The scenario's own faults are replaced by the loss. Times are from the start of the loss; — means it did not happen; RTO runs until availability is back above the objective and stays there. " +
			"The highlighted row is the loss that hurts most: lowest availability in the window, then most users hit, longest RTO, most writes lost."},
	}
	if fs.Incomplete {
		pg.Title += " (incomplete)"
		pg.Stopped = stoppedNote
	}
	s := section{ID: "losses", Title: "One row per " + fs.Lose + " lost",
		Head: []string{"Lost", "Detected", "Rerouted", "Failover done", "RTO", "Writes lost", "Availability", "By priority", "p99", "Users hit", "Sets hit", "Objectives"}}
	for i, r := range fs.Rows {
		lost := strconv.FormatInt(r.LostWrites, 10)
		if r.LostWrites > 0 {
			lost += " over " + latency(r.LostSpanNS)
		}
		name := r.Place
		rw := row{}
		if i == fs.Worst {
			name, rw.Class = name+" (hurts most)", "worst"
		}
		if r.NotRun {
			rw.Cells = []cell{txt(name), runCell(true, false, cell{})}
			for len(rw.Cells) < len(s.Head) {
				rw.Cells = append(rw.Cells, txt("—"))
			}
			s.Rows = append(s.Rows, rw)
			continue
		}
		if r.Incomplete {
			name += " (stopped)"
		}
		rw.Cells = []cell{txt(name), txt(optDur(r.DetectionNS)), txt(optDur(r.RerouteNS)), txt(optDur(r.FailoverDoneNS)),
			txt(rtoText(r.RTONS, fs.ForNS, fs.WindowNS)), txt(lost), txt(pct(r.Availability)), txt(byPriority(r.ByPriority)), txt(latency(r.P99NS)),
			txt(fmt.Sprintf("%s (%d of %d)", pct(r.BlastUsers), r.UsersFailed, r.UsersActive)),
			txt(fmt.Sprintf("%s (%d of %d)", pct(r.BlastSets), r.SetsAffected, r.Sets)),
			passCell(r.Passed, r.Failed, r.Dir+"/report.html")}
		s.Rows = append(s.Rows, rw)
	}
	pg.Sections = []section{s}
	return pg
}

func (fs *FailoverSweep) charts() []chart {
	var groups []string
	var rows []*FailoverRow // the losses whose runs ended
	worst := -1
	for i := range fs.Rows {
		if fs.Rows[i].complete() {
			if i == fs.Worst {
				worst = len(rows)
			}
			rows = append(rows, &fs.Rows[i])
			groups = append(groups, fs.Rows[i].Place)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	col := func(f func(r *FailoverRow) float64) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = f(r)
		}
		return out
	}
	secs := func(ns int64) float64 { return max(0, float64(ns)/1e9) }
	x := fs.Lose + " lost"
	return []chart{
		{"availability", dots{title: "Availability inside the loss window, by " + fs.Lose + " lost", xlabel: x, ylabel: "availability (% served)",
			groups: groups, series: []string{"availability"}, values: [][]float64{col(func(r *FailoverRow) float64 { return 100 * r.Availability })},
			ymax: 100, highlight: worst}.plot},
		{"blast-radius", bars{title: "Blast radius by " + fs.Lose + " lost", xlabel: x, ylabel: "share hit (%)",
			groups: groups, series: []string{"users hit", "sets hit"}, highlight: worst,
			values: [][]float64{col(func(r *FailoverRow) float64 { return 100 * r.BlastUsers }), col(func(r *FailoverRow) float64 { return 100 * r.BlastSets })}}.plot},
		{"timing", bars{title: "Detection, reroute, failover and RTO by " + fs.Lose + " lost (what did not happen is not drawn)", xlabel: x, ylabel: "seconds from the loss",
			groups: groups, series: []string{"detected", "rerouted", "failover done", "RTO"}, highlight: worst,
			values: [][]float64{col(func(r *FailoverRow) float64 { return secs(r.DetectionNS) }), col(func(r *FailoverRow) float64 { return secs(r.RerouteNS) }),
				col(func(r *FailoverRow) float64 { return secs(r.FailoverDoneNS) }), col(func(r *FailoverRow) float64 { return secs(r.RTONS) })}}.plot},
		{"lost-writes", bars{title: "Acknowledged writes lost by " + fs.Lose + " lost", xlabel: x, ylabel: "writes lost",
			groups: groups, series: []string{"writes lost"}, highlight: worst, ymax: 1,
			values: [][]float64{col(func(r *FailoverRow) float64 { return float64(r.LostWrites) })}}.plot},
	}
}
