package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/reports"
)

const scalingScenario = `
name: scaling-test
run: {duration: 10s, warmup: 0s}
topology:
  cities:
    - {name: shenzhen, azs: 2, racks: 1, machines: 2}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  discovery: {mode: registry, placement: per-set, replicas: 1, heartbeat: 300ms, ttl: 1s, refresh: 300ms}
  services:
    - {name: api, instances: %d, concurrency: 2}
  data: {mode: none}
scaling:
  startup: %s
  grace: %s
%s`

// scalingRunner is a runner over a fake host in a synctest bubble whose
// instances' busy thread time follows busy (ns of thread time from the
// instance's start to now, both from the run's start).
func scalingRunner(t *testing.T, text string, busy func(since, now time.Duration) int64) (*runner, *fakeHost, *[]string) {
	p := testPlan(t, text)
	h := &fakeHost{p: p, t0: time.Now(), alive: map[int]bool{}}
	for i, in := range p.Instances {
		h.alive[i] = !in.Reserve
	}
	r := testRunner(p, h)
	started := map[int]time.Duration{}
	var mu sync.Mutex
	for i, in := range p.Instances {
		if !in.Reserve {
			started[i] = 0
		}
	}
	r.health = func(_ context.Context, i int) error {
		mu.Lock()
		defer mu.Unlock()
		if !h.Alive(i) {
			return fmt.Errorf("instance %d down", i)
		}
		if _, ok := started[i]; !ok {
			started[i] = r.now()
		}
		return nil
	}
	var admin []string
	r.adminHook = func(i int, path string) error {
		mu.Lock()
		admin = append(admin, fmt.Sprintf("%s %d %s", r.now(), i, path))
		mu.Unlock()
		return nil
	}
	r.getHook = func(i int, path string, out any) error {
		mu.Lock()
		defer mu.Unlock()
		s, ok := started[i]
		if path != "/admin/load" || !ok || !h.Alive(i) {
			return fmt.Errorf("%d %s: not there", i, path)
		}
		*out.(*node.LoadReport) = node.LoadReport{Threads: 2, BusyNS: busy(s, r.now()), Started: int64(s) + 1}
		return nil
	}
	h.onKill = func(i int) { mu.Lock(); delete(started, i); mu.Unlock() }
	r.scale = newScaler(r)
	return r, h, &admin
}

// drive runs the scaler for the run's duration and finishes it.
func driveScaling(r *runner) *reports.Scaling {
	ctx, cancel := context.WithTimeout(context.Background(), r.plan.Scenario.Run.Duration.Std())
	defer cancel()
	r.scale.run(ctx)
	r.scale.finish(r.plan.Scenario.Run.Duration.Std())
	synctest.Wait()
	return r.rec.r.Finish(int64(r.plan.Scenario.Run.Duration), false).Scaling
}

// TestScaleActions: a scale-up starts its slot startup after the action
// and counts it ready once healthy; a scale-down drains the newest first
// (POST /admin/drain at once) and kills each grace later; the samples and
// the instance time follow.
func TestScaleActions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// times off the window boundaries, so each sample is unambiguous
		text := fmt.Sprintf(scalingScenario, 2, "2.2s", "3s", `  actions:
    - {at: 1.5s, service: api, by: 1}
    - {at: 5.5s, service: api, to: 1}`)
		r, h, admin := scalingRunner(t, text, func(since, now time.Duration) int64 { return 0 })
		p := r.plan
		sc := driveScaling(r)
		var want, wantAdmin []string
		for _, g := range p.ScaleGroups {
			// slots: two at the start, one reserved
			want = append(want, fmt.Sprintf("3.7s start %d", g.Instances[2]))
			wantAdmin = append(wantAdmin, fmt.Sprintf("5.5s %d /admin/drain", g.Instances[2]), fmt.Sprintf("5.5s %d /admin/drain", g.Instances[1]))
		}
		for _, g := range p.ScaleGroups {
			want = append(want, fmt.Sprintf("8.5s kill %d", g.Instances[2]), fmt.Sprintf("8.5s kill %d", g.Instances[1]))
		}
		slices.Sort(want)
		slices.Sort(h.log)
		slices.Sort(*admin)
		slices.Sort(wantAdmin)
		if !slices.Equal(h.log, want) || !slices.Equal(*admin, wantAdmin) {
			t.Fatalf("host did %q and admin %q, want %q and %q", h.log, *admin, want, wantAdmin)
		}
		if len(sc.Starts) != 2 {
			t.Fatalf("starts %+v", sc.Starts)
		}
		for _, s := range sc.Starts {
			if s.Decided != int64(1500*time.Millisecond) || s.Ready != int64(3700*time.Millisecond) || s.Cause != "action 0" {
				t.Errorf("start %+v, want decided at 1.5s and ready at 3.7s", s)
			}
		}
		c := sc.Components[0]
		wantReady := []int32{4, 4, 4, 6, 6, 2, 2, 2, 2, 2}
		wantProv := []int32{4, 6, 6, 6, 6, 6, 6, 6, 2, 2}
		if !slices.Equal(c.Ready, wantReady) || !slices.Equal(c.Provisioned, wantProv) || c.Peak != 6 {
			t.Errorf("ready %v provisioned %v peak %d, want %v %v 6", c.Ready, c.Provisioned, c.Peak, wantReady, wantProv)
		}
		// per set: a slot 0-10s, one drained 0-8.5s, the new one 1.5-8.5s
		if want := int64(2 * 25.5 * float64(time.Second)); c.InstanceNS != want || c.StaticNS != int64(2*2*10*time.Second) {
			t.Errorf("instance time %v (static %v), want %v", time.Duration(c.InstanceNS), time.Duration(c.StaticNS), time.Duration(want))
		}
		for i, in := range p.Instances {
			if in.Role.String() == "service" && h.Alive(i) != (i == p.ScaleGroups[0].Instances[0] || i == p.ScaleGroups[1].Instances[0]) {
				t.Errorf("instance %d alive %v at the end", i, h.Alive(i))
			}
		}
	})
}

// TestScaleDownCancelsStarting: a scale-down while a slot is still
// starting cancels it (it never starts) before any ready one drains.
func TestScaleDownCancelsStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		text := fmt.Sprintf(scalingScenario, 1, "3s", "1s", `  actions:
    - {at: 1.5s, service: api, by: 1}
    - {at: 2.5s, service: api, by: -1}`)
		r, h, admin := scalingRunner(t, text, func(since, now time.Duration) int64 { return 0 })
		sc := driveScaling(r)
		if len(h.log) != 0 || len(*admin) != 0 {
			t.Fatalf("host did %q, admin %q; want nothing: the start was cancelled", h.log, *admin)
		}
		if c := sc.Components[0]; c.InstanceNS != int64(2*(10+1)*time.Second) || slices.Max(c.Ready) != 2 {
			t.Errorf("instance time %v, ready %v; want 22s (the cancelled slots cost 1s each)", time.Duration(c.InstanceNS), c.Ready)
		}
	})
}

// TestAutoscaler: every period the busy thread time of the instances
// ready for the whole period makes the utilization, and the decision is
// the HPA's: at 100% busy against a 50% target one instance becomes two;
// a new instance is measured from the first period it was ready for; at
// 0% the count goes back to min, draining.
func TestAutoscaler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		text := fmt.Sprintf(scalingScenario, 1, "1s", "1s", `  autoscale:
    - {service: api, min: 1, max: 4, utilization: 50%, period: 2s, stabilization: 0s}`)
		// both threads busy until 5s, idle after
		busy := func(since, now time.Duration) int64 {
			return 2 * int64(max(min(now, 5*time.Second)-min(since, 5*time.Second), 0))
		}
		r, h, admin := scalingRunner(t, text, busy)
		sc := driveScaling(r)
		type dec struct {
			at          time.Duration
			ready       int
			util        float64
			cur, rec, d int
		}
		var got []dec
		for _, d := range sc.Decisions {
			if d.Set == 0 {
				got = append(got, dec{time.Duration(d.T), d.Ready, d.Utilization, d.Current, d.Recommended, d.Desired})
			}
		}
		want := []dec{
			{2 * time.Second, 1, 1, 1, 2, 2},   // 100% of 1: ceil(1 x 1 / 0.5)
			{4 * time.Second, 1, 1, 2, 2, 2},   // the new one (ready at 3s) is not measured yet
			{6 * time.Second, 2, 0.5, 2, 2, 2}, // 1s of 2s busy: on target
			{8 * time.Second, 2, 0, 2, 0, 1},   // idle: min 1
		}
		if !slices.Equal(got, want) {
			t.Fatalf("decisions in set 0:\n got %+v\nwant %+v", got, want)
		}
		g := r.plan.ScaleGroups[0]
		if !slices.Contains(h.log, fmt.Sprintf("3s start %d", g.Instances[1])) || !slices.Contains(h.log, fmt.Sprintf("9s kill %d", g.Instances[1])) ||
			!slices.Contains(*admin, fmt.Sprintf("8s %d /admin/drain", g.Instances[1])) {
			t.Fatalf("host did %q, admin %q", h.log, *admin)
		}
	})
}
