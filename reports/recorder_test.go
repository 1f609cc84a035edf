package reports

import (
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// hourPlan is the synthetic scenario stretched to one hour with 1s
// windows and a million users.
func hourPlan(t testing.TB) *scenarios.Plan {
	t.Helper()
	text, err := os.ReadFile(synthPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), "duration: 2m", "duration: 1h", 1)
	s = strings.Replace(s, "count: 2000", "count: 1000k", 1)
	f, err := scenarios.Parse("hour.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// hourTraffic makes n requests spread evenly over the plan's run, with
// latencies from 1ms to seconds (a wide spread fills many histogram
// buckets) and 2% failures in random sets.
func hourTraffic(p *scenarios.Plan, n int) []Request {
	r := rand.New(rand.NewPCG(1, 2))
	dur := int64(p.Scenario.Run.Duration)
	users := p.UserCities[len(p.UserCities)-1].First + p.UserCities[len(p.UserCities)-1].Count
	out := make([]Request, n)
	for i := range out {
		q := &out[i]
		city := r.IntN(len(p.UserCities))
		uc := p.UserCities[city]
		user := uc.First + r.IntN(uc.Count)
		*q = Request{Send: int64(i) * (dur / int64(n)), User: int32(user % users), Set: int32(p.HomeSet(city, user)),
			City: int16(city), Priority: uint8(r.IntN(NumPriorities)), Attempts: 1,
			Latency: int64(float64(time.Millisecond) * math.Exp(r.NormFloat64()*1.2+1.5)), Write: r.IntN(5) == 0}
		if r.IntN(50) == 0 {
			q.Outcome, q.Attempts = Timeout, 3
		}
	}
	return out
}

// feed records reqs in order, flushing at every window boundary.
func feed(rec *Recorder, reqs []Request, window int64) {
	next := window
	for i := range reqs {
		if reqs[i].Send >= next {
			rec.Flush(reqs[i].Send)
			next = (reqs[i].Send/window + 1) * window
		}
		rec.Record(&reqs[i])
	}
}

func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestRecorderMemoryHour checks the memory bound of the design: the
// Recorder of a one-hour run with 1s windows (3,600 windows) stays under
// 64 MB, during the run and with the Result it returns.
func TestRecorderMemoryHour(t *testing.T) {
	if testing.Short() {
		t.Skip("records 3.6M requests")
	}
	p := hourPlan(t)
	win := int64(p.Scenario.Run.Window)
	reqs := hourTraffic(p, 3600*1000)
	base := heapNow()
	rec := NewRecorder(p, 1, "test", int64(5*time.Second))
	feed(rec, reqs, win)
	during := heapNow() - base
	res := rec.Finish(int64(p.Scenario.Run.Duration), false)
	after := heapNow() - base
	runtime.KeepAlive(rec)
	runtime.KeepAlive(reqs)
	t.Logf("recorder for %d windows, %d requests: %.1f MB during the run, %.1f MB with the finished Result",
		len(res.Windows), len(reqs), float64(during)/(1<<20), float64(after)/(1<<20))
	const limit = 64 << 20
	if during > limit || after > limit {
		t.Errorf("recorder uses %d / %d bytes, over the 64 MB budget", during, after)
	}
	if w := res.Windows[3599]; res.Totals.Counts.Offered == 0 || w.Latency.Count == 0 || w.Hist == "" {
		t.Errorf("the last window was not recorded: %+v", w.Counts)
	}
}

// BenchmarkRecorder measures Record, the call on the simulator's hot path:
// ns/op and allocs/op per recorded request (flushing once per window, as
// a backend does). It must not allocate.
func BenchmarkRecorder(b *testing.B) {
	p := hourPlan(b)
	win := int64(p.Scenario.Run.Window)
	reqs := hourTraffic(p, 1<<16)
	perWindow := max(1000, b.N/3600+1)
	rec := NewRecorder(p, 1, "bench", int64(5*time.Second))
	b.ReportAllocs()
	b.ResetTimer()
	next := win
	for i := 0; i < b.N; i++ {
		q := &reqs[i&(len(reqs)-1)]
		q.Send = int64(i/perWindow)*win + int64(i%perWindow)*(win/int64(perWindow))
		if q.Send >= next {
			rec.Flush(q.Send)
			next += win
		}
		rec.Record(q)
	}
}

// BenchmarkRecorderHour records a one-hour run (3,600 windows, 1,000
// requests each) and reports the Recorder's heap in MB.
func BenchmarkRecorderHour(b *testing.B) {
	p := hourPlan(b)
	win := int64(p.Scenario.Run.Window)
	reqs := hourTraffic(p, 3600*1000)
	b.ReportAllocs()
	for b.Loop() {
		base := heapNow()
		rec := NewRecorder(p, 1, "bench", int64(5*time.Second))
		feed(rec, reqs, win)
		b.ReportMetric(float64(heapNow()-base)/(1<<20), "heap-MB")
		runtime.KeepAlive(rec)
		runtime.KeepAlive(reqs)
	}
}

func TestRecorderIncomplete(t *testing.T) {
	p := synthPlan(t)
	rec := NewRecorder(p, 1, "test", int64(3*time.Second))
	d := newSynthDriver(p, rec)
	d.run(45 * sec)
	res := rec.Finish(45*sec, true)
	if !res.Incomplete || len(res.Windows) != 45 {
		t.Fatalf("incomplete %v, %d windows", res.Incomplete, len(res.Windows))
	}
	Analyze(res)
	if rto := res.Measures.Faults[0].RTO; rto != 12*sec {
		t.Errorf("RTO of a run stopped at 45s = %s, want 12s", FormatLatency(rto))
	}
	if rto := res.Measures.Faults[1].RTO; rto != -1 {
		t.Errorf("a fault after the end has RTO %s, want -1 (not observed)", FormatLatency(rto))
	}
}

func TestRecorderLateRequestsAndWrites(t *testing.T) {
	p := synthPlan(t)
	rec := NewRecorder(p, 1, "test", int64(time.Second))
	q := Request{Send: 20 * sec, Latency: int64(time.Millisecond), Set: 1, Outcome: OK, Attempts: 1, Write: true}
	rec.Record(&q)
	rec.Flush(40 * sec) // window 20 is packed
	late := q
	late.Outcome = Timeout
	rec.Record(&late) // counted, but its set and histogram are sealed
	rec.WritesLost(-1, 30*sec, 5, 200*int64(time.Millisecond), "no fault")
	res := rec.Finish(int64(p.Scenario.Run.Duration), false)
	w := res.Windows[20]
	if w.Counts.Offered != 2 || w.Writes != 1 || w.Latency.Count != 1 {
		t.Errorf("window 20 = %+v", w)
	}
	if res.Totals.OtherLostWrites != 5 || res.Totals.OtherLostSpanNS != 200*int64(time.Millisecond) {
		t.Errorf("totals = %+v", res.Totals)
	}
	if res.Totals.BySet[1].Offered != 2 {
		t.Errorf("set totals = %+v", res.Totals.BySet)
	}
}

// TestRecorderCityOutcomesAddUp: a window's and the run's per-city counts
// carry every outcome, so each city's outcomes add up to its offered
// requests and the cities add up to the run.
func TestRecorderCityOutcomesAddUp(t *testing.T) {
	p := hourPlan(t)
	rec := NewRecorder(p, 1, "test", int64(time.Second))
	reqs := hourTraffic(p, 200_000)
	for i := range reqs {
		reqs[i].Outcome = Outcome(i % int(NumOutcomes))
	}
	feed(rec, reqs, int64(p.Scenario.Run.Window))
	res := rec.Finish(int64(p.Scenario.Run.Duration), false)
	var sum Counts
	for c := range res.Totals.ByCity {
		cc := &res.Totals.ByCity[c]
		var outcomes int64
		for o := range cc.Outcomes {
			outcomes += cc.Outcomes[o]
		}
		if outcomes != cc.Offered || cc.Outcomes[Shed] == 0 || cc.Outcomes[Timeout] == 0 {
			t.Errorf("city %d: outcomes %v add up to %d of %d offered", c, cc.Outcomes, outcomes, cc.Offered)
		}
		sum.Add(cc)
	}
	if sum != res.Totals.Counts {
		t.Errorf("cities add up to %+v, the run counted %+v", sum, res.Totals.Counts)
	}
	for i, w := range res.Windows[600:605] {
		var c Counts
		for k := range w.ByCity {
			c.Add(&w.ByCity[k])
		}
		if c != w.Counts {
			t.Errorf("window %d: cities add up to %+v, the window counted %+v", 600+i, c, w.Counts)
		}
	}
}
