package reports

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// The synthetic driver stands in for a backend: it drives a Recorder from
// the plan of testdata/synthetic.yaml with deterministic traffic whose
// shape is known, so that the reports can be checked against it.
//
//   - every window, perCity requests from each city's users (x3 during the
//     flash crowd), priorities 10/60/30%, 20% writes, 1% cross-region;
//   - "lose shenzhen/a" (30s-60s): users homed in that set time out for 5s,
//     then get fast errors until re-homing at 42s, then are served from the
//     other AZ 2ms slower; detection at 33s, failover at 40s losing 12
//     acknowledged writes over 300ms, reroute at 42s;
//   - "flash crowd" (80s-90s): 70% of low and 5% of normal priority are
//     shed, high is untouched; nothing detects it;
//   - queue figures (synthQueues): the gateways' threads 12% in use, the
//     order service's 93% (saturated) over the 110s after warm-up.

const (
	synthPath    = "testdata/synthetic.yaml"
	synthPerCity = 200
	synthRehome  = 42 * int64(time.Second)
)

func synthPlan(t testing.TB) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Load(synthPath)
	if err != nil {
		t.Fatalf("load %s: %v", synthPath, err)
	}
	return scenarios.NewPlan(f)
}

// synthResult runs the synthetic driver over the whole scenario.
func synthResult(t testing.TB) *Result {
	t.Helper()
	p := synthPlan(t)
	rec := NewRecorder(p, p.Scenario.Run.Seed, "synthetic", int64(3*time.Second))
	d := newSynthDriver(p, rec)
	d.run(int64(p.Scenario.Run.Duration))
	rec.SetQueues(synthQueues())
	return rec.Finish(int64(p.Scenario.Run.Duration), false)
}

// synthQueues are queue figures a backend might count for the synthetic
// plan over its 110s after warm-up: 8 gateways of 256 threads 12% in use,
// 8 order instances of 16 threads 93% in use.
func synthQueues() []QueueCounts {
	const span = 110 * int64(time.Second)
	return []QueueCounts{
		{Name: "gateway", Role: "gateway", Instances: 8, Threads: 2048, QueueCapacity: 8000, Calls: 240_000,
			Waited: 1200, WaitNS: 1200 * 3 * int64(time.Millisecond), Expired: 150, Shed: 4000, BusyThreadNS: 2048 * span * 12 / 100},
		{Name: "order", Role: "service", Instances: 8, Threads: 128, QueueCapacity: 8000, Calls: 236_000,
			Waited: 59_000, WaitNS: 59_000 * 4 * int64(time.Millisecond), Rejected: 20, BusyThreadNS: 128 * span * 93 / 100},
	}
}

type synthDriver struct {
	p   *scenarios.Plan
	rec *Recorder
	rng *rand.Rand
	q   Request
}

func newSynthDriver(p *scenarios.Plan, rec *Recorder) *synthDriver {
	return &synthDriver{p: p, rec: rec, rng: rand.New(rand.NewPCG(p.Scenario.Run.Seed, 1))}
}

func (d *synthDriver) run(duration int64) {
	win := int64(d.p.Scenario.Run.Window)
	for ws := int64(0); ws < duration; ws += win {
		d.faultEvents(ws, ws+win)
		n := synthPerCity
		if d.p.Faults[1].Active(ws) {
			n *= 3
		}
		for c := range d.p.UserCities {
			for i := 0; i < n; i++ {
				d.request(c, ws+int64(i)*win/int64(n))
			}
		}
		d.rec.Flush(ws + win)
	}
}

// faultEvents reports what the system noticed of the faults in [from, to).
func (d *synthDriver) faultEvents(from, to int64) {
	s := int64(time.Second)
	in := func(t int64) bool { return t >= from && t < to }
	for i := range d.p.Faults {
		f := &d.p.Faults[i]
		if in(f.Start) {
			d.rec.Event(f.Start, EvFaultStart, i, "%s", f.Name)
		}
		if in(f.End) {
			d.rec.Event(f.End, EvFaultEnd, i, "%s", f.Name)
		}
	}
	if in(33 * s) {
		d.rec.Detected(0, 33*s, "discovery lease of 4 instances expired")
	}
	if in(40 * s) {
		d.rec.FailoverDone(0, 40*s, "shard 0 promoted in shenzhen/b")
		d.rec.WritesLost(0, 40*s, 12, 300*int64(time.Millisecond), "shard 0 async lag")
	}
	if in(synthRehome) {
		d.rec.Rerouted(0, synthRehome, "access layer re-homed shenzhen/a users")
		d.rec.Event(synthRehome, EvRehomed, 0, "shenzhen/a -> shenzhen/b")
	}
}

func (d *synthDriver) request(city int, send int64) {
	r := d.rng
	uc := d.p.UserCities[city]
	user := uc.First + r.IntN(uc.Count)
	q := &d.q
	*q = Request{Send: send, User: int32(user), Set: int32(d.p.HomeSet(city, user)), City: int16(city),
		Outcome: OK, Attempts: 1, Write: r.IntN(5) == 0, Cross: r.IntN(100) == 0}
	switch x := r.IntN(10); {
	case x == 0:
		q.Priority = 0
	case x < 7:
		q.Priority = 1
	default:
		q.Priority = 2
	}
	ms := int64(time.Millisecond)
	q.Latency = 2*ms + int64(r.ExpFloat64()*float64(3*ms))
	if r.IntN(100) == 0 {
		q.Latency += 100*ms + r.Int64N(100*ms)
	}
	if q.Cross {
		q.Latency += 30 * ms
	}
	lost := &d.p.Faults[0]
	switch {
	case lost.Active(send) && int(q.Set) == lost.Sets[0] && send < synthRehome:
		q.Attempts = 3
		if send < lost.Start+5*int64(time.Second) {
			q.Outcome, q.Latency = Timeout, 3*int64(time.Second)
		} else {
			q.Outcome, q.Latency = Unavailable, 150*ms
		}
	case lost.Active(send) && int(q.Set) == lost.Sets[0]:
		q.Latency += 2 * ms
	case d.p.Faults[1].Active(send) && (q.Priority == 2 && r.IntN(10) < 7 || q.Priority == 1 && r.IntN(20) == 0):
		q.Outcome, q.Latency = Shed, 1*ms
	}
	d.rec.Record(q)
}

func TestSyntheticDriverShape(t *testing.T) {
	res := synthResult(t)
	if got, want := len(res.Windows), 120; got != want {
		t.Fatalf("windows = %d, want %d", got, want)
	}
	w31 := res.Windows[31]
	if w31.Counts.Outcomes[Timeout] == 0 || w31.Counts.Availability() > 0.95 {
		t.Errorf("window 31s should show the AZ loss: %+v", w31.Counts)
	}
	w85 := res.Windows[85]
	if w85.ByPriority[0].Availability() != 1 || w85.ByPriority[2].Availability() > 0.5 {
		t.Errorf("window 85s should shed low priority only: %+v", w85.ByPriority)
	}
	if f := res.Faults[0]; f.LostWrites != 12 || f.Detected != 33*int64(time.Second) || f.UsersFailed == 0 || f.UsersFailed >= f.UsersActive {
		t.Errorf("fault 0 = %+v", f)
	}
}
