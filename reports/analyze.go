package reports

import (
	"math"
	"sort"

	"github.com/stripelab/stripelab/scenarios"
)

// DefaultAvailabilityObjective is the availability a window must reach to
// count as healthy for RTO and blast radius when the SLO sets none.
const DefaultAvailabilityObjective = 0.999

// ShedNoise is the noise allowance of the shed-order check: a class has
// lost availability in a window when it is below 1-ShedNoise there, and a
// higher class breaks the order when its availability is below a lower
// class's by more than ShedNoise plus three standard errors of the
// difference (so that an equal, random loss across classes is not a
// violation).
const ShedNoise = 0.01

// Analyze computes res.Measures and res.Verdicts from the windows, totals
// and faults of res. It is a pure function of res: running it twice gives
// the same values.
//
// Every measure leaves out warm-up windows (those starting before
// WarmupNS). Overall figures come from Totals; per-fault figures from the
// windows overlapping the fault's [start, end). A window with no offered
// request has no availability: it neither fails nor recovers anything.
func Analyze(res *Result) {
	a := newAnalysis(res)
	m := &Measures{AvailabilityObjective: a.objective, ShedNoise: ShedNoise}
	a.overall(m)
	for i := range res.Faults {
		m.Faults = append(m.Faults, a.fault(i))
	}
	m.ShedOrder = a.shedOrder()
	m.Commands = commandMeasures(res)
	m.Queues = queueMeasures(res)
	res.Measures = m
	res.Verdicts = a.verdicts(m)
}

// analysis holds what Analyze derives once from a Result.
type analysis struct {
	res       *Result
	objective float64
	measured  []int // indexes of windows after warm-up
}

func newAnalysis(res *Result) *analysis {
	a := &analysis{res: res, objective: float64(res.SLO.Availability)}
	if a.objective <= 0 {
		a.objective = DefaultAvailabilityObjective
	}
	for i := range res.Windows {
		if res.Windows[i].Start >= res.WarmupNS {
			a.measured = append(a.measured, i)
		}
	}
	return a
}

func (a *analysis) overall(m *Measures) {
	t := &a.res.Totals
	m.Availability = t.Counts.Availability()
	m.ByPriority = [NumPriorities]float64(availabilities(t.ByPriority[:]))
	m.ByCity = availabilities(t.ByCity)
	m.BySet = availabilities(t.BySet)
	m.Latency = totalLatency(t)
	m.LatencyByPriority = t.LatencyBy
	m.CrossRegion = ratio(t.Cross, t.Counts.Offered)
	m.CrossSet = ratio(t.CrossSet, t.Counts.Offered)
	m.RetryAmplification = ratio(t.Attempts, t.Counts.Offered)
	m.Degradation = t.ByPriority
	var steady Counts
	for _, i := range a.measured {
		if !a.inAnyFault(i) {
			steady.Add(&a.res.Windows[i].Counts)
		}
	}
	m.AvailabilitySteady = steady.Availability()
	m.LostWrites, m.LostSpanNS = t.OtherLostWrites, t.OtherLostSpanNS
	for _, f := range a.res.Faults {
		m.LostWrites += f.LostWrites
		m.LostSpanNS = max(m.LostSpanNS, f.LostSpanNS)
	}
}

// commandMeasures are each command's totals.
func commandMeasures(res *Result) []CommandMeasures {
	var out []CommandMeasures
	for i, c := range res.Commands {
		m := CommandMeasures{Name: c.Name, Priority: c.Priority, Kind: c.Kind, Service: c.Service, Availability: 1}
		if i < len(res.Totals.ByCommand) {
			m.Counts = res.Totals.ByCommand[i]
			m.Availability = m.Counts.Availability()
		}
		if i < len(res.Totals.LatencyByCommand) {
			m.Latency = res.Totals.LatencyByCommand[i]
		}
		out = append(out, m)
	}
	return out
}

// sumCommand adds command c's counts over the windows idx.
func (a *analysis) sumCommand(idx []int, c int) Counts {
	var n Counts
	for _, i := range idx {
		if w := &a.res.Windows[i]; c < len(w.ByCommand) {
			n.Add(&w.ByCommand[c])
		}
	}
	return n
}

// queueMeasures turns the result's queue counts into shares and means, in
// the result's order (the call chain: gateway, services, proxy, shards).
func queueMeasures(res *Result) []QueueMeasures {
	span := float64(res.DurationNS - res.WarmupNS)
	if n := int64(len(res.Windows)) * res.WindowNS; res.Incomplete && n < res.DurationNS {
		span = float64(n - res.WarmupNS)
	}
	var out []QueueMeasures
	for _, q := range res.Queues {
		m := QueueMeasures{Name: q.Name, Role: q.Role, Calls: q.Calls,
			WaitedShare: ratio(q.Waited, q.Calls), RejectedShare: ratio(q.Rejected, q.Calls),
			ExpiredShare: ratio(q.Expired, q.Calls), ShedShare: ratio(q.Shed, q.Calls)}
		if q.Calls > 0 {
			m.MeanWaitNS = float64(q.WaitNS) / float64(q.Calls)
		}
		if q.Threads > 0 && span > 0 {
			m.Utilization = float64(q.BusyThreadNS) / (float64(q.Threads) * span)
		}
		out = append(out, m)
	}
	return out
}

func availabilities(cs []Counts) []float64 {
	out := make([]float64, len(cs))
	for i := range cs {
		out[i] = cs[i].Availability()
	}
	return out
}

func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// totalLatency reads the run's latency from its histogram, or from its
// summary when the histogram is missing or unreadable.
func totalLatency(t *Totals) Latency {
	if t.Hist != "" {
		if h, err := DecodeHist(t.Hist); err == nil {
			return Summarize(h)
		}
	}
	return t.Latency
}

// windowEnd is where window i ends (the last one may be cut by the run's end).
func (a *analysis) windowEnd(i int) int64 {
	ws := a.res.Windows[i].Start
	end := ws + a.res.WindowNS
	if a.res.DurationNS > ws {
		end = min(end, a.res.DurationNS)
	}
	return end
}

// overlapping lists the measured windows overlapping [start, end).
func (a *analysis) overlapping(start, end int64) []int {
	var out []int
	for _, i := range a.measured {
		ws := a.res.Windows[i].Start
		if ws < end && ws+a.res.WindowNS > start {
			out = append(out, i)
		}
	}
	return out
}

func (a *analysis) inAnyFault(i int) bool {
	ws := a.res.Windows[i].Start
	for _, f := range a.res.Faults {
		if ws < f.End && ws+a.res.WindowNS > f.Start {
			return true
		}
	}
	return false
}

// mergedLatency merges the latency histograms of windows. A window whose
// histogram is missing or unreadable contributes its summary instead, as an
// upper bound: each percentile is at most the worst window's.
func (a *analysis) mergedLatency(idx []int) Latency {
	h := NewHist()
	var fb Latency
	for _, i := range idx {
		w := &a.res.Windows[i]
		if w.Hist != "" {
			if wh, err := DecodeHist(w.Hist); err == nil {
				h.Merge(wh)
				continue
			}
		}
		if w.Latency.Count > 0 {
			fb.Count += w.Latency.Count
			fb.P50, fb.P90, fb.P95 = max(fb.P50, w.Latency.P50), max(fb.P90, w.Latency.P90), max(fb.P95, w.Latency.P95)
			fb.P99, fb.P999 = max(fb.P99, w.Latency.P99), max(fb.P999, w.Latency.P999)
			fb.Max = max(fb.Max, w.Latency.Max)
			fb.Mean = max(fb.Mean, w.Latency.Mean)
		}
	}
	l := Summarize(h)
	if fb.Count == 0 {
		return l
	}
	l.Count += fb.Count
	l.P50, l.P90, l.P95 = max(l.P50, fb.P50), max(l.P90, fb.P90), max(l.P95, fb.P95)
	l.P99, l.P999 = max(l.P99, fb.P99), max(l.P999, fb.P999)
	l.Max, l.Mean = max(l.Max, fb.Max), max(l.Mean, fb.Mean)
	return l
}

func (a *analysis) sum(idx []int) (c Counts, p [NumPriorities]Counts) {
	for _, i := range idx {
		w := &a.res.Windows[i]
		c.Add(&w.Counts)
		for k := range p {
			p[k].Add(&w.ByPriority[k])
		}
	}
	return c, p
}

// worst returns the window of idx with the lowest availability of the
// counts get picks (the earliest on ties), or -1 when none had traffic.
func (a *analysis) worst(idx []int, get func(w *Window) *Counts) (int, float64) {
	best, low := -1, math.Inf(1)
	for _, i := range idx {
		c := get(&a.res.Windows[i])
		if c.Offered == 0 {
			continue
		}
		if v := c.Availability(); v < low {
			best, low = i, v
		}
	}
	return best, low
}

func (a *analysis) fault(fi int) FaultMeasures {
	f := &a.res.Faults[fi]
	idx := a.overlapping(f.Start, f.End)
	c, p := a.sum(idx)
	fm := FaultMeasures{
		Index: f.Index, Name: f.Name, Start: f.Start, End: f.End,
		Availability: c.Availability(), Latency: a.mergedLatency(idx),
		Detection: since(f.Start, f.Detected), Reroute: since(f.Start, f.Rerouted),
		FailoverDone: since(f.Start, f.FailoverDone),
		LostWrites:   f.LostWrites, LostSpanNS: f.LostSpanNS,
		BlastUsers: ratio(f.UsersFailed, f.UsersActive), WorstWindow: -1, WorstAvailability: 1,
	}
	for k := range p {
		fm.ByPriority[k] = p[k].Availability()
	}
	for c := range a.res.Commands {
		n := a.sumCommand(idx, c)
		fm.ByCommand = append(fm.ByCommand, n.Availability())
	}
	fm.RTO, _ = a.recovery(fi)
	if f.Isolated != nil {
		d := *f.Isolated - f.Start
		fm.Isolation = &d
	}
	fm.SetsAffected = a.setsBelow(idx)
	if n := len(a.res.Sets); n > 0 {
		fm.BlastSets = float64(fm.SetsAffected) / float64(n)
	}
	if w, v := a.worst(idx, func(w *Window) *Counts { return &w.Counts }); w >= 0 {
		fm.WorstWindow, fm.WorstAvailability = a.res.Windows[w].Start, v
	}
	return fm
}

func since(start, t int64) int64 {
	if t < 0 {
		return -1
	}
	return t - start
}

// setsBelow counts the sets whose availability fell below the objective
// in at least one of the windows.
func (a *analysis) setsBelow(idx []int) int {
	hit := make([]bool, len(a.res.Sets))
	n := 0
	for _, i := range idx {
		for _, s := range a.res.Windows[i].SetsFailed {
			if s.Offered == 0 || s.Set < 0 || s.Set >= len(hit) || hit[s.Set] {
				continue
			}
			if float64(s.Offered-s.Failed)/float64(s.Offered) < a.objective {
				hit[s.Set] = true
				n++
			}
		}
	}
	return n
}

// spanEnd is where a fault's recovery span ends: the start of the next
// fault to start after it, or the end of the run.
func (a *analysis) spanEnd(fi int) int64 {
	f := &a.res.Faults[fi]
	end := a.res.DurationNS
	if n := len(a.res.Windows); n > 0 {
		end = min(end, a.res.Windows[n-1].Start+a.res.WindowNS)
	}
	for _, o := range a.res.Faults {
		if o.Start > f.Start && o.Start < end {
			end = o.Start
		}
	}
	return end
}

// recovery measures a fault's RTO: from its start to the end of the last
// window of its span whose availability is below the objective; 0 when no
// window was; -1 when no window with traffic came after the last bad one,
// or when no request at all was measured after the fault started (a fault
// in warm-up, or past the end of a run stopped early). A window whose
// requests in flight at a stop could still have made it healthy is left
// out (undecided). It also returns that
// last bad window (-1 when none).
func (a *analysis) recovery(fi int) (rto int64, lastBad int) {
	f := &a.res.Faults[fi]
	lastBad, lastSeen := -1, -1
	for _, i := range a.overlapping(f.Start, a.spanEnd(fi)) {
		c := &a.res.Windows[i].Counts
		if c.Offered == 0 || a.undecided(c) {
			continue
		}
		lastSeen = i
		if c.Availability() < a.objective {
			lastBad = i
		}
	}
	switch {
	case lastSeen < 0:
		return -1, -1
	case lastBad < 0:
		return 0, -1
	case lastBad == lastSeen:
		return -1, lastBad
	}
	return a.res.Windows[lastBad].Start + a.res.WindowNS - f.Start, lastBad
}

// undecided reports whether a window's requests whose outcome is unknown
// (in flight when the run stopped) leave open whether the window met the
// objective: it would have if they were all served. Such a window neither
// fails nor recovers anything.
func (a *analysis) undecided(c *Counts) bool {
	return c.Partial() && float64(c.OK()+c.Outcomes[Unknown])/float64(c.Offered) >= a.objective
}

// shedClass is one class the shed-order check compares: a priority, or
// with workload.commands a command, ranked by its priority (0 highest).
type shedClass struct {
	rank int
	name string
	get  func(w *Window) *Counts
}

// shedClasses are the priorities, or the commands when the scenario has
// some: a command of higher priority must not fare worse than one of
// lower priority (commands of one priority are not compared).
func (a *analysis) shedClasses() []shedClass {
	var out []shedClass
	if len(a.res.Commands) == 0 {
		for k := 0; k < NumPriorities; k++ {
			out = append(out, shedClass{rank: k, name: priorityName(k), get: func(w *Window) *Counts { return &w.ByPriority[k] }})
		}
		return out
	}
	for i, c := range a.res.Commands {
		rank := 1
		for k, n := range scenarios.PriorityNames {
			if n == c.Priority {
				rank = k
			}
		}
		out = append(out, shedClass{rank: rank, name: c.Name + " (" + c.Priority + ")", get: func(w *Window) *Counts {
			if i < len(w.ByCommand) {
				return &w.ByCommand[i]
			}
			return &Counts{}
		}})
	}
	return out
}

// shedOrder checks, in every measured window where some class lost
// availability, that no higher class fared worse than a lower one beyond
// the noise allowance.
func (a *analysis) shedOrder() ShedOrder {
	so := ShedOrder{Held: true, FirstViolation: -1}
	classes := a.shedClasses()
	lossy := 0
	for _, i := range a.measured {
		w := &a.res.Windows[i]
		if !anyClassLost(w, classes) {
			continue
		}
		lossy++
		hi, lo, ok := orderBroken(w, classes)
		if ok {
			continue
		}
		if so.Violations == 0 {
			so.FirstViolation = w.Start
			so.Detail = "first at " + FormatTime(w.Start) + ": " +
				hi.name + " " + FormatPercent(hi.get(w).Availability()) + " < " +
				lo.name + " " + FormatPercent(lo.get(w).Availability())
		}
		so.Violations++
	}
	so.Held = so.Violations == 0
	so.LossyWindows = lossy
	if so.Held {
		if lossy == 0 {
			so.Detail = "no class lost availability"
		} else {
			so.Detail = "no higher class lost more than a lower one in the " + scenarios.Quantity(lossy, "window") + " with losses"
		}
	}
	return so
}

func anyClassLost(w *Window, classes []shedClass) bool {
	for _, cl := range classes {
		c := cl.get(w)
		if c.Offered > 0 && c.Availability() < 1-ShedNoise {
			return true
		}
	}
	return false
}

// orderBroken returns the first pair (higher class hi, lower class lo)
// where hi fared worse than lo beyond the allowance, and ok=false; or
// ok=true when the order held in w.
func orderBroken(w *Window, classes []shedClass) (hi, lo *shedClass, ok bool) {
	for i := range classes {
		h := classes[i].get(w)
		if h.Offered == 0 {
			continue
		}
		for j := range classes {
			if classes[j].rank <= classes[i].rank {
				continue
			}
			l := classes[j].get(w)
			if l.Offered == 0 {
				continue
			}
			ph, pl := h.Availability(), l.Availability()
			se := math.Sqrt(ph*(1-ph)/float64(h.Offered) + pl*(1-pl)/float64(l.Offered))
			if ph < pl-ShedNoise-3*se {
				return &classes[i], &classes[j], false
			}
		}
	}
	return nil, nil, true
}

// sortedPercentiles orders latency objective keys by quantile; keys that
// are not known percentiles come last, by name.
func sortedPercentiles(keys []string, q map[string]float64) []string {
	sort.Slice(keys, func(i, j int) bool {
		qi, iok := q[keys[i]]
		qj, jok := q[keys[j]]
		if iok != jok {
			return iok
		}
		if qi != qj {
			return qi < qj
		}
		return keys[i] < keys[j]
	})
	return keys
}
