package reports

import (
	"fmt"
	"math/bits"
	"sort"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stripelab/stripelab/scenarios"
)

// Request is one finished request as a backend reports it. A request is the
// user's logical request: its retries are attempts of the same request, and
// Outcome is how the last attempt ended.
type Request struct {
	// Send is the intended send time of the first attempt (ns from the start
	// of the run); Latency runs from Send to the final outcome.
	Send     int64
	Latency  int64
	User     int32
	Set      int32 // the user's home set
	City     int16 // the user's city
	Priority uint8
	// Command indexes the scenario's workload.commands (ignored without any).
	Command  uint8
	Outcome  Outcome
	Attempts uint8
	// Cross is set when the request was served outside the user's city.
	Cross bool
	// CrossSet is set when any hop of the request left the user's home set.
	CrossSet bool
	// Write is set when the data layer acknowledged a write the last
	// attempt made (a shard primary took it), whatever the workload's mix
	// chose; such a request that ends OK counts as an acknowledged write.
	Write bool
}

// Recorder collects what a backend measures, per window, with memory
// bounded by the number of windows and not by the number of requests: a
// dense latency histogram lives only while its window may still receive
// requests (the horizon), then it is packed into a sparse one (a few KB)
// that Finish encodes into the Result. A one-hour run with 1s windows
// takes about 15 MB (TestRecorderMemoryHour).
type Recorder struct {
	res      *Result
	window   int64
	warmup   int64
	horizonW int64 // windows kept open behind the newest send time
	nSets    int

	open      []*openWindow // ring indexed by window number % len
	finalized int64         // windows before this index are packed
	packed    []*hdrhistogram.PackedHistogram

	overall    *hdrhistogram.Histogram
	byPriority [NumPriorities]*hdrhistogram.Histogram
	byCommand  []*hdrhistogram.Histogram
	setTotals  []Counts

	faults []faultTrack
}

type openWindow struct {
	index   int64
	hist    *hdrhistogram.Histogram
	setOff  []int64
	setFail []int64
	touched []int32 // sets with traffic in this window
}

type faultTrack struct {
	start, end   int64
	active, fail []uint64 // user bitsets
}

// NewRecorder prepares a Recorder and the Result it fills for a plan.
// horizon is the longest a request can live (all attempts and backoffs):
// requests must be recorded no later than horizon after their send time.
func NewRecorder(p *scenarios.Plan, seed uint64, backend string, horizon int64) *Recorder {
	s := p.Scenario
	win := int64(s.Run.Window)
	n := (int64(s.Run.Duration) + win - 1) / win
	res := &Result{
		Version: ResultVersion, Scenario: s.Name, File: p.File.Path, Text: string(p.File.Text),
		Seed: seed, Backend: backend, WindowNS: win, DurationNS: int64(s.Run.Duration), WarmupNS: int64(s.Run.Warmup),
		SLO: s.SLO, Windows: make([]Window, n), Events: []Event{}, Engine: map[string]int64{},
	}
	for _, c := range p.Cities {
		res.Cities = append(res.Cities, c.Name)
	}
	for _, c := range p.Commands {
		res.Commands = append(res.Commands, commandInfo(s, c))
	}
	for _, st := range p.Sets {
		res.Sets = append(res.Sets, SetInfo{Name: st.Name, City: st.City})
	}
	res.Cost = costOf(p)
	for i := range res.Windows {
		res.Windows[i].Start = int64(i) * win
		res.Windows[i].ByCity = make([]Counts, len(p.Cities))
		if len(p.Commands) > 0 {
			res.Windows[i].ByCommand = make([]Counts, len(p.Commands))
		}
	}
	r := &Recorder{
		res: res, window: win, warmup: int64(s.Run.Warmup), nSets: len(p.Sets),
		horizonW: horizon/win + 2, overall: NewHist(), setTotals: make([]Counts, len(p.Sets)),
		packed: make([]*hdrhistogram.PackedHistogram, n),
	}
	for i := range r.byPriority {
		r.byPriority[i] = NewHist()
	}
	for range p.Commands {
		r.byCommand = append(r.byCommand, NewHist())
	}
	r.open = make([]*openWindow, r.horizonW+1)
	for i := range r.open {
		r.open[i] = &openWindow{index: -1, hist: NewHist(), setOff: make([]int64, len(p.Sets)), setFail: make([]int64, len(p.Sets))}
	}
	users := 0
	for _, u := range p.UserCities {
		users += u.Count
	}
	for _, f := range p.Faults {
		res.Faults = append(res.Faults, FaultInfo{
			Index: f.Index, Name: f.Name, Kind: f.Kind.String(), Target: f.Target.String(),
			Start: f.Start, End: f.End, Detected: -1, Rerouted: -1, FailoverDone: -1,
		})
		r.faults = append(r.faults, faultTrack{start: f.Start, end: f.End,
			active: make([]uint64, (users+63)/64), fail: make([]uint64, (users+63)/64)})
	}
	return r
}

// CostOf is what a plan deploys, as a Result of it records.
func CostOf(p *scenarios.Plan) Cost { return costOf(p) }

func costOf(p *scenarios.Plan) Cost {
	c := Cost{Machines: len(p.Machines), Sets: len(p.Sets), Instances: len(p.Instances), Shards: len(p.Shards), ByRole: map[string]int{}}
	c.Instances = 0
	for _, in := range p.Instances {
		if in.Reserve {
			continue // counted by the scaling record when started
		}
		c.Instances++
		c.ByRole[in.Role.String()]++
	}
	for _, m := range p.Machines {
		c.Cores += m.Cores
	}
	return c
}

// Record counts one finished request. It does not allocate.
func (r *Recorder) Record(q *Request) {
	wi := q.Send / r.window
	if wi < 0 || wi >= int64(len(r.res.Windows)) {
		return // sent outside the run
	}
	w := &r.res.Windows[wi]
	w.Counts.Offered++
	w.Counts.Outcomes[q.Outcome]++
	bp := &w.ByPriority[q.Priority]
	bp.Offered++
	bp.Outcomes[q.Outcome]++
	if w.ByCommand != nil {
		bc := &w.ByCommand[q.Command]
		bc.Offered++
		bc.Outcomes[q.Outcome]++
	}
	cc := &w.ByCity[q.City]
	cc.Offered++
	cc.Outcomes[q.Outcome]++
	w.Attempts += int64(q.Attempts)
	ok := q.Outcome == OK
	if ok && q.Write {
		w.Writes++
	}
	if q.CrossSet {
		w.CrossSet++
	}
	if q.Cross {
		w.CrossRegion++
	}
	measured := wi*r.window >= r.warmup
	if ow := r.openFor(wi); ow != nil {
		if ow.setOff[q.Set] == 0 {
			ow.touched = append(ow.touched, q.Set)
		}
		ow.setOff[q.Set]++
		if !ok {
			ow.setFail[q.Set]++
		}
		if ok {
			ow.hist.RecordValue(latencyUnits(q.Latency))
		}
	}
	if measured {
		st := &r.setTotals[q.Set]
		st.Offered++
		st.Outcomes[q.Outcome]++
		if ok {
			v := latencyUnits(q.Latency)
			r.overall.RecordValue(v)
			r.byPriority[q.Priority].RecordValue(v)
			if r.byCommand != nil {
				r.byCommand[q.Command].RecordValue(v)
			}
		}
	}
	for i := range r.faults {
		f := &r.faults[i]
		if q.Send >= f.start && q.Send < f.end {
			word, bit := q.User>>6, uint64(1)<<(q.User&63)
			f.active[word] |= bit
			if !ok && q.Outcome != Unknown { // an unknown outcome is not a failure seen
				f.fail[word] |= bit
			}
		}
	}
}

func latencyUnits(ns int64) int64 {
	v := ns / HistUnitNS
	if v < 1 {
		return 1
	}
	return min(v, 3_600_000_000)
}

// openFor returns the open window for index wi, opening it (and packing
// the one it replaces) when needed; nil when wi was already packed.
func (r *Recorder) openFor(wi int64) *openWindow {
	if wi < r.finalized {
		return nil
	}
	ow := r.open[wi%int64(len(r.open))]
	if ow.index == wi {
		return ow
	}
	if ow.index >= 0 {
		r.pack(ow)
	}
	ow.index = wi
	return ow
}

// Flush packs every window that can no longer receive requests, given that
// no request sent before now-horizon is still in flight. Backends call it
// as time advances (once per window is enough).
func (r *Recorder) Flush(now int64) {
	upto := now/r.window - r.horizonW
	for _, ow := range r.open {
		if ow.index >= 0 && ow.index < upto {
			r.pack(ow)
		}
	}
	if upto > r.finalized {
		r.finalized = upto
	}
}

func (r *Recorder) pack(ow *openWindow) {
	w := &r.res.Windows[ow.index]
	p := hdrhistogram.NewPacked(1, 3_600_000_000, 2)
	p.MergeFrom(ow.hist)
	p.Compact()
	r.packed[ow.index] = p
	w.Latency = Summarize(ow.hist)
	sort.Slice(ow.touched, func(i, j int) bool { return ow.touched[i] < ow.touched[j] })
	for _, s := range ow.touched {
		if ow.setFail[s] > 0 {
			w.SetsFailed = append(w.SetsFailed, SetCount{Set: int(s), Offered: ow.setOff[s], Failed: ow.setFail[s]})
		}
		ow.setOff[s], ow.setFail[s] = 0, 0
	}
	ow.touched = ow.touched[:0]
	ow.hist.Reset()
	ow.index = -1
}

// Event adds an entry to the timeline.
func (r *Recorder) Event(t int64, kind string, fault int, format string, args ...any) {
	r.res.Events = append(r.res.Events, Event{T: t, Kind: kind, Fault: fault, Detail: fmt.Sprintf(format, args...)})
}

// Detected notes that the system noticed fault f at t (the first time counts).
func (r *Recorder) Detected(f int, t int64, detail string) {
	if fi := &r.res.Faults[f]; fi.Detected < 0 || t < fi.Detected {
		fi.Detected = t
		r.Event(t, EvDetected, f, "%s", detail)
	}
}

// Rerouted notes that traffic moved away from what fault f broke (the first time counts).
func (r *Recorder) Rerouted(f int, t int64, detail string) {
	if fi := &r.res.Faults[f]; fi.Rerouted < 0 || t < fi.Rerouted {
		fi.Rerouted = t
		r.Event(t, EvRerouted, f, "%s", detail)
	}
}

// FailoverDone notes that a failover caused by fault f finished at t (the last one counts).
func (r *Recorder) FailoverDone(f int, t int64, detail string) {
	if fi := &r.res.Faults[f]; t > fi.FailoverDone {
		fi.FailoverDone = t
	}
	r.Event(t, EvFailoverDone, f, "%s", detail)
}

// Isolated notes that from t on no call reached the machines of fault f.
func (r *Recorder) Isolated(f int, t int64, detail string) {
	r.res.Faults[f].Isolated = &t
	r.Event(t, EvIsolated, f, "%s", detail)
}

// WritesLost records n acknowledged writes lost at t by a failover caused
// by fault f (-1 when no fault is to blame); span is from the oldest lost
// write to the failure.
func (r *Recorder) WritesLost(f int, t, n, span int64, detail string) {
	if f >= 0 {
		fi := &r.res.Faults[f]
		fi.LostWrites += n
		fi.LostSpanNS = max(fi.LostSpanNS, span)
	} else {
		r.res.Totals.OtherLostWrites += n
		r.res.Totals.OtherLostSpanNS = max(r.res.Totals.OtherLostSpanNS, span)
	}
	r.Event(t, EvWritesLost, f, "%d acknowledged writes lost (%s)", n, detail)
}

// SetQueues stores the queue figures a backend counted (deterministic
// values only), one row per kind of instance.
func (r *Recorder) SetQueues(q []QueueCounts) { r.res.Queues = q }

// SetEngine stores a backend counter (deterministic values only).
func (r *Recorder) SetEngine(name string, v int64) { r.res.Engine[name] = v }

// Finish packs every window, computes the totals and returns the Result.
// end is how far the run got; a run stopped early is marked incomplete and
// keeps only the windows it reached.
func (r *Recorder) Finish(end int64, incomplete bool) *Result {
	for _, ow := range r.open {
		if ow.index >= 0 {
			r.pack(ow)
		}
	}
	res := r.res
	res.Incomplete = incomplete
	if incomplete {
		res.StoppedNS = end
		n := (end + r.window - 1) / r.window
		res.Windows = res.Windows[:min(int64(len(res.Windows)), n)]
	}
	enc := newHistEncoder()
	for i := range res.Windows {
		if p := r.packed[i]; p != nil && p.TotalCount() > 0 {
			res.Windows[i].Hist = enc.encode(p)
			r.packed[i] = nil
		}
	}
	r.totals()
	for i := range res.Faults {
		f := &r.faults[i]
		res.Faults[i].UsersActive = popcount(f.active)
		res.Faults[i].UsersFailed = popcount(f.fail)
	}
	sort.SliceStable(res.Events, func(i, j int) bool { return res.Events[i].T < res.Events[j].T })
	return res
}

func (r *Recorder) totals() {
	res := r.res
	sumWindows(res)
	t := &res.Totals
	t.BySet = r.setTotals
	t.Latency = Summarize(r.overall)
	for p := range r.byPriority {
		t.LatencyBy[p] = Summarize(r.byPriority[p])
	}
	for _, h := range r.byCommand {
		t.LatencyByCommand = append(t.LatencyByCommand, Summarize(h))
	}
	t.Hist = EncodeHist(r.overall)
}

func popcount(bs []uint64) int64 {
	var n int
	for _, w := range bs {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// sumWindows adds the measured windows (those starting after warm-up) into
// res.Totals' counters.
func sumWindows(res *Result) {
	t := &res.Totals
	t.ByCity = make([]Counts, len(res.Cities))
	for i := range res.Windows {
		w := &res.Windows[i]
		if w.Start < res.WarmupNS {
			continue
		}
		t.Counts.Add(&w.Counts)
		for p := range w.ByPriority {
			t.ByPriority[p].Add(&w.ByPriority[p])
		}
		for c := range w.ByCity {
			t.ByCity[c].Add(&w.ByCity[c])
		}
		if len(w.ByCommand) > 0 && t.ByCommand == nil {
			t.ByCommand = make([]Counts, len(w.ByCommand))
		}
		for c := range w.ByCommand {
			t.ByCommand[c].Add(&w.ByCommand[c])
		}
		t.Attempts += w.Attempts
		t.Writes += w.Writes
		t.Cross += w.CrossRegion
		t.CrossSet += w.CrossSet
	}
}

// commandInfo describes a planned command for the Result.
func commandInfo(s *scenarios.Scenario, c scenarios.CommandPlan) CommandInfo {
	kind := "mixed"
	for _, sc := range s.Workload.Commands {
		if sc.Name == c.Name {
			kind = sc.Kind
		}
	}
	svc := ""
	if c.Service >= 0 && c.Service < len(s.Stack.Services) {
		svc = s.Stack.Services[c.Service].Name
	}
	return CommandInfo{Name: c.Name, Share: c.Share, Priority: scenarios.PriorityNames[c.Priority], Kind: kind, Service: svc}
}
