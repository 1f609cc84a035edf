package runner

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Scaling on the real stack carries out the Plan's scale actions and
// autoscalers as the simulator does (sim/scaling.go), with processes: a
// slot (scenarios.ScaleGroup) a scale-up starts waits scaling.startup
// (scheduling and boot, as the scenario says), then its process starts and
// is ready once /healthz answers; it registers in discovery itself, so the
// callers' refresh (or the mesh's gossip, or the access layer's health
// checks for a gateway) decides when it gets calls. A scale-down cancels
// slots still starting (newest first), then drains ready ones (last
// placed first): POST /admin/drain takes the instance out of discovery
// (a gateway fails its health checks) while it serves what still reaches
// it, and scaling.grace later it is killed; what it still held then is
// lost. Autoscalers read every ready instance's busy thread time
// (GET /admin/load) each period and decide with the same functions as the
// simulator (scenarios.Autoscaler Recommend and Decide).

// Slot states.
const (
	slotOff = iota
	slotStarting
	slotReady
	slotDraining
)

type rslot struct {
	inst, group int
	state       int
	gen         uint64        // bumped at each start, cancel and drain: stale timers do nothing
	provT       time.Duration // when it was last provisioned (decided)
	since       time.Duration // when it was last ready
	start       int           // its entry in the record's Starts, or -1
	mark        node.LoadReport
	markAt      time.Duration
	marked      bool
	op          sync.Mutex // one process start or kill of this slot at a time
}

type rgroup struct {
	comp, set int
	slots     []int // instances, in start order
	want      int   // starting or ready (not draining)
	recs      []recommendation
	lastTick  time.Duration
}

type recommendation struct {
	at time.Duration
	n  int
}

// scaler is the scaling state of one real run.
type scaler struct {
	r          *runner
	mu         sync.Mutex
	groups     []rgroup
	slots      map[int]*rslot
	comps      []int // scaled components, the record's rows
	rec        *reports.Scaling
	timers     []*time.Timer
	done       bool
	wg         sync.WaitGroup
	active     []bool // sets whose groups scale: in service, or added (set changes)
	autoscaled []bool // groups an autoscaler decides
	member     []bool // sets users are homed on (set changes)
	moved      []int  // scaling.sets entries whose key copy ended (data.mode sharded)
}

// newScaler builds the scaling state; nil when the plan scales nothing.
// Slots beyond each group's initial count are parked (not started).
func newScaler(r *runner) *scaler {
	p := r.plan
	if len(p.ScaleGroups) == 0 && len(p.Scenario.Scaling.Sets) == 0 {
		return nil
	}
	sc := &scaler{r: r, slots: map[int]*rslot{}, rec: &reports.Scaling{}}
	for _, s := range p.Sets {
		sc.active = append(sc.active, !s.Reserve)
		sc.member = append(sc.member, !s.Reserve)
	}
	for gi, g := range p.ScaleGroups {
		res := p.Sets[g.Set].Reserve
		rg := rgroup{comp: g.Component, set: g.Set, slots: g.Instances, want: g.Initial}
		if res {
			rg.want = 0
		}
		for k, in := range g.Instances {
			st := &rslot{inst: in, group: gi, start: -1}
			if k < g.Initial && !res {
				st.state = slotReady
			}
			sc.slots[in] = st
		}
		sc.groups = append(sc.groups, rg)
		if len(sc.comps) == 0 || sc.comps[len(sc.comps)-1] < g.Component {
			if g.Set == p.ScaleGroups[0].Set {
				sc.comps = append(sc.comps, g.Component)
			}
		}
	}
	sc.autoscaled = make([]bool, len(p.ScaleGroups))
	for _, a := range p.Autoscalers {
		for _, gi := range a.Groups {
			sc.autoscaled[gi] = true
		}
	}
	end := int64(p.Scenario.Run.Duration)
	for _, c := range sc.comps {
		n := 0
		for _, g := range p.ScaleGroups {
			if g.Component == c && !p.Sets[g.Set].Reserve {
				n += g.Initial
			}
		}
		sc.rec.Components = append(sc.rec.Components, reports.ScaledComponent{Name: p.ComponentName(c), Initial: n, StaticNS: int64(n) * end})
	}
	return sc
}

// scaleStep is one step of the scaling timeline.
type scaleStep struct {
	at   time.Duration
	kind int // stepSample, stepAction, stepAutoscale
	idx  int
}

const (
	stepSample = iota
	stepAction
	stepAutoscale
	stepSet
)

// run carries out the scale actions and the autoscalers at their times
// and samples the instances at the end of every window, until ctx ends.
func (sc *scaler) run(ctx context.Context) {
	p := sc.r.plan
	dur := p.Scenario.Run.Duration.Std()
	win := p.Scenario.Run.Window.Std()
	var steps []scaleStep
	for t := win; t < dur+win; t += win {
		steps = append(steps, scaleStep{at: min(t, dur), kind: stepSample})
	}
	for i, a := range p.ScaleActions {
		steps = append(steps, scaleStep{at: time.Duration(a.At), kind: stepAction, idx: i})
	}
	for i, a := range p.Autoscalers {
		for t := a.Spec.Period.Std(); t < dur; t += a.Spec.Period.Std() {
			steps = append(steps, scaleStep{at: t, kind: stepAutoscale, idx: i})
		}
	}
	for i, c := range p.Scenario.Scaling.Sets {
		steps = append(steps, scaleStep{at: c.At.Std(), kind: stepSet, idx: i})
	}
	// at one time: set changes, autoscalers, actions, then the window's sample
	sort.SliceStable(steps, func(a, b int) bool {
		if steps[a].at != steps[b].at {
			return steps[a].at < steps[b].at
		}
		return steps[a].kind > steps[b].kind
	})
	sc.markStart(ctx)
	for _, s := range steps {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(sc.r.t0.Add(s.at))):
		}
		switch s.kind {
		case stepSample:
			sc.sample()
		case stepAction:
			sc.action(s.idx)
		case stepAutoscale:
			sc.autoscale(ctx, s.idx)
		case stepSet:
			sc.changeSet(s.idx)
		}
	}
}

func (sc *scaler) now() time.Duration { return sc.r.now() }

// after runs f after d; f checks sc.done itself, and finish stops the
// timers that have not fired.
func (sc *scaler) after(d time.Duration, f func()) {
	sc.timers = append(sc.timers, time.AfterFunc(d, f))
}

// action carries out scale action i in every group it names; sc.mu is taken.
func (sc *scaler) action(i int) {
	p := sc.r.plan
	a := &p.ScaleActions[i]
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, gi := range a.Groups {
		g := &sc.groups[gi]
		if !sc.active[g.set] {
			continue // a reserved set not added (or a removed one) runs nothing to scale
		}
		n := a.To
		if n < 0 {
			n = max(g.want+a.By, 0)
		}
		sc.r.rec.Event(int64(sc.now()), reports.EvScale, -1, "%s in %s: %d -> %d (scaling.actions[%d])",
			p.ComponentName(g.comp), p.Sets[g.set].Name, g.want, n, i)
		sc.scaleTo(gi, n, fmt.Sprintf("action %d", i))
	}
}

// scaleTo makes group gi run n instances as the simulator's scaleTo does;
// sc.mu is held.
func (sc *scaler) scaleTo(gi, n int, cause string) {
	g := &sc.groups[gi]
	for k := 0; k < len(g.slots) && g.want < n; k++ {
		if st := sc.slots[g.slots[k]]; st.state == slotOff {
			sc.start(st, cause)
			g.want++
		}
	}
	for k := len(g.slots) - 1; k >= 0 && g.want > n; k-- {
		if st := sc.slots[g.slots[k]]; st.state == slotStarting {
			sc.cancel(st)
			g.want--
		}
	}
	for k := len(g.slots) - 1; k >= 0 && g.want > n; k-- {
		if st := sc.slots[g.slots[k]]; st.state == slotReady {
			sc.drain(st)
			g.want--
		}
	}
}

// start provisions a slot: its process starts scaling.startup later.
func (sc *scaler) start(st *rslot, cause string) {
	p := sc.r.plan
	g := &sc.groups[st.group]
	now := sc.now()
	st.gen++
	st.state, st.provT, st.marked = slotStarting, now, false
	st.start = len(sc.rec.Starts)
	sc.rec.Starts = append(sc.rec.Starts, reports.ScaleStart{Component: p.ComponentName(g.comp), Set: g.set, Cause: cause,
		Decided: int64(now), Ready: -1, Seen: -1})
	gen := st.gen
	sc.after(p.Scenario.Scaling.Startup.Std(), func() { sc.boot(st, gen) })
}

// boot starts a provisioned slot's process and waits for its /healthz.
// On a machine or instance a fault holds down it does not start: the
// fault's revert starts it.
func (sc *scaler) boot(st *rslot, gen uint64) {
	sc.mu.Lock()
	if sc.done || st.gen != gen || st.state != slotStarting {
		sc.mu.Unlock()
		return
	}
	sc.wg.Add(1)
	defer sc.wg.Done()
	r := sc.r
	i := st.inst
	r.mu.Lock()
	r.parked[i] = false
	held := r.instDown[i] > 0 || r.machDown[r.plan.Instances[i].Machine] > 0
	r.mu.Unlock()
	sc.mu.Unlock()

	st.op.Lock()
	var err error
	if !held {
		r.resetEvents([]int{i})
		if err = r.host.Start(context.Background(), r.cfgs[i]); err == nil {
			err = r.waitHealthy(context.Background(), []int{i}, r.opts.HealthTimeout)
		}
	}
	st.op.Unlock()
	var mark node.LoadReport // an autoscaler measures its first period from here
	marked := !held && err == nil && sc.autoscaled[st.group] && r.getJSON(context.Background(), i, "/admin/load", &mark) == nil

	sc.mu.Lock()
	defer sc.mu.Unlock()
	now := sc.now()
	if st.gen != gen || st.state != slotStarting {
		return // cancelled meanwhile: cancel stops it
	}
	if err != nil {
		r.rec.Event(int64(now), "scale-error", -1, "%s did not start: %v", r.instName(i), err)
	}
	st.state, st.since = slotReady, now
	st.mark, st.markAt, st.marked = mark, now, marked
	sc.rec.Starts[st.start].Ready = int64(now)
	r.rec.Event(int64(now), reports.EvReady, -1, "%s ready", r.instName(i))
}

// cancel stops a slot still starting (its process, if it got that far).
func (sc *scaler) cancel(st *rslot) {
	st.gen++
	st.state = slotOff
	sc.unprovision(st)
	sc.park(st.inst)
	sc.r.rec.Event(int64(sc.now()), reports.EvStopped, -1, "%s cancelled while starting", sc.r.instName(st.inst))
	sc.kill(st)
}

// park marks an instance not to be started again by a fault's revert.
func (sc *scaler) park(i int) {
	sc.r.mu.Lock()
	sc.r.parked[i] = true
	sc.r.mu.Unlock()
}

// kill stops a slot's process in the background.
func (sc *scaler) kill(st *rslot) {
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		st.op.Lock()
		defer st.op.Unlock()
		if sc.r.host.Alive(st.inst) {
			if err := sc.r.host.Kill(st.inst); err != nil {
				sc.r.rec.Event(int64(sc.now()), "scale-error", -1, "%s: %v", sc.r.instName(st.inst), err)
			}
		}
	}()
}

// drain takes a ready slot out of discovery; it is killed grace later.
func (sc *scaler) drain(st *rslot) {
	r := sc.r
	st.gen++
	st.state = slotDraining
	r.mu.Lock()
	r.parked[st.inst] = true // a fault's revert does not start it again
	r.mu.Unlock()
	r.rec.Event(int64(sc.now()), reports.EvDrain, -1, "%s drains", r.instName(st.inst))
	sc.postDrain(st.inst)
	gen := st.gen
	sc.after(r.plan.Scenario.Scaling.Grace.Std(), func() { sc.stop(st, gen) })
}

// postDrain tells instance i to drain (POST /admin/drain), in the
// background; a failure is a timeline event.
func (sc *scaler) postDrain(i int) {
	r := sc.r
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		if r.host.Alive(i) {
			if err := r.adminPost(i, "/admin/drain"); err != nil {
				r.rec.Event(int64(sc.now()), "scale-error", -1, "%s: drain: %v", r.instName(i), err)
			}
		}
	}()
}

// stop kills a drained slot at the end of its grace: what it still holds
// is lost.
func (sc *scaler) stop(st *rslot, gen uint64) {
	r := sc.r
	sc.mu.Lock()
	if sc.done || st.gen != gen || st.state != slotDraining {
		sc.mu.Unlock()
		return
	}
	st.state = slotOff
	sc.unprovision(st)
	sc.mu.Unlock()
	var held node.LoadReport
	lost := "its calls"
	if r.host.Alive(st.inst) && r.getJSON(context.Background(), st.inst, "/admin/load", &held) == nil {
		lost = quantity(held.InFlight+held.Queued, "call")
	}
	sc.mu.Lock()
	r.rec.Event(int64(sc.now()), reports.EvStopped, -1, "%s stopped after its grace, %s still there lost", r.instName(st.inst), lost)
	sc.kill(st)
	sc.mu.Unlock()
}

// unprovision ends a slot's instance time; sc.mu is held.
func (sc *scaler) unprovision(st *rslot) {
	end := sc.r.plan.Scenario.Run.Duration.Std()
	row := sc.row(sc.groups[st.group].comp)
	sc.rec.Components[row].InstanceNS += int64(min(sc.now(), end) - min(st.provT, end))
}

func (sc *scaler) row(c int) int {
	for k, x := range sc.comps {
		if x == c {
			return k
		}
	}
	panic("runner: component without a scaling row")
}

// listed reports whether a slot is ready and its instance up; sc.mu is held.
func (sc *scaler) listed(st *rslot) bool {
	if st.state != slotReady {
		return false
	}
	r := sc.r
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instDown[st.inst] == 0 && r.machDown[r.plan.Instances[st.inst].Machine] == 0
}

// readLoads reads GET /admin/load of the ready slots of groups gs.
func (sc *scaler) readLoads(ctx context.Context, gs []int) map[int]node.LoadReport {
	sc.mu.Lock()
	var ids []int
	for _, gi := range gs {
		for _, i := range sc.groups[gi].slots {
			if st := sc.slots[i]; st.state == slotReady {
				ids = append(ids, i)
			}
		}
	}
	sc.mu.Unlock()
	out := map[int]node.LoadReport{}
	for _, i := range ids {
		var l node.LoadReport
		if err := sc.r.getJSON(ctx, i, "/admin/load", &l); err == nil {
			out[i] = l
		}
	}
	return out
}

// markStart takes the autoscaled slots' first readings, which their
// first period is measured from.
func (sc *scaler) markStart(ctx context.Context) {
	for _, a := range sc.r.plan.Autoscalers {
		reads := sc.readLoads(ctx, a.Groups)
		now := sc.now()
		sc.mu.Lock()
		for i, l := range reads {
			st := sc.slots[i]
			st.mark, st.markAt, st.marked = l, now, true
		}
		sc.mu.Unlock()
	}
}

// autoscale runs autoscaler ai's decision in every set.
func (sc *scaler) autoscale(ctx context.Context, ai int) {
	a := &sc.r.plan.Autoscalers[ai]
	reads := sc.readLoads(ctx, a.Groups)
	now := sc.now()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, gi := range a.Groups {
		sc.decide(&a.Spec, gi, reads, now)
	}
}

// decide is one autoscaler decision in group gi as the simulator's
// autoscaleGroup: the instances ready for the whole period count, their
// busy thread time over their threads times the time since the last
// look; sc.mu is held.
func (sc *scaler) decide(spec *scenarios.Autoscaler, gi int, reads map[int]node.LoadReport, now time.Duration) {
	p := sc.r.plan
	g := &sc.groups[gi]
	if !sc.active[g.set] {
		return
	}
	from := g.lastTick
	g.lastTick = now
	ready := 0
	var busy, capa float64
	for _, i := range g.slots {
		st := sc.slots[i]
		l, ok := reads[i]
		if sc.listed(st) && st.since <= from && ok && st.marked && l.Started == st.mark.Started && now > st.markAt && l.Threads > 0 {
			ready++
			busy += float64(l.BusyNS - st.mark.BusyNS)
			capa += float64(l.Threads) * float64(now-st.markAt)
		}
		if ok && st.state == slotReady {
			st.mark, st.markAt, st.marked = l, now, true
		} else {
			st.marked = false
		}
	}
	if ready == 0 || capa <= 0 {
		return // nothing to measure
	}
	util := busy / capa
	rec := spec.Recommend(g.want, ready, util)
	g.recs = append(g.recs, recommendation{at: now, n: rec})
	k := 0
	for k < len(g.recs) && g.recs[k].at < now-spec.Stabilization.Std() {
		k++
	}
	g.recs = g.recs[k:]
	top := rec
	for _, x := range g.recs {
		top = max(top, x.n)
	}
	d := spec.Decide(g.want, rec, top)
	name := p.ComponentName(g.comp)
	sc.rec.Decisions = append(sc.rec.Decisions, reports.ScaleDecision{T: int64(now), Component: name, Set: g.set,
		Ready: ready, Utilization: util, Current: g.want, Recommended: rec, Desired: d})
	if d == g.want {
		return
	}
	sc.r.rec.Event(int64(now), reports.EvScale, -1, "autoscaler: %s in %s %d -> %d (utilization %.0f%% of %d ready, target %.0f%%)",
		name, p.Sets[g.set].Name, g.want, d, 100*util, ready, 100*spec.Utilization.Fraction())
	sc.scaleTo(gi, d, "autoscaler")
}

// sample records the instances of every scaled component at the end of a window.
func (sc *scaler) sample() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for k := range sc.rec.Components {
		c := &sc.rec.Components[k]
		c.Ready = append(c.Ready, 0)
		c.Provisioned = append(c.Provisioned, 0)
	}
	for gi := range sc.groups {
		g := &sc.groups[gi]
		c := &sc.rec.Components[sc.row(g.comp)]
		for _, i := range g.slots {
			st := sc.slots[i]
			if st.state != slotOff {
				c.Provisioned[len(c.Provisioned)-1]++
			}
			if sc.listed(st) {
				c.Ready[len(c.Ready)-1]++
			}
		}
	}
	for k := range sc.rec.Components {
		c := &sc.rec.Components[k]
		c.Peak = max(c.Peak, c.Provisioned[len(c.Provisioned)-1])
	}
}

// seen notes that a caller's view (or the access layer) first showed
// instance i at t (ns from the start).
func (sc *scaler) seen(i int, t int64) {
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	st := sc.slots[i]
	if st == nil || st.start < 0 {
		return
	}
	if s := &sc.rec.Starts[st.start]; s.Seen < 0 && t >= s.Decided {
		s.Seen = t
	}
}

// finish stops the pending starts and stops, closes the instance time of
// what still runs at end, fills the samples of the windows not sampled
// yet (an interrupted run: the state at its end) and stores the record.
func (sc *scaler) finish(end time.Duration) {
	if sc == nil {
		return
	}
	sc.mu.Lock()
	sc.done = true
	for _, t := range sc.timers {
		t.Stop()
	}
	sc.mu.Unlock()
	sc.wg.Wait()
	win := sc.r.plan.Scenario.Run.Window.Std()
	n := int((end + win - 1) / win)
	for len(sc.rec.Components) > 0 && len(sc.rec.Components[0].Ready) < n {
		sc.sample()
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, st := range sc.slots {
		if st.state != slotOff {
			sc.rec.Components[sc.row(sc.groups[st.group].comp)].InstanceNS += int64(max(end-st.provT, 0))
			st.provT = end
		}
	}
	for k := range sc.rec.Components {
		c := &sc.rec.Components[k]
		if len(c.Ready) > n {
			c.Ready, c.Provisioned = c.Ready[:n], c.Provisioned[:n]
		}
	}
	for k := range sc.rec.Starts {
		// a caller may see an instance a moment before the runner's own
		// health check does: seen then counts as at ready
		if s := &sc.rec.Starts[k]; s.Seen >= 0 && s.Ready >= 0 && s.Seen < s.Ready {
			s.Seen = s.Ready
		}
	}
	sc.r.rec.SetScaling(sc.rec)
}
