package reports

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

const sec = int64(time.Second)

// handResult is a hand-built run of n 1s windows, one city, two sets, no
// warm-up, where every window offers 100 high, 600 normal and 300 low
// priority requests and serves them all. Tests change windows with
// setAvail and then call fillTotals.
func handResult(n int) *Result {
	r := &Result{Version: ResultVersion, Scenario: "hand", WindowNS: sec, DurationNS: int64(n) * sec,
		Cities: []string{"c"}, Sets: []SetInfo{{Name: "s0"}, {Name: "s1"}}}
	for i := range n {
		r.Windows = append(r.Windows, Window{Start: int64(i) * sec, ByCity: make([]Counts, 1)})
		setCounts(r, i, [3]int64{100, 600, 300}, [3]int64{100, 600, 300})
	}
	return r
}

// setCounts sets window i's offered and OK requests per priority; the
// requests not OK timed out.
func setCounts(r *Result, i int, offered, ok [3]int64) {
	w := &r.Windows[i]
	w.Counts, w.ByPriority = Counts{}, [NumPriorities]Counts{}
	for k := range offered {
		c := Counts{Offered: offered[k]}
		c.Outcomes[OK], c.Outcomes[Timeout] = ok[k], offered[k]-ok[k]
		w.ByPriority[k] = c
		w.Counts.Add(&c)
	}
	w.ByCity[0] = w.Counts
	w.Attempts = w.Counts.Offered
}

// setAvail makes window i serve share a of every class (rounded down).
func setAvail(r *Result, i int, a float64) {
	off := [3]int64{100, 600, 300}
	var ok [3]int64
	for k := range off {
		ok[k] = int64(math.Floor(float64(off[k])*a + 1e-9))
	}
	setCounts(r, i, off, ok)
}

// fillTotals sums the measured windows into Totals, as the Recorder does.
func fillTotals(r *Result) {
	r.Totals = Totals{BySet: make([]Counts, len(r.Sets)),
		OtherLostWrites: r.Totals.OtherLostWrites, OtherLostSpanNS: r.Totals.OtherLostSpanNS}
	sumWindows(r)
}

func addFault(r *Result, name string, start, end int64) *FaultInfo {
	r.Faults = append(r.Faults, FaultInfo{Index: len(r.Faults), Name: name, Kind: "az-down", Target: "az=c/a",
		Start: start, End: end, Detected: -1, Rerouted: -1, FailoverDone: -1})
	return &r.Faults[len(r.Faults)-1]
}

func TestAnalyzeAvailability(t *testing.T) {
	r := handResult(10)
	r.WarmupNS = 2 * sec
	setAvail(r, 0, 0) // warm-up: ignored
	setAvail(r, 1, 0)
	setAvail(r, 5, 0.5)
	setAvail(r, 6, 0.9)
	setCounts(r, 8, [3]int64{100, 600, 300}, [3]int64{100, 600, 0}) // low shed
	addFault(r, "f", 5*sec, 7*sec)
	fillTotals(r)
	Analyze(r)
	m := r.Measures
	// 8 measured windows of 1000: five full, then 500 + 900 + 700 served.
	if want := (5000 + 500 + 900 + 700) / 8000.0; m.Availability != want {
		t.Errorf("availability = %v, want %v", m.Availability, want)
	}
	if want := (5000 + 700) / 6000.0; m.AvailabilitySteady != want {
		t.Errorf("steady = %v, want %v", m.AvailabilitySteady, want)
	}
	if want := (1500 + 150 + 270 + 0) / 2400.0; math.Abs(m.ByPriority[2]-want) > 1e-12 {
		t.Errorf("low = %v, want %v", m.ByPriority[2], want)
	}
	if f := m.Faults[0]; f.Availability != 1400/2000.0 || f.WorstWindow != 5*sec || f.WorstAvailability != 0.5 {
		t.Errorf("fault = %+v", f)
	}
	if m.RetryAmplification != 1 || m.CrossRegion != 0 {
		t.Errorf("retry %v cross %v", m.RetryAmplification, m.CrossRegion)
	}
}

func TestRTO(t *testing.T) {
	type fault struct{ start, end float64 } // seconds
	cases := []struct {
		name   string
		avail  map[int]float64 // window -> availability; others 100%
		empty  []int           // windows with no traffic
		slo    float64         // 0: the default objective
		faults []fault
		want   []float64 // seconds; -1 never
	}{
		{"never below", nil, nil, 0.99, []fault{{2, 4}}, []float64{0}},
		{"recovers", map[int]float64{2: 0.5, 3: 0.9}, nil, 0.99, []fault{{2, 4}}, []float64{2}},
		{"mid-window start", map[int]float64{2: 0.5}, nil, 0.99, []fault{{2.5, 4}}, []float64{0.5}},
		{"still below at the end", map[int]float64{2: 0.5, 9: 0.9}, nil, 0.99, []fault{{2, 4}}, []float64{-1}},
		{"flaps then stays", map[int]float64{2: 0.5, 5: 0.98}, nil, 0.99, []fault{{2, 3}}, []float64{4}},
		{"span ends at next fault", map[int]float64{2: 0.5, 3: 0.5, 6: 0.5, 7: 0.5}, nil, 0.99,
			[]fault{{2, 4}, {6, 8}}, []float64{2, 2}},
		{"next fault still bad at the end", map[int]float64{2: 0.5, 6: 0.5, 7: 0.5, 8: 0.5, 9: 0.5}, nil, 0.99,
			[]fault{{2, 4}, {6, 8}}, []float64{1, -1}},
		{"empty tail is not recovery", map[int]float64{8: 0.5}, []int{9}, 0.99, []fault{{8, 10}}, []float64{-1}},
		{"empty window skipped", map[int]float64{2: 0.5}, []int{3}, 0.99, []fault{{2, 4}}, []float64{1}},
		{"default objective 99.9%", map[int]float64{2: 0.998, 3: 0.9995}, nil, 0, []fault{{2, 4}}, []float64{1}},
		{"within objective", map[int]float64{2: 0.995}, nil, 0.99, []fault{{2, 4}}, []float64{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := handResult(10)
			r.SLO.Availability = scenarios.Percent(tc.slo)
			for i, a := range tc.avail {
				r.Windows[i].Counts = Counts{Offered: 10000}
				r.Windows[i].Counts.Outcomes[OK] = int64(math.Round(a * 10000))
				r.Windows[i].Counts.Outcomes[Failed] = 10000 - r.Windows[i].Counts.Outcomes[OK]
			}
			for _, i := range tc.empty {
				r.Windows[i].Counts, r.Windows[i].ByPriority = Counts{}, [NumPriorities]Counts{}
			}
			for i, f := range tc.faults {
				addFault(r, "f"+itoa(i), int64(f.start*1e9), int64(f.end*1e9))
			}
			fillTotals(r)
			Analyze(r)
			for i, want := range tc.want {
				got := r.Measures.Faults[i].RTO
				if w := int64(want * 1e9); want < 0 && got != -1 || want >= 0 && got != w {
					t.Errorf("fault %d: RTO = %s, want %v s", i, FormatLatency(got), want)
				}
			}
		})
	}
}

func TestFailoverTimesAndBlastRadius(t *testing.T) {
	r := handResult(10)
	r.SLO.Availability = 0.99
	r.Sets = append(r.Sets, SetInfo{Name: "s2"}, SetInfo{Name: "s3"})
	f := addFault(r, "f", 2*sec, 5*sec)
	f.Detected, f.Rerouted, f.LostWrites, f.LostSpanNS = 3*sec, 4500*int64(time.Millisecond), 7, 250*int64(time.Millisecond)
	f.UsersActive, f.UsersFailed = 400, 100
	r.Windows[1].SetsFailed = []SetCount{{Set: 3, Offered: 10, Failed: 10}} // before the fault
	r.Windows[2].SetsFailed = []SetCount{{Set: 0, Offered: 100, Failed: 50}, {Set: 1, Offered: 1000, Failed: 5}}
	r.Windows[4].SetsFailed = []SetCount{{Set: 0, Offered: 100, Failed: 1}, {Set: 2, Offered: 100, Failed: 2}}
	fillTotals(r)
	Analyze(r)
	fm := r.Measures.Faults[0]
	if fm.Detection != sec || fm.Reroute != 2500*int64(time.Millisecond) || fm.FailoverDone != -1 {
		t.Errorf("detection %d reroute %d failover %d", fm.Detection, fm.Reroute, fm.FailoverDone)
	}
	// s0 (50%) and s2 (98%) fell below 99%; s1 (99.5%) did not; s3 only before the fault.
	if fm.SetsAffected != 2 || fm.BlastSets != 0.5 || fm.BlastUsers != 0.25 {
		t.Errorf("sets %d blast sets %v users %v", fm.SetsAffected, fm.BlastSets, fm.BlastUsers)
	}
	if r.Measures.LostWrites != 7 || r.Measures.LostSpanNS != 250*int64(time.Millisecond) {
		t.Errorf("lost %d span %d", r.Measures.LostWrites, r.Measures.LostSpanNS)
	}
}

func TestShedOrder(t *testing.T) {
	cases := []struct {
		name            string
		offered, ok     [3]int64
		held            bool
		lossy, violated int
	}{
		{"no losses", [3]int64{100, 600, 300}, [3]int64{100, 600, 300}, true, 0, 0},
		{"low first", [3]int64{100, 600, 300}, [3]int64{100, 590, 30}, true, 1, 0},
		{"equal random loss", [3]int64{100, 600, 300}, [3]int64{85, 540, 270}, true, 1, 0},
		{"high lost more", [3]int64{1000, 1000, 1000}, [3]int64{500, 1000, 1000}, false, 1, 1},
		{"normal lost more than low", [3]int64{1000, 1000, 1000}, [3]int64{1000, 800, 950}, false, 1, 1},
		{"within noise allowance", [3]int64{10000, 10000, 10000}, [3]int64{9800, 9850, 9880}, true, 1, 0},
		{"class with no traffic", [3]int64{0, 600, 300}, [3]int64{0, 600, 0}, true, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := handResult(5)
			r.SLO.ShedOrder = true
			setCounts(r, 3, tc.offered, tc.ok)
			fillTotals(r)
			Analyze(r)
			so := r.Measures.ShedOrder
			if so.Held != tc.held || so.LossyWindows != tc.lossy || so.Violations != tc.violated {
				t.Errorf("shed order = %+v", so)
			}
			v := r.Verdicts[len(r.Verdicts)-1]
			if v.SLO != "shed_order" || v.Pass != tc.held {
				t.Fatalf("verdict = %+v", v)
			}
			if !tc.held && (so.FirstViolation != 3*sec || v.WindowStart != 3*sec || v.WindowEnd != 4*sec) {
				t.Errorf("violation at %d, verdict window %d-%d", so.FirstViolation, v.WindowStart, v.WindowEnd)
			}
		})
	}
}

// histOf encodes a latency histogram of the given values (ns).
func histOf(t *testing.T, ns ...int64) (string, Latency) {
	t.Helper()
	h := NewHist()
	for _, v := range ns {
		if err := h.RecordValue(v / HistUnitNS); err != nil {
			t.Fatal(err)
		}
	}
	return EncodeHist(h), Summarize(h)
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestLatencyInFaultMergesWindows(t *testing.T) {
	r := handResult(6)
	ms := int64(time.Millisecond)
	// Windows 2 and 3 are in the fault: 990 requests at 10ms and 10 at 1s
	// each; the merged p99 is 10ms and p99.9 1s. Window 4 is outside.
	for _, i := range []int{2, 3} {
		r.Windows[i].Hist, r.Windows[i].Latency = histOf(t, append(repeat(10*ms, 990), repeat(1000*ms, 10)...)...)
	}
	r.Windows[4].Hist, r.Windows[4].Latency = histOf(t, repeat(5000*ms, 100)...)
	addFault(r, "f", 2*sec, 4*sec)
	fillTotals(r)
	r.SLO.LatencyInFault = map[string]scenarios.Duration{"p99": scenarios.Duration(20 * ms), "p99.9": scenarios.Duration(500 * ms)}
	Analyze(r)
	l := r.Measures.Faults[0].Latency
	if l.Count != 2000 || !near(l.P99, 10*ms) || !near(l.P999, 1000*ms) {
		t.Errorf("fault latency = %+v", l)
	}
	v := r.Verdicts
	if len(v) != 2 || !v[0].Pass || v[0].SLO != "latency_in_fault p99" || v[1].Pass || v[1].WindowStart != 2*sec || v[1].WindowEnd != 4*sec {
		t.Errorf("verdicts = %+v", v)
	}
	// Without histograms the window summaries bound the percentiles.
	r.Windows[2].Hist, r.Windows[3].Hist = "", "not base64 !"
	Analyze(r)
	if l := r.Measures.Faults[0].Latency; l.Count != 2000 || !near(l.P999, 1000*ms) {
		t.Errorf("fallback latency = %+v", l)
	}
}

// near reports whether a histogram value is within 1% of want.
func near(got, want int64) bool { return math.Abs(float64(got-want)) <= 0.01*float64(want) }

func TestVerdicts(t *testing.T) {
	ms := int64(time.Millisecond)
	lost := int64(0)
	r := handResult(10)
	r.SLO = scenarios.SLO{
		Availability: 0.99, AvailabilityInFault: 0.95,
		AvailabilityByPriority: map[string]scenarios.Percent{"low": 0.999, "high": 0.99},
		Latency:                map[string]scenarios.Duration{"p99": scenarios.Duration(100 * ms), "p50": scenarios.Duration(10 * ms)},
		RTO:                    scenarios.Duration(2 * sec), RPO: scenarios.Duration(sec), LostWrites: &lost,
	}
	setCounts(r, 3, [3]int64{100, 600, 300}, [3]int64{100, 600, 200})
	setAvail(r, 6, 0.8)
	setAvail(r, 7, 0.9)
	setAvail(r, 8, 0.9)
	for i := range r.Windows {
		r.Windows[i].Hist, r.Windows[i].Latency = histOf(t, repeat(5*ms, 100)...)
	}
	r.Windows[7].Hist, r.Windows[7].Latency = histOf(t, repeat(300*ms, 100)...)
	r.Windows[8].Hist, r.Windows[8].Latency = histOf(t, repeat(200*ms, 100)...)
	f := addFault(r, "lose a", 6*sec, 8*sec)
	f.LostWrites, f.LostSpanNS = 3, 200*ms
	r.Totals.OtherLostWrites = 1
	fillTotals(r)
	r.Totals.Hist, r.Totals.Latency = histOf(t, append(repeat(5*ms, 900), repeat(300*ms, 100)...)...)
	Analyze(r)

	// Histogram values are the highest of their bucket (1% wide): 5ms
	// reads 5.02ms, 300ms reads 301ms.
	type want struct {
		name, target, measured string
		pass                   bool
		start, end             int64
	}
	wants := []want{
		{"availability [overall]", "≥ 99%", "95.00%", false, 6 * sec, 7 * sec},
		{"availability_in_fault [lose a]", "≥ 95%", "85.00%", false, 6 * sec, 8 * sec},
		{"availability_by_priority [high]", "≥ 99%", "96.00%", false, 6 * sec, 7 * sec},
		{"availability_by_priority [low]", "≥ 99.9%", "92.66%", false, 3 * sec, 4 * sec},
		{"latency p50 [overall]", "≤ 10ms", "5.02ms", true, -1, -1},
		{"latency p99 [overall]", "≤ 100ms", "301ms", false, 7 * sec, 8 * sec},
		{"rto [lose a]", "≤ 2s", "3s", false, 8 * sec, 9 * sec},
		{"rpo [lose a]", "≤ 1s", "200ms", true, -1, -1},
		{"rpo [outside faults]", "≤ 1s", "0s", true, -1, -1},
		{"lost_writes [lose a]", "≤ 0", "3", false, 6 * sec, 8 * sec},
		{"lost_writes [outside faults]", "≤ 0", "1", false, 0, 10 * sec},
	}
	if len(r.Verdicts) != len(wants) {
		for _, v := range r.Verdicts {
			t.Logf("%s %s %s", v.Name(), v.Measured, v.Detail)
		}
		t.Fatalf("%d verdicts, want %d", len(r.Verdicts), len(wants))
	}
	for i, w := range wants {
		v := r.Verdicts[i]
		if v.Name() != w.name || v.Target != w.target || v.Measured != w.measured || v.Pass != w.pass ||
			v.WindowStart != w.start || v.WindowEnd != w.end {
			t.Errorf("verdict %d = %s %q %q pass=%v %d-%d (%s); want %+v", i, v.Name(), v.Target, v.Measured, v.Pass,
				v.WindowStart, v.WindowEnd, v.Detail, w)
		}
	}
	if r.Passed() || r.Failures() != 8 {
		t.Errorf("failures = %d", r.Failures())
	}
}

func TestVerdictsWithoutFaults(t *testing.T) {
	r := handResult(5)
	r.SLO = scenarios.SLO{AvailabilityInFault: 0.9, RTO: scenarios.Duration(sec),
		LatencyInFault: map[string]scenarios.Duration{"p99": scenarios.Duration(sec)}}
	fillTotals(r)
	Analyze(r)
	if len(r.Verdicts) != 3 {
		t.Fatalf("verdicts = %+v", r.Verdicts)
	}
	for _, v := range r.Verdicts {
		if !v.Pass || v.Scope != ScopeNoFaults {
			t.Errorf("verdict = %+v", v)
		}
	}
	if !r.Passed() {
		t.Error("Passed() = false")
	}
}

func TestVerdictNamesDuplicateFaults(t *testing.T) {
	r := handResult(5)
	r.SLO.AvailabilityInFault = 0.9
	addFault(r, "same", sec, 2*sec)
	addFault(r, "same", 3*sec, 4*sec)
	fillTotals(r)
	Analyze(r)
	if got := r.Verdicts[0].Name() + "," + r.Verdicts[1].Name(); got != "availability_in_fault [same #0],availability_in_fault [same #1]" {
		t.Errorf("names = %s", got)
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	res := synthResult(t)
	Analyze(res)
	a, _ := json.Marshal(res)
	Analyze(res)
	b, _ := json.Marshal(res)
	c, _ := json.Marshal(func() *Result { r := synthResult(t); Analyze(r); return r }())
	if string(a) != string(b) || string(a) != string(c) {
		t.Error("Analyze is not deterministic")
	}
}

func TestAnalyzeSynthetic(t *testing.T) {
	res := synthResult(t)
	Analyze(res)
	m := res.Measures
	f0, f1 := m.Faults[0], m.Faults[1]
	if f0.RTO != 12*sec || f1.RTO != 10*sec {
		t.Errorf("RTO = %s, %s; want 12s (re-homing at 42s), 10s (end of the flash crowd)", FormatLatency(f0.RTO), FormatLatency(f1.RTO))
	}
	if f0.Detection != 3*sec || f0.FailoverDone != 10*sec || f0.Reroute != 12*sec || f1.Detection != -1 {
		t.Errorf("fault times = %+v / %+v", f0, f1)
	}
	if f0.SetsAffected != 1 || f1.SetsAffected != 4 {
		t.Errorf("sets affected = %d, %d", f0.SetsAffected, f1.SetsAffected)
	}
	if !m.ShedOrder.Held || m.ShedOrder.LossyWindows == 0 {
		t.Errorf("shed order = %+v", m.ShedOrder)
	}
	if m.AvailabilitySteady != 1 || m.Availability >= 0.99 {
		t.Errorf("availability = %v, steady %v", m.Availability, m.AvailabilitySteady)
	}
	if m.RetryAmplification <= 1 || m.CrossRegion < 0.005 || m.CrossRegion > 0.02 {
		t.Errorf("retry %v cross %v", m.RetryAmplification, m.CrossRegion)
	}
}

func TestFormat(t *testing.T) {
	pct := map[float64]string{1: "100%", 0.9995: "99.95%", 0.99949: "99.94%", 0.999999: "99.99%", 0.5: "50.00%", 0: "0.00%", 0.995: "99.50%"}
	for v, want := range pct {
		if got := FormatPercent(v); got != want {
			t.Errorf("FormatPercent(%v) = %q, want %q", v, got, want)
		}
	}
	if got := formatPercentDigits(0.99949, percentDigits(0.9995)); got != "99.94%" {
		t.Errorf("got %q", got)
	}
	if got := percentDigits(0.99999); got != 3 {
		t.Errorf("percentDigits(99.999%%) = %d", got)
	}
	ms := int64(time.Millisecond)
	lat := map[int64]string{-1: "never", 0: "0s", 850_000: "850µs", 2500_000: "2.5ms", 212 * ms: "212ms",
		1500 * ms: "1.5s", 150 * sec: "2m30s", 12 * sec: "12s"}
	for v, want := range lat {
		if got := FormatLatency(v); got != want {
			t.Errorf("FormatLatency(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestQueueMeasures: the queue figures of a result become utilization
// (thread time over the threads' time after warm-up), the share of calls
// that waited, the mean wait over every call and the shares turned away,
// in the result's order; the report shows them, the saturated row marked.
func TestQueueMeasures(t *testing.T) {
	res := synthResult(t)
	Analyze(res)
	q := res.Measures.Queues
	if len(q) != 2 || q[0].Name != "gateway" || q[1].Name != "order" {
		t.Fatalf("queue measures %+v", q)
	}
	near := func(what string, got, want float64) {
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	near("gateway utilization", q[0].Utilization, 0.12)
	near("order utilization", q[1].Utilization, 0.93)
	near("order waited share", q[1].WaitedShare, 0.25)
	near("order mean wait", q[1].MeanWaitNS, 1e6)
	near("gateway expired share", q[0].ExpiredShare, 150.0/240000)
	near("gateway shed share", q[0].ShedShare, 4000.0/240000)
	rows := newView(res).Queues
	if len(rows) != 2 || rows[1].Class != "fail" || rows[0].Class != "pass" || rows[1].Utilization != "93.00%" || rows[1].MeanWait != "1ms" {
		t.Errorf("queue rows %+v", rows)
	}
}

// TestP95Objective checks that a p95 objective is measured between p90
// and p99 from the histograms, overall and in each fault.
func TestP95Objective(t *testing.T) {
	res := synthResult(t)
	res.SLO.Latency = map[string]scenarios.Duration{"p95": scenarios.Duration(time.Second)}
	res.SLO.LatencyInFault = map[string]scenarios.Duration{"p95": scenarios.Duration(time.Millisecond)}
	Analyze(res)
	l := res.Measures.Latency
	if l.P95 < l.P90 || l.P95 > l.P99 || l.P95 == 0 {
		t.Fatalf("p90 %d p95 %d p99 %d", l.P90, l.P95, l.P99)
	}
	found := 0
	for _, v := range res.Verdicts {
		switch v.Name() {
		case "latency p95 [overall]":
			found++
			if !v.Pass || v.Measured != FormatLatency(l.P95) {
				t.Errorf("%s: %+v", v.Name(), v)
			}
		case "latency_in_fault p95 [lose shenzhen/a]":
			found++
			if fl := res.Measures.Faults[0].Latency; v.Pass || v.Measured != FormatLatency(fl.P95) || fl.P95 == 0 {
				t.Errorf("%s: %+v (fault p95 %d)", v.Name(), v, fl.P95)
			}
		}
	}
	if found != 2 {
		t.Errorf("%d p95 verdicts of 2: %+v", found, res.Verdicts)
	}
}
