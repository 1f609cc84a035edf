package sim

import (
	"fmt"
	"math"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Scaling: scale actions and autoscalers start and stop instances of the
// slots the Plan placed in advance (scenarios.ScaleGroup). A slot is off
// (never started, or stopped), starting (until startup has passed),
// running, or draining (out of discovery, still serving, until the grace
// ends). Every scaling event demotes every hold and bounds settling ahead
// like a fault change does, so settling ahead stays exact.

// scaleGroup is one component's deployment in one set.
type scaleGroup struct {
	comp, set int32
	slots     []int32
	want      int32    // instances starting or running (not draining)
	recs      []hpaRec // autoscaler recommendations, oldest first
	lastTick  int64    // the autoscaler's previous decision
}

// hpaRec is one recommendation kept for the stabilization window.
type hpaRec struct {
	t int64
	n int32
}

// slotState is what scaling keeps of one instance of a scaled component.
type slotState struct {
	group    int32
	gen      uint32 // bumped at each start, drain or cancel: stale events are ignored
	provT    int64  // when it was last provisioned (decided), while it is
	mark     int64  // thread time at the autoscaler's last look
	since    int64  // when it was last ready
	start    int32  // its entry in the scaling record's starts, or -1
	starting bool
	draining bool
	prov     bool // costs: starting, running or draining
}

// autoState is one autoscaler.
type autoState struct {
	spec   *scenarios.Autoscaler
	groups []int32
	comp   int32
}

func (w *World) buildScaling() {
	p := w.plan
	if len(p.ScaleGroups) == 0 {
		return
	}
	w.slotOf = make([]int32, len(w.insts))
	for i := range w.slotOf {
		w.slotOf[i] = -1
	}
	for gi, g := range p.ScaleGroups {
		res := p.Sets[g.Set].Reserve // started when the set is added
		sg := scaleGroup{comp: int32(g.Component), set: int32(g.Set), want: int32(g.Initial)}
		if res {
			sg.want = 0
		}
		for k, in := range g.Instances {
			w.slotOf[in] = int32(len(w.slots))
			st := slotState{group: int32(gi), start: -1}
			if k < g.Initial && !res {
				st.prov = true
			}
			w.slots = append(w.slots, st)
			sg.slots = append(sg.slots, int32(in))
		}
		w.groups = append(w.groups, sg)
	}
	for k := range p.Autoscalers {
		a := &p.Autoscalers[k]
		as := autoState{comp: int32(p.ScaleGroups[a.Groups[0]].Component), spec: &a.Spec}
		for _, g := range a.Groups {
			as.groups = append(as.groups, int32(g))
		}
		w.autos = append(w.autos, as)
	}
	rec := &reports.Scaling{}
	for _, c := range w.scaledComps() {
		n := 0
		for _, g := range p.ScaleGroups {
			if g.Component == int(c) && !p.Sets[g.Set].Reserve {
				n += g.Initial
			}
		}
		rec.Components = append(rec.Components, reports.ScaledComponent{Name: p.ComponentName(int(c)), Initial: n,
			StaticNS: int64(n) * w.end})
	}
	w.scaleRec = rec
}

// scaledComps lists the scaled components in the record's order.
func (w *World) scaledComps() []int32 {
	if w.comps != nil {
		return w.comps
	}
	var out []int32
	for _, g := range w.groups {
		if len(out) == 0 || g.comp > out[len(out)-1] {
			out = append(out, g.comp)
		}
		if g.set > 0 {
			break
		}
	}
	w.comps = out
	return out
}

func (w *World) startScaling() {
	for i := range w.plan.ScaleActions {
		a := &w.plan.ScaleActions[i]
		w.at(a.At, evScale, int32(i), 0, 0, 0)
		w.addChange(a.At)
	}
	for i := range w.autos {
		t := int64(w.autos[i].spec.Period)
		if t < w.end {
			w.at(t, evAutoscale, int32(i), 0, 0, 0)
			w.addChange(t)
		}
	}
}

// addChange notes a time scaling changes something, which bounds
// settling ahead like a fault change (setFaultNext).
func (w *World) addChange(t int64) {
	w.changes = append(w.changes, t)
	w.faultNext = min(w.faultNext, t)
}

// nextChange is the earliest pending scaling change: every scaling event
// has one entry, which dropChange takes off when the event runs, so a
// change still due at this very instant keeps bounding settling ahead.
func (w *World) nextChange() int64 {
	next := int64(math.MaxInt64)
	for _, t := range w.changes {
		next = min(next, t)
	}
	return next
}

// dropChange takes off the entry of the scaling event running now.
func (w *World) dropChange() {
	for k, t := range w.changes {
		if t == w.now {
			last := len(w.changes) - 1
			w.changes[k] = w.changes[last]
			w.changes = w.changes[:last]
			return
		}
	}
	panic("sim: a scaling event without its change entry")
}

// listed reports whether an instance should be in discovery: up and not draining.
func (w *World) listed(in *instance) bool {
	return in.alive(w) && !in.draining
}

// onScaleEvent runs a scaling event with every hold demoted first, as a
// fault change does.
func (w *World) onScaleEvent(e *event) {
	w.demoteAll()
	w.dropChange()
	defer w.setFaultNext()
	switch e.kind {
	case evScale:
		w.scaleAction(int(e.a))
	case evScaleReady:
		w.slotReady(e.a, e.gen)
	case evScaleStop:
		w.slotStop(e.a, e.gen)
	case evAutoscale:
		w.autoscale(int(e.a))
	}
}

func (w *World) scaleAction(i int) {
	a := &w.plan.ScaleActions[i]
	cause := fmt.Sprintf("action %d", i)
	for _, gi := range a.Groups {
		g := &w.groups[gi]
		if w.member != nil && !w.member[g.set] && !w.adding(g.set) {
			continue // a reserved set not added yet runs nothing to scale
		}
		n := a.To
		if n < 0 {
			n = max(int(g.want)+a.By, 0)
		}
		w.rec.Event(w.now, reports.EvScale, -1, "%s in %s: %d -> %d (scaling.actions[%d])",
			w.plan.ComponentName(int(g.comp)), w.plan.Sets[g.set].Name, g.want, n, i)
		w.scaleTo(gi, int32(n), cause)
	}
}

// scaleTo makes group gi run n instances: it starts free slots (lowest
// first), or cancels starting ones (newest first) and then drains running
// ones (last placed first).
func (w *World) scaleTo(gi int, n int32, cause string) {
	g := &w.groups[gi]
	for k := 0; k < len(g.slots) && g.want < n; k++ {
		i := g.slots[k]
		if st := &w.slots[w.slotOf[i]]; !st.prov {
			w.slotStart(i, cause)
			g.want++
		}
	}
	for k := len(g.slots) - 1; k >= 0 && g.want > n; k-- {
		i := g.slots[k]
		if st := &w.slots[w.slotOf[i]]; st.starting {
			w.slotCancel(i)
			g.want--
		}
	}
	for k := len(g.slots) - 1; k >= 0 && g.want > n; k-- {
		i := g.slots[k]
		if st := &w.slots[w.slotOf[i]]; st.prov && !st.starting && !st.draining {
			w.slotDrain(i)
			g.want--
		}
	}
}

func (w *World) slotStart(i int32, cause string) {
	st := &w.slots[w.slotOf[i]]
	g := &w.groups[st.group]
	st.gen++
	st.prov, st.starting, st.provT = true, true, w.now
	st.start = int32(len(w.scaleRec.Starts))
	w.scaleRec.Starts = append(w.scaleRec.Starts, reports.ScaleStart{Component: w.plan.ComponentName(int(g.comp)), Set: int(g.set),
		Cause: cause, Decided: w.now, Ready: -1, Seen: -1})
	t := w.now + int64(w.sc.Scaling.Startup)
	w.at(t, evScaleReady, i, 0, st.gen, 0)
	w.addChange(t)
}

func (w *World) slotCancel(i int32) {
	st := &w.slots[w.slotOf[i]]
	st.gen++
	st.starting = false
	w.unprovision(st)
	w.rec.Event(w.now, reports.EvStopped, -1, "%s cancelled while starting", w.instName(i))
}

func (w *World) unprovision(st *slotState) {
	st.prov = false
	w.scaleRec.Components[w.compRow(w.groups[st.group].comp)].InstanceNS += min(w.now, w.end) - min(st.provT, w.end)
}

// compRow is the scaling record's row of component c.
func (w *World) compRow(c int32) int {
	for k, x := range w.scaledComps() {
		if x == c {
			return k
		}
	}
	panic("sim: component without a scaling row")
}

// slotReady makes a started instance ready: it runs and registers.
func (w *World) slotReady(i int32, gen uint32) {
	st := &w.slots[w.slotOf[i]]
	if st.gen != gen || !st.starting {
		return
	}
	in := &w.insts[i]
	st.starting, st.since = false, w.now
	in.off, in.ran = false, true
	in.fault = -1
	st.mark = w.threadTime(in)
	w.scaleRec.Starts[st.start].Ready = w.now
	w.rec.Event(w.now, reports.EvReady, -1, "%s ready on %s", w.instName(i), w.plan.Machines[in.machine].Name)
	if !in.alive(w) {
		return // its machine or process is down: it starts when that ends
	}
	w.instUp(i)
	if in.role == scenarios.RoleGateway {
		w.recheckAccess([]int32{i}, -1)
	}
}

// slotDrain takes a running instance out of discovery; it stops grace later.
func (w *World) slotDrain(i int32) {
	st := &w.slots[w.slotOf[i]]
	in := &w.insts[i]
	st.gen++
	st.draining = true
	in.draining = true
	w.rec.Event(w.now, reports.EvDrain, -1, "%s drains on %s", w.instName(i), w.plan.Machines[in.machine].Name)
	switch {
	case in.role == scenarios.RoleGateway:
		w.recheckAccess([]int32{i}, -1)
	case w.mesh:
		w.at(w.now+int64(w.sc.Stack.Discovery.Propagation), evMesh, i, 0, in.inc, 0)
	case w.regUp(w.registryOf[in.set]):
		in.reg, in.regPend = false, false
	default:
		in.regPend = true
	}
	t := w.now + int64(w.sc.Scaling.Grace)
	w.at(t, evScaleStop, i, 0, st.gen, 0)
	w.addChange(t)
}

// slotStop stops a drained instance: what it still holds is lost.
func (w *World) slotStop(i int32, gen uint32) {
	st := &w.slots[w.slotOf[i]]
	if st.gen != gen || !st.draining {
		return
	}
	in := &w.insts[i]
	st.draining, in.draining = false, false
	w.unprovision(st)
	was := in.alive(w)
	in.off = true
	lost := int(in.busy) + in.q.len()
	w.rec.Event(w.now, reports.EvStopped, -1, "%s stopped after its grace, %d calls still there lost", w.instName(i), lost)
	if !was {
		return
	}
	in.fault = -1
	w.instDown(i)
	if in.role == scenarios.RoleGateway {
		w.recheckAccess([]int32{i}, -1)
	}
}

// threadTime is an instance's thread time in use up to now (ns x
// threads); exact once every hold is demoted.
func (w *World) threadTime(in *instance) int64 {
	return in.qc.busyAll + int64(in.busy)*w.now
}

// autoscale runs autoscaler ai's decision in every set and schedules the next.
func (w *World) autoscale(ai int) {
	as := &w.autos[ai]
	for _, gi := range as.groups {
		w.autoscaleGroup(as, int(gi))
	}
	if t := w.now + int64(as.spec.Period); t < w.end {
		w.at(t, evAutoscale, int32(ai), 0, 0, 0)
		w.addChange(t)
	}
}

func (w *World) autoscaleGroup(as *autoState, gi int) {
	g := &w.groups[gi]
	// measured are the instances ready for the whole period: one ready
	// since has no utilization to show yet
	var ready int32
	var busy, capa int64
	from := g.lastTick
	g.lastTick = w.now
	for _, i := range g.slots {
		st := &w.slots[w.slotOf[i]]
		in := &w.insts[i]
		tt := w.threadTime(in)
		if w.listed(in) && st.since <= from {
			ready++
			busy += tt - st.mark
			capa += int64(in.conc) * (w.now - from)
		}
		st.mark = tt
	}
	if ready == 0 || capa <= 0 {
		return // nothing to measure
	}
	util := float64(busy) / float64(capa)
	rec := int32(as.spec.Recommend(int(g.want), int(ready), util))
	g.recs = append(g.recs, hpaRec{t: w.now, n: rec})
	k := 0
	for k < len(g.recs) && g.recs[k].t < w.now-int64(as.spec.Stabilization) {
		k++
	}
	g.recs = g.recs[k:]
	top := rec
	for _, r := range g.recs {
		top = max(top, r.n)
	}
	d := int32(as.spec.Decide(int(g.want), int(rec), int(top)))
	name := w.plan.ComponentName(int(g.comp))
	w.scaleRec.Decisions = append(w.scaleRec.Decisions, reports.ScaleDecision{T: w.now, Component: name, Set: int(g.set),
		Ready: int(ready), Utilization: util, Current: int(g.want), Recommended: int(rec), Desired: int(d)})
	if d == g.want {
		return
	}
	w.rec.Event(w.now, reports.EvScale, -1, "autoscaler: %s in %s %d -> %d (utilization %.0f%% of %d ready, target %.0f%%)",
		name, w.plan.Sets[g.set].Name, g.want, d, 100*util, ready, 100*as.spec.Utilization.Fraction())
	w.scaleTo(gi, d, "autoscaler")
}

// sampleScaling records the instances of every scaled component at the
// end of a window.
func (w *World) sampleScaling() {
	if w.scaleRec == nil {
		return
	}
	for k := range w.scaleRec.Components {
		c := &w.scaleRec.Components[k]
		c.Ready = append(c.Ready, 0)
		c.Provisioned = append(c.Provisioned, 0)
	}
	for gi := range w.groups {
		g := &w.groups[gi]
		c := &w.scaleRec.Components[w.compRow(g.comp)]
		for _, i := range g.slots {
			st := &w.slots[w.slotOf[i]]
			if st.prov {
				c.Provisioned[len(c.Provisioned)-1]++
			}
			if in := &w.insts[i]; st.prov && w.listed(in) {
				c.Ready[len(c.Ready)-1]++
			}
		}
	}
	for k := range w.scaleRec.Components {
		c := &w.scaleRec.Components[k]
		c.Peak = max(c.Peak, c.Provisioned[len(c.Provisioned)-1])
	}
}

// slotSeen notes that a caller's view first shows a started instance.
func (w *World) slotSeen(i int32) {
	if w.slotOf == nil || w.slotOf[i] < 0 {
		return
	}
	if st := &w.slots[w.slotOf[i]]; st.start >= 0 && w.scaleRec.Starts[st.start].Seen < 0 {
		w.scaleRec.Starts[st.start].Seen = w.now
	}
}

// finishScaling closes the instance time of what still runs at end (the
// run's, or where a stopped run got to) and hands the record over.
func (w *World) finishScaling(end int64) {
	if w.scaleRec == nil {
		return
	}
	for k := range w.slots {
		if st := &w.slots[k]; st.prov {
			w.scaleRec.Components[w.compRow(w.groups[st.group].comp)].InstanceNS += max(end-st.provT, 0)
			st.provT = end
		}
	}
	w.rec.SetScaling(w.scaleRec)
}
