package reports

import (
	"strconv"

	"github.com/stripelab/stripelab/scenarios"
)

// Scope names used in verdicts.
const (
	ScopeOverall  = "overall"
	ScopeNoFaults = "no faults"
	// ScopeOutsideFaults is the scope of writes lost by failovers no fault is blamed for.
	ScopeOutsideFaults = "outside faults"
)

// Name is how a verdict is listed in JUnit and reports, for example
// "availability_in_fault [lose shenzhen/a]".
func (v *Verdict) Name() string { return v.SLO + " [" + v.Scope + "]" }

// Verdict and run statuses.
const (
	StatusPass       = "pass"
	StatusFail       = "fail"
	StatusIncomplete = "incomplete"
)

// Status is pass, fail, or incomplete for a verdict of a run stopped
// before its end.
func (v *Verdict) Status() string {
	switch {
	case v.Incomplete:
		return StatusIncomplete
	case v.Pass:
		return StatusPass
	}
	return StatusFail
}

// Failures counts the verdicts that did not pass (in a run stopped early:
// those failing when it stopped).
func (r *Result) Failures() int {
	n := 0
	for i := range r.Verdicts {
		if !r.Verdicts[i].Pass {
			n++
		}
	}
	return n
}

// Passed reports whether the run went to its end and every verdict passed
// (true when there are none). A run stopped early never passes.
func (r *Result) Passed() bool { return !r.Incomplete && r.Failures() == 0 }

// Status is incomplete for a run stopped before its end, else pass when
// every verdict passed and fail otherwise.
func (r *Result) Status() string {
	switch {
	case r.Incomplete:
		return StatusIncomplete
	case r.Failures() == 0:
		return StatusPass
	}
	return StatusFail
}

// verdicts turns each objective of the SLO into verdicts, in a fixed order.
func (a *analysis) verdicts(m *Measures) []Verdict {
	slo := &a.res.SLO
	out := []Verdict{}
	add := func(v Verdict) {
		if v.Pass {
			v.WindowStart, v.WindowEnd = -1, -1
		}
		out = append(out, v)
	}
	if slo.Availability > 0 {
		add(a.availabilityVerdict(m))
	}
	if slo.AvailabilityInFault > 0 {
		a.perFault("availability_in_fault", add, func(fi int) Verdict { return a.inFaultAvailability(m, fi) })
	}
	for k, name := range scenarios.PriorityNames {
		if t, ok := slo.AvailabilityByPriority[name]; ok {
			add(a.priorityVerdict(m, k, float64(t)))
		}
	}
	a.commandVerdicts(m, add)
	for _, key := range percentileKeys(slo.Latency) {
		add(a.latencyVerdict(m, key, int64(slo.Latency[key])))
	}
	for _, key := range percentileKeys(slo.LatencyInFault) {
		a.perFault("latency_in_fault "+key, add, func(fi int) Verdict {
			return a.inFaultLatency(m, fi, key, int64(slo.LatencyInFault[key]))
		})
	}
	if slo.RTO > 0 {
		a.perFault("rto", add, func(fi int) Verdict { return a.rtoVerdict(m, fi, int64(slo.RTO)) })
	}
	if slo.RPO > 0 {
		a.lostVerdicts(m, "rpo", add, float64(slo.RPO))
	}
	if slo.LostWrites != nil {
		a.lostVerdicts(m, "lost_writes", add, float64(*slo.LostWrites))
	}
	if slo.ShedOrder {
		v := shedVerdict(&m.ShedOrder, a.res.WindowNS)
		if a.res.Totals.Counts.Outcomes[Shed] == 0 {
			v.Detail = "no request was shed; " + v.Detail
		}
		add(v)
	}
	if a.res.Incomplete {
		for i := range out {
			out[i].Incomplete = true
		}
	}
	return out
}

func percentileKeys(m map[string]scenarios.Duration) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return sortedPercentiles(keys, scenarios.Percentiles)
}

// perFault adds one verdict per fault, or a passing "no faults" verdict
// when the run had none, so that an objective never vanishes silently.
func (a *analysis) perFault(slo string, add func(Verdict), one func(fi int) Verdict) {
	if len(a.res.Faults) == 0 {
		add(Verdict{SLO: slo, Scope: ScopeNoFaults, Target: "n/a", Measured: "n/a", Pass: true,
			Detail: "the scenario has no faults"})
		return
	}
	for fi := range a.res.Faults {
		add(one(fi))
	}
}

// faultScope names fault fi in verdicts: its name, with its index when
// another fault has the same name.
func (a *analysis) faultScope(fi int) string {
	name := a.res.Faults[fi].Name
	for j, f := range a.res.Faults {
		if j != fi && f.Name == name {
			return name + " #" + strconv.Itoa(fi)
		}
	}
	return name
}

func atLeast(target float64) string { return "≥ " + trimFloat(target*100, 6) + "%" }

func pctVerdict(slo, scope string, target, measured float64) Verdict {
	return Verdict{SLO: slo, Scope: scope, Target: atLeast(target), TargetV: target, MeasureV: measured,
		Measured: formatPercentDigits(measured, percentDigits(target)), Pass: measured >= target-1e-12}
}

func (a *analysis) availabilityVerdict(m *Measures) Verdict {
	t := float64(a.res.SLO.Availability)
	v := pctVerdict("availability", ScopeOverall, t, m.Availability)
	a.worstWindow(&v, a.measured, func(w *Window) *Counts { return &w.Counts })
	return unmeasured(v, a.res.Totals.Counts.Offered, "no request was measured")
}

func (a *analysis) priorityVerdict(m *Measures, k int, target float64) Verdict {
	v := pctVerdict("availability_by_priority", priorityName(k), target, m.ByPriority[k])
	a.worstWindow(&v, a.measured, func(w *Window) *Counts { return &w.ByPriority[k] })
	return unmeasured(v, a.res.Totals.ByPriority[k].Offered, "no request of this class was measured")
}

// unmeasured fails a verdict that had nothing to measure (n == 0): an
// objective on no traffic is not evidence that it holds.
func unmeasured(v Verdict, n int64, why string) Verdict {
	if n == 0 {
		v.Pass, v.Measured, v.MeasureV, v.Detail = false, "n/a", 0, why
	}
	return v
}

// worstWindow points a failed verdict at its worst window.
func (a *analysis) worstWindow(v *Verdict, idx []int, get func(w *Window) *Counts) {
	if v.Pass {
		return
	}
	if i, low := a.worst(idx, get); i >= 0 {
		v.WindowStart, v.WindowEnd = a.res.Windows[i].Start, a.windowEnd(i)
		v.Detail = "worst window at " + FormatPercent(low)
	}
}

func (a *analysis) inFaultAvailability(m *Measures, fi int) Verdict {
	fm := &m.Faults[fi]
	v := pctVerdict("availability_in_fault", a.faultScope(fi), float64(a.res.SLO.AvailabilityInFault), fm.Availability)
	v.WindowStart, v.WindowEnd = fm.Start, fm.End
	if !v.Pass && fm.WorstWindow >= 0 {
		v.Detail = "worst window from " + FormatTime(fm.WorstWindow) + " at " + FormatPercent(fm.WorstAvailability)
	}
	c, _ := a.sum(a.overlapping(fm.Start, fm.End))
	return unmeasured(v, c.Offered, "no request was measured during the fault")
}

func latencyVerdict(slo, scope string, target, measured int64) Verdict {
	return Verdict{SLO: slo, Scope: scope, Target: "≤ " + FormatLatency(target), TargetV: float64(target),
		Measured: FormatLatency(measured), MeasureV: float64(measured), Pass: measured <= target}
}

func (a *analysis) latencyVerdict(m *Measures, key string, target int64) Verdict {
	q, known := m.Latency.Quantile(key)
	v := latencyVerdict("latency "+key, ScopeOverall, target, q)
	if !known {
		v.Pass, v.Measured, v.Detail = false, "n/a", "unknown percentile "+strconv.Quote(key)
		return v
	}
	if m.Latency.Count == 0 {
		return unmeasured(v, 0, "no successful request was measured")
	}
	if v.Pass {
		return v
	}
	worst, wq := -1, int64(-1)
	for _, i := range a.measured {
		if l := &a.res.Windows[i].Latency; l.Count > 0 {
			if x, _ := l.Quantile(key); x > wq {
				worst, wq = i, x
			}
		}
	}
	if worst >= 0 {
		v.WindowStart, v.WindowEnd = a.res.Windows[worst].Start, a.windowEnd(worst)
		v.Detail = "worst window at " + key + " " + FormatLatency(wq)
	}
	return v
}

func (a *analysis) inFaultLatency(m *Measures, fi int, key string, target int64) Verdict {
	fm := &m.Faults[fi]
	q, known := fm.Latency.Quantile(key)
	v := latencyVerdict("latency_in_fault "+key, a.faultScope(fi), target, q)
	v.WindowStart, v.WindowEnd = fm.Start, fm.End
	if !known {
		v.Pass, v.Measured, v.Detail = false, "n/a", "unknown percentile "+strconv.Quote(key)
	}
	return unmeasured(v, fm.Latency.Count, "no successful request during the fault")
}

func (a *analysis) rtoVerdict(m *Measures, fi int, target int64) Verdict {
	fm := &m.Faults[fi]
	v := Verdict{SLO: "rto", Scope: a.faultScope(fi), Target: "≤ " + FormatLatency(target), TargetV: float64(target),
		Measured: FormatLatency(fm.RTO), MeasureV: float64(fm.RTO), Pass: fm.RTO >= 0 && fm.RTO <= target}
	obj := trimFloat(a.objective*100, 6) + "%"
	_, last := a.recovery(fi)
	switch {
	case a.res.Incomplete && fm.RTO < 0:
		v.Measured, v.Detail = "n/a", "the run stopped at "+FormatTime(a.res.Reached())+", before availability was seen back above "+obj
		if last < 0 {
			v.WindowStart, v.WindowEnd = fm.Start, fm.End
		}
	case last < 0 && fm.RTO < 0:
		v.Measured, v.Detail = "n/a", "no request was measured after the fault started"
		v.WindowStart, v.WindowEnd = fm.Start, fm.End
	case last < 0:
		v.Detail = "availability never fell below " + obj
	case fm.RTO < 0:
		v.Detail = "availability still below " + obj + " at the end of the run"
	default:
		v.Detail = "availability back above " + obj + " from " + FormatTime(fm.Start+fm.RTO)
	}
	if last >= 0 {
		v.WindowStart, v.WindowEnd = a.res.Windows[last].Start, a.windowEnd(last)
		v.Detail += "; last window below: " + formatRange(v.WindowStart, v.WindowEnd)
	}
	return v
}

// lostVerdicts checks rpo (the span of lost writes) or lost_writes (their
// count) per fault, and for writes lost outside any fault.
func (a *analysis) lostVerdicts(m *Measures, slo string, add func(Verdict), target float64) {
	t := &a.res.Totals
	for fi := range m.Faults {
		fm := &m.Faults[fi]
		v := lostVerdict(slo, a.faultScope(fi), target, fm.LostWrites, fm.LostSpanNS)
		v.WindowStart, v.WindowEnd = fm.Start, fm.End
		add(v)
	}
	if len(m.Faults) == 0 || t.OtherLostWrites > 0 {
		v := lostVerdict(slo, ScopeOutsideFaults, target, t.OtherLostWrites, t.OtherLostSpanNS)
		v.WindowStart, v.WindowEnd = 0, a.res.DurationNS
		add(v)
	}
}

func lostVerdict(slo, scope string, target float64, n, span int64) Verdict {
	detail := strconv.FormatInt(n, 10) + " acknowledged writes lost"
	if slo == "rpo" {
		v := latencyVerdict(slo, scope, int64(target), span)
		v.Detail = detail
		return v
	}
	return Verdict{SLO: slo, Scope: scope, Target: "≤ " + strconv.FormatInt(int64(target), 10),
		TargetV: target, Measured: strconv.FormatInt(n, 10), MeasureV: float64(n),
		Pass: float64(n) <= target, Detail: detail}
}

func shedVerdict(so *ShedOrder, window int64) Verdict {
	v := Verdict{SLO: "shed_order", Scope: ScopeOverall, Target: "lower priorities first",
		Measured: "held", Pass: so.Held, TargetV: 0, MeasureV: float64(so.Violations), Detail: so.Detail}
	if !so.Held {
		v.Measured = "violated in " + itoa(so.Violations) + " of " + scenarios.Quantity(so.LossyWindows, "window")
		v.WindowStart, v.WindowEnd = so.FirstViolation, so.FirstViolation+window
	}
	return v
}

func priorityName(k int) string { return scenarios.PriorityNames[k] }

func itoa(n int) string { return strconv.Itoa(n) }

// CommandScope is the scope of a command's verdicts, for example
// "command pay"; inside a fault, "command pay in lose shenzhen/a".
func CommandScope(name string) string { return "command " + name }

// commandVerdicts checks slo.commands, command by command in the order of
// workload.commands: availability, availability in each fault, latency.
func (a *analysis) commandVerdicts(m *Measures, add func(Verdict)) {
	for ci, cm := range m.Commands {
		o, ok := a.res.SLO.Commands[cm.Name]
		if !ok {
			continue
		}
		scope := CommandScope(cm.Name)
		get := func(w *Window) *Counts {
			if ci < len(w.ByCommand) {
				return &w.ByCommand[ci]
			}
			return &Counts{}
		}
		if o.Availability > 0 {
			v := pctVerdict("availability", scope, float64(o.Availability), cm.Availability)
			a.worstWindow(&v, a.measured, get)
			add(unmeasured(v, cm.Counts.Offered, "no request of this command was measured"))
		}
		if o.AvailabilityInFault > 0 {
			if len(m.Faults) == 0 {
				add(Verdict{SLO: "availability_in_fault", Scope: scope + " (no faults)", Target: "n/a", Measured: "n/a", Pass: true,
					Detail: "the scenario has no faults"})
			}
			for fi := range m.Faults {
				fm := &m.Faults[fi]
				idx := a.overlapping(fm.Start, fm.End)
				n := a.sumCommand(idx, ci)
				v := pctVerdict("availability_in_fault", scope+" in "+a.faultScope(fi), float64(o.AvailabilityInFault), n.Availability())
				v.WindowStart, v.WindowEnd = fm.Start, fm.End
				if !v.Pass {
					if w, low := a.worst(idx, get); w >= 0 {
						v.Detail = "worst window from " + FormatTime(a.res.Windows[w].Start) + " at " + FormatPercent(low)
					}
				}
				add(unmeasured(v, n.Offered, "no request of this command was measured during the fault"))
			}
		}
		for _, key := range percentileKeys(o.Latency) {
			q, _ := cm.Latency.Quantile(key)
			v := latencyVerdict("latency "+key, scope, int64(o.Latency[key]), q)
			add(unmeasured(v, cm.Latency.Count, "no successful request of this command was measured"))
		}
	}
}
