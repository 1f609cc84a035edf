package reports

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/stripelab/stripelab/scenarios"
)

// view is what the HTML, Markdown and terminal reports show, computed
// once from an analysed Result so that the templates only print strings.
type view struct {
	Res    *Result
	Passed bool
	Status string // PASS, FAIL or INCOMPLETE
	// Class is the run's status for styles: pass, fail or incomplete;
	// Icon marks it in Markdown.
	Class, Icon string
	// Stopped explains an incomplete run; empty for a run that ended.
	Stopped    string
	Failures   int
	Verdicts   []verdictRow
	Key        []keyFigure
	Faults     []faultRow
	Timeline   []timelineRow
	Priorities []countRow
	// Commands are the per-command rows (with workload.commands).
	Commands []commandRow
	Cities   []countRow
	Sets     []countRow
	Queues   []queueRow
	// Scaling summarizes the scaled components; Decisions and Changes
	// count the autoscalers' decisions.
	Scaling            []scalingRow
	SetsAdded          []setAddedRow
	Decisions, Changes int
	Run                string // one line: seed, backend, duration...
	Objective          string
}

type keyFigure struct{ Name, Value string }

type verdictRow struct {
	Name, SLO, Scope, Target, Measured, Window, Detail string
	// Class is the verdict's status (pass, fail or incomplete), Result
	// how a report shows it (pass, FAIL, incomplete) and Icon its mark in
	// Markdown.
	Class, Result, Icon string
	// Where is the window and detail of a failure, empty for a pass.
	Where string
	Pass  bool
}

// faultRow is one fault in the reports' two fault tables, timing and
// impact, each narrow enough that its cells stay on a line or two: a
// figure, and in HTML a smaller detail line under it.
type faultRow struct {
	Index                                           int
	Name, Kind, Target, Window, Availability, Worst string
	Detection, Reroute, Failover, LostWrites        string
	// Isolated is when no call reached the fault's machines any more (with
	// resilience policies), or empty.
	Isolated string
	// RTO is the recovery time; RTOAt when it ended, or what it means when
	// it equals the fault's length (RTONote).
	RTO, RTOAt, RTONote string
	// Users and Sets are the blast radius shares; UsersOf and SetsOf the
	// counts behind them.
	Users, UsersOf, Sets, SetsOf string
	// Latency is p50 / p99 / p99.9 inside the fault.
	Latency string
	// Priorities is the availability of each class inside the fault (one
	// string for the terminal), ByPriority the same class by class.
	Priorities string
	ByPriority [NumPriorities]string
}

type timelineRow struct{ T, Kind, Fault, Detail string }

// queueRow is one kind of instance's queue figures; Class marks a
// saturated one (threads in use 90% of the time or more).
type queueRow struct {
	Name, Instances, Threads, Utilization, Calls, Waited, MeanWait string
	Rejected, Expired, Shed, Class                                 string
}

// commandRow is one command's figures: availability overall and in each
// fault, what it lost by reason, and its latency.
type commandRow struct {
	Name, Priority, Kind, Service, Offered, Availability, InFaults  string
	Shed, RateLimited, Timeout, Error, Unavailable, P50, P99, Class string
}

type countRow struct {
	Name, City, Offered, Failed, Availability, Class string
}

// newView prepares the reports of res, which must have been analysed.
func newView(res *Result) *view {
	m := res.Measures
	v := &view{Res: res, Failures: res.Failures(), Passed: res.Passed(), Class: res.Status()}
	v.Status, v.Icon = strings.ToUpper(v.Class), statusIcons[v.Class]
	v.Stopped = stoppedLine(res)
	v.Objective = trimFloat(m.AvailabilityObjective*100, 6) + "%"
	v.Run = runLine(res)
	for i := range res.Verdicts {
		v.Verdicts = append(v.Verdicts, newVerdictRow(&res.Verdicts[i]))
	}
	v.Key = keyFigures(res)
	for i := range m.Faults {
		v.Faults = append(v.Faults, newFaultRow(res, i))
	}
	v.Timeline = timeline(res)
	v.Priorities, v.Cities, v.Sets = priorityRows(res), cityRows(res), setRows(res)
	v.Queues = queueRows(res)
	v.Commands = commandRows(res)
	v.Scaling = scalingRows(res)
	v.SetsAdded = setAddedRows(res)
	v.Decisions, v.Changes = scalingDecisions(res)
	return v
}

// queueRows shows the queue figures of each kind of instance, in call
// chain order, with their counts from the result.
func queueRows(res *Result) []queueRow {
	var out []queueRow
	for i, m := range res.Measures.Queues {
		if i >= len(res.Queues) {
			break
		}
		q := &res.Queues[i]
		r := queueRow{Name: m.Name, Instances: itoa(q.Instances), Threads: groupDigits(q.Threads),
			Utilization: FormatPercent(m.Utilization), Calls: groupDigits(q.Calls),
			Waited: FormatPercent(m.WaitedShare), MeanWait: FormatLatency(int64(math.Round(m.MeanWaitNS))),
			Rejected: shareOf(q.Rejected, m.RejectedShare), Expired: shareOf(q.Expired, m.ExpiredShare),
			Shed: shareOf(q.Shed, m.ShedShare), Class: "pass"}
		if m.Utilization >= 0.9 {
			r.Class = "fail"
		}
		out = append(out, r)
	}
	return out
}

// shareOf shows a count with its share of the calls, or 0.
func shareOf(n int64, share float64) string {
	if n == 0 {
		return "0"
	}
	return groupDigits(n) + " (" + FormatPercent(share) + ")"
}

func runLine(res *Result) string {
	parts := []string{"seed " + strconv.FormatUint(res.Seed, 10), "backend " + res.Backend,
		FormatLatency(res.DurationNS) + " run", FormatLatency(res.WarmupNS) + " warm-up",
		FormatLatency(res.WindowNS) + " windows"}
	if res.Incomplete {
		parts = append(parts, "INCOMPLETE: stopped at "+FormatTime(res.Reached())+" of "+FormatLatency(res.DurationNS))
	}
	return strings.Join(parts, " · ")
}

// stoppedLine says what an incomplete run measured and what it cannot
// tell; "" for a run that ended.
func stoppedLine(res *Result) string {
	if !res.Incomplete {
		return ""
	}
	s := "This run stopped at " + FormatTime(res.Reached()) + " of " + FormatLatency(res.DurationNS) +
		": no objective can be judged, so none passes."
	var unknown int64
	from := int64(-1)
	for i := range res.Windows {
		if c := &res.Windows[i].Counts; c.Partial() {
			unknown += c.Outcomes[Unknown]
			if from < 0 {
				from = res.Windows[i].Start
			}
		}
	}
	if unknown > 0 {
		s += " " + groupDigits(unknown) + " " + plural(unknown, "request was", "requests were") +
			" still in flight (outcome unknown, counted as not served) in the windows from " + FormatTime(from) + "."
	}
	return s
}

// statusIcons mark a status in Markdown.
var statusIcons = map[string]string{StatusPass: "✅", StatusFail: "❌", StatusIncomplete: "⚠️"}

// plural picks the singular or plural form for n.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newVerdictRow(v *Verdict) verdictRow {
	r := verdictRow{Name: v.Name(), SLO: v.SLO, Scope: v.Scope, Target: v.Target, Measured: v.Measured,
		Detail: v.Detail, Pass: v.Pass, Class: v.Status(), Result: v.Status(), Icon: statusIcons[v.Status()]}
	if v.WindowStart >= 0 {
		r.Window = formatRange(v.WindowStart, v.WindowEnd)
	}
	switch {
	case v.Incomplete && v.Pass:
		r.Detail = strings.TrimSuffix("holding when the run stopped; "+v.Detail, "; ")
	case v.Incomplete:
		r.Detail = strings.TrimSuffix("failing when the run stopped; "+v.Detail, "; ")
	case !v.Pass:
		r.Result = "FAIL"
	}
	if !v.Pass || v.Incomplete {
		r.Where = strings.TrimPrefix(r.Window+": "+v.Detail, ": ")
		r.Where = strings.TrimSuffix(r.Where, ": ")
	}
	return r
}

func keyFigures(res *Result) []keyFigure {
	m, t := res.Measures, &res.Totals
	l := &m.Latency
	var pri []string
	for k := range m.ByPriority {
		if t.ByPriority[k].Offered > 0 {
			pri = append(pri, priorityName(k)+" "+FormatPercent(m.ByPriority[k]))
		}
	}
	lost := strconv.FormatInt(m.LostWrites, 10)
	if m.LostWrites > 0 {
		lost += " (span " + FormatLatency(m.LostSpanNS) + ")"
	}
	shed := "held: " + m.ShedOrder.Detail
	switch {
	case t.Counts.Outcomes[Shed] == 0:
		// losses came from faults or timeouts, not from the gateway
		// choosing whom to drop: there is no order to judge
		shed = "no shedding: no request was shed"
	case !m.ShedOrder.Held:
		shed = "violated in " + scenarios.Quantity(m.ShedOrder.Violations, "window") + ": " + m.ShedOrder.Detail
	}
	c := &res.Cost
	key := []keyFigure{
		{"Availability", FormatPercent(m.Availability)},
		{"Availability outside faults", FormatPercent(m.AvailabilitySteady)},
		{"Availability by priority", strings.Join(pri, " · ")},
		{"Latency p50 / p90 / p99 / p99.9", strings.Join([]string{FormatLatency(l.P50), FormatLatency(l.P90),
			FormatLatency(l.P99), FormatLatency(l.P999)}, " / ")},
		{"Latency max", FormatLatency(l.Max)},
		{"Requests offered (after warm-up)", groupDigits(t.Counts.Offered)},
		{"Cross-region share", FormatPercent(m.CrossRegion)},
		{"Cross-set share", FormatPercent(m.CrossSet)},
		{"Retry amplification", strconv.FormatFloat(m.RetryAmplification, 'f', 3, 64) + " attempts per request"},
		{"Acknowledged writes lost", lost},
		{"Shed order", shed},
		{"Cost", strings.Join([]string{scenarios.Quantity(c.Machines, "machine"), scenarios.Quantity(c.Cores, "core"),
			scenarios.Quantity(c.Sets, "set"), scenarios.Quantity(c.Instances, "instance"), scenarios.Quantity(c.Shards, "shard")}, ", ")},
	}
	if len(m.Commands) == 0 {
		return key
	}
	var cmds []string
	for _, cm := range m.Commands {
		cmds = append(cmds, cm.Name+" "+FormatPercent(cm.Availability))
	}
	// after the availability by priority
	return append(key[:3], append([]keyFigure{{"Availability by command", strings.Join(cmds, " · ")}}, key[3:]...)...)
}

// groupDigits writes n with thin separators every three digits: 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func optDur(ns int64) string {
	if ns < 0 {
		return "—"
	}
	return "+" + FormatLatency(ns)
}

func newFaultRow(res *Result, i int) faultRow {
	f, fm := &res.Faults[i], &res.Measures.Faults[i]
	r := faultRow{Index: i, Name: f.Name, Kind: f.Kind, Target: f.Target, Window: formatRange(f.Start, f.End),
		Availability: FormatPercent(fm.Availability), Detection: optDur(fm.Detection), Reroute: optDur(fm.Reroute),
		Failover: optDur(fm.FailoverDone), RTO: FormatLatency(fm.RTO),
		Users: FormatPercent(fm.BlastUsers), UsersOf: groupDigits(f.UsersFailed) + " of " + groupDigits(f.UsersActive) + " users",
		Sets: FormatPercent(fm.BlastSets), SetsOf: itoa(fm.SetsAffected) + " of " + scenarios.Quantity(len(res.Sets), "set"),
		Latency: FormatLatency(fm.Latency.P50) + " / " + FormatLatency(fm.Latency.P99) + " / " +
			FormatLatency(fm.Latency.P999),
		LostWrites: strconv.FormatInt(fm.LostWrites, 10),
	}
	var pri []string
	for k := range fm.ByPriority {
		r.ByPriority[k] = FormatPercent(fm.ByPriority[k])
		pri = append(pri, priorityName(k)+" "+r.ByPriority[k])
	}
	r.Priorities = strings.Join(pri, " · ")
	switch {
	case fm.RTO > 0:
		r.RTOAt = "at " + FormatTime(f.Start+fm.RTO)
		r.RTONote = RTONote(fm.RTO, f.End-f.Start, res.WindowNS)
	case fm.RTO < 0 && res.Incomplete:
		r.RTO = "unknown (the run stopped first)"
	}
	if fm.LostWrites > 0 {
		r.LostWrites += " over " + FormatLatency(fm.LostSpanNS)
	}
	if fm.Isolation != nil {
		r.Isolated = "+" + FormatLatency(*fm.Isolation)
	} else if res.anyIsolated() {
		r.Isolated = "—"
	}
	if fm.WorstWindow >= 0 {
		r.Worst = FormatPercent(fm.WorstAvailability) + " at " + FormatTime(fm.WorstWindow)
	}
	return r
}

// timeline lists the events by time. Fault starts and ends the backend
// did not log are added from the fault list, and each fault's recovery
// (the end of its RTO) from the measures.
func timeline(res *Result) []timelineRow {
	type ev struct {
		Event
		seq int
	}
	var evs []ev
	logged := map[string]bool{}
	for i, e := range res.Events {
		evs = append(evs, ev{e, i})
		logged[e.Kind+"/"+itoa(e.Fault)] = true
	}
	n := len(evs)
	for i, f := range res.Faults {
		if !logged[EvFaultStart+"/"+itoa(i)] {
			evs = append(evs, ev{Event{T: f.Start, Kind: EvFaultStart, Fault: i, Detail: f.Kind + " " + f.Target}, n + 3*i})
		}
		if !logged[EvFaultEnd+"/"+itoa(i)] && f.End < res.DurationNS {
			evs = append(evs, ev{Event{T: f.End, Kind: EvFaultEnd, Fault: i}, n + 3*i + 1})
		}
		if fm := res.Measures.Faults[i]; !logged[EvRecovered+"/"+itoa(i)] && fm.RTO > 0 {
			evs = append(evs, ev{Event{T: f.Start + fm.RTO, Kind: EvRecovered, Fault: i,
				Detail: "availability back above the objective (RTO " + FormatLatency(fm.RTO) + ")"}, n + 3*i + 2})
		}
	}
	sort.Slice(evs, func(a, b int) bool {
		if evs[a].T != evs[b].T {
			return evs[a].T < evs[b].T
		}
		return evs[a].seq < evs[b].seq
	})
	out := make([]timelineRow, 0, len(evs))
	for _, e := range evs {
		r := timelineRow{T: FormatTime(e.T), Kind: e.Kind, Detail: e.Detail}
		if e.Fault >= 0 && e.Fault < len(res.Faults) {
			r.Fault = res.Faults[e.Fault].Name
		}
		out = append(out, r)
	}
	return out
}

func countRowOf(name string, c *Counts, objective float64) countRow {
	r := countRow{Name: name, Offered: groupDigits(c.Offered), Failed: groupDigits(c.Offered - c.OK()),
		Availability: FormatPercent(c.Availability()), Class: "pass"}
	if c.Offered > 0 && c.Availability() < objective {
		r.Class = "fail"
	}
	return r
}

func priorityRows(res *Result) []countRow {
	var out []countRow
	for k := range res.Totals.ByPriority {
		out = append(out, countRowOf(scenarios.PriorityNames[k], &res.Totals.ByPriority[k], res.Measures.AvailabilityObjective))
	}
	return out
}

func cityRows(res *Result) []countRow {
	var out []countRow
	for i := range res.Totals.ByCity {
		name := "city " + itoa(i)
		if i < len(res.Cities) {
			name = res.Cities[i]
		}
		out = append(out, countRowOf(name, &res.Totals.ByCity[i], res.Measures.AvailabilityObjective))
	}
	return out
}

func setRows(res *Result) []countRow {
	var out []countRow
	for i := range res.Totals.BySet {
		name, city := "set "+itoa(i), ""
		if i < len(res.Sets) {
			name = res.Sets[i].Name
			if c := res.Sets[i].City; c >= 0 && c < len(res.Cities) {
				city = res.Cities[c]
			}
		}
		r := countRowOf(name, &res.Totals.BySet[i], res.Measures.AvailabilityObjective)
		r.City = city
		out = append(out, r)
	}
	return out
}

func commandRows(res *Result) []commandRow {
	m := res.Measures
	var out []commandRow
	for i, c := range m.Commands {
		n := &c.Counts
		r := commandRow{Name: c.Name, Priority: c.Priority, Kind: c.Kind, Service: c.Service,
			Offered: groupDigits(n.Offered), Availability: FormatPercent(c.Availability),
			Shed: groupDigits(n.Outcomes[Shed]), RateLimited: groupDigits(n.Outcomes[RateLimited]),
			Timeout: groupDigits(n.Outcomes[Timeout]), Error: groupDigits(n.Outcomes[Failed]),
			Unavailable: groupDigits(n.Outcomes[Unavailable]),
			P50:         FormatLatency(c.Latency.P50), P99: FormatLatency(c.Latency.P99), Class: "pass"}
		if n.Offered > 0 && c.Availability < m.AvailabilityObjective {
			r.Class = "fail"
		}
		var in []string
		for fi := range m.Faults {
			if i < len(m.Faults[fi].ByCommand) {
				in = append(in, m.Faults[fi].Name+" "+FormatPercent(m.Faults[fi].ByCommand[i]))
			}
		}
		r.InFaults = strings.Join(in, " · ")
		if r.InFaults == "" {
			r.InFaults = "—"
		}
		out = append(out, r)
	}
	return out
}

// anyIsolated reports whether some fault of res has an isolation
// milestone: the fault tables then show the column.
func (r *Result) anyIsolated() bool {
	for _, f := range r.Faults {
		if f.Isolated != nil {
			return true
		}
	}
	return false
}

// AnyIsolated is anyIsolated for the templates.
func (v *view) AnyIsolated() bool { return v.Res.anyIsolated() }
