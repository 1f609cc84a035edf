package sim

import (
	"math"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Timeline event kinds of the resilience policies.
const (
	EvEjected   = "ejected"
	EvReturned  = "ejection-ended"
	EvPanic     = "panic"
	EvPanicEnd  = "panic-ended"
	EvProtected = "protection"
	EvPreserve  = "self-preservation"
	EvUnhealthy = "unhealthy"
	EvHealthy   = "healthy"
)

// resilience is stack.resilience as the simulator uses it; nil without one.
type resilience struct {
	outlier    *outlierCfg
	panic      float64
	protection float64
	preserve   float64 // self-preservation threshold
	hedgeDelay int64
	hedgeMax   int
	hc         *scenarios.HealthCheck
}

// healthState is a cache's active health checking: per member, whether
// its callers consider it healthy and its probes in a row.
type healthState struct {
	healthy    []bool
	fails, oks []int32
}

// outlierCfg is stack.resilience.outlier in ns.
type outlierCfg struct {
	consec, consecGw     int32
	interval, base       int64
	maxShare, stdev      float64
	minHosts, minRequest int32
}

// outlierState is a cache's outlier detection: per member, its counters
// since the last interval check and its ejection.
type outlierState struct {
	ejected   []bool
	until     []int64
	times     []int32 // how many times it was ejected
	consec    []int32
	consecGw  []int32
	ok, total []int32
}

// panicState remembers, per service of a cache, whether its callers
// balance over every instance (panic or protection).
type panicState struct{ on []bool }

func (w *World) buildResilience() {
	r := w.sc.Stack.Resilience
	if r == nil {
		return
	}
	w.ahead = false // exact by construction: every step is an event
	w.res = &resilience{panic: r.Panic.Fraction(), protection: r.Protection.Fraction(), preserve: r.SelfPreservation.Fraction()}
	if r.Breaker != nil {
		w.brk = newBreakerCfg(r.Breaker)
		w.breakers = map[uint64]*breaker{}
	}
	if o := r.Outlier; o != nil {
		w.res.outlier = &outlierCfg{consec: int32(o.ConsecutiveErrors), consecGw: int32(o.ConsecutiveGatewayErrors),
			interval: int64(o.Interval), base: int64(o.BaseEjection), maxShare: o.MaxEjection.Fraction(), stdev: o.Stdev,
			minHosts: int32(o.MinHosts), minRequest: int32(o.MinRequests)}
		for i := range w.caches {
			n := len(w.caches[i].members)
			w.caches[i].out = &outlierState{ejected: make([]bool, n), until: make([]int64, n), times: make([]int32, n),
				consec: make([]int32, n), consecGw: make([]int32, n), ok: make([]int32, n), total: make([]int32, n)}
		}
	}
	for i := range w.caches {
		w.caches[i].panic = panicState{on: make([]bool, len(w.caches[i].lists))}
	}
	if h := r.Hedging; h != nil {
		w.res.hedgeDelay, w.res.hedgeMax = int64(h.Delay), h.MaxAttempts
	}
	if h := r.HealthCheck; h != nil {
		w.res.hc = h
		for i := range w.caches {
			n := len(w.caches[i].members)
			hs := &healthState{healthy: make([]bool, n), fails: make([]int32, n), oks: make([]int32, n)}
			for p := range hs.healthy {
				hs.healthy[p] = true
			}
			w.caches[i].hc = hs
		}
	}
	for i := range w.machines {
		w.machines[i].iso = -1
	}
	for i := range w.faults {
		w.faults[i].lastCall = -1
	}
}

func (w *World) startResilience() {
	if w.res != nil && w.res.outlier != nil {
		w.at(w.res.outlier.interval, evOutlier, 0, 0, 0, 0)
	}
	if w.res != nil && w.res.hc != nil {
		w.at(int64(w.res.hc.Interval), evHealthCheck, 0, 0, 0, 0)
	}
}

// onHealthCheck probes every member of every cache: it answers when it is
// alive and reachable from the callers both ways within the timeout.
func (w *World) onHealthCheck() {
	h := w.res.hc
	for ci := range w.caches {
		c := &w.caches[ci]
		hs := c.hc
		for pos, m := range c.members {
			in := &w.insts[m]
			ok := in.alive(w) && w.reachable(c.viewer, in.machine) && w.reachable(in.machine, c.viewer) &&
				2*w.baseDelay(c.viewer, in.machine) < int64(h.Timeout)
			if ok {
				hs.oks[pos]++
				hs.fails[pos] = 0
			} else {
				hs.fails[pos]++
				hs.oks[pos] = 0
			}
			switch {
			case hs.healthy[pos] && !ok && hs.fails[pos] >= int32(h.Unhealthy):
				hs.healthy[pos] = false
				w.rebuild(c, int(w.discSvc(in)))
				w.rec.Event(w.now, EvUnhealthy, int(in.fault), "%s callers' health checks mark %s unhealthy", w.cacheName(int32(ci)), w.instName(m))
				if in.fault >= 0 && !in.alive(w) && w.liveCaller(int32(ci)) {
					w.rec.Detected(int(in.fault), w.now, "health checks failed on "+w.instName(m))
					w.rec.Rerouted(int(in.fault), w.now, "health checks took "+w.instName(m)+" out of balancing")
				}
			case !hs.healthy[pos] && ok && hs.oks[pos] >= int32(h.Healthy):
				hs.healthy[pos] = true
				w.rebuild(c, int(w.discSvc(in)))
				w.rec.Event(w.now, EvHealthy, -1, "%s callers' health checks mark %s healthy", w.cacheName(int32(ci)), w.instName(m))
			}
		}
	}
	if next := w.now + int64(h.Interval); next <= w.stop {
		w.at(next, evHealthCheck, 0, 0, 0, 0)
	}
}

// faultAt is the active machine fault whose machine hosts inst, or -1.
func (w *World) faultAt(inst int32) int {
	if w.res == nil {
		return -1
	}
	return int(w.machines[w.insts[inst].machine].iso)
}

// pickFor chooses the instance of service k a caller instance calls, as
// pick does, through the caller's breakers and the panic threshold. It
// returns -1 when there is none (unavailable, as pick) and when every
// candidate's breaker is open, or the service's breaker is.
func (w *World) pickFor(caller, set, k int32) int32 {
	if w.res == nil {
		return w.pick(set, k)
	}
	l := w.candidates(set, k)
	if len(l) == 0 {
		return -1
	}
	if w.brk == nil {
		return w.p2c(l)
	}
	if w.brk.service {
		key := w.breakerKey(caller, l[0])
		b := w.breakerOf(key)
		ok, changed := b.usable(w.brk, w.now)
		if changed {
			w.breakerEvent(b, caller, l[0])
		}
		if !ok {
			return -1
		}
		t := w.p2c(l)
		b.take()
		return t
	}
	open := w.scratch[:0]
	for _, t := range l {
		b := w.breakerOf(w.breakerKey(caller, t))
		ok, changed := b.usable(w.brk, w.now)
		if changed {
			w.breakerEvent(b, caller, t)
		}
		if ok {
			open = append(open, t)
		}
	}
	w.scratch = open
	if len(open) == 0 {
		return -1
	}
	t := w.p2c(open)
	w.breakerOf(w.breakerKey(caller, t)).take()
	return t
}

// candidates is the list pick balances over: the caller's set, city or
// everything as the scope allows, or, when the healthy share of the
// service is below the panic threshold, every instance the cache knows
// (dead ones included).
func (w *World) candidates(set, k int32) []int32 {
	ci := w.viewerCache[set]
	c := &w.caches[ci]
	l := c.lists[k]
	if p := w.res.panic; p > 0 {
		all := c.members[c.svcLo[k]:c.svcLo[k+1]]
		on := len(all) > 0 && float64(len(l)) < p*float64(len(all))
		if on != c.panic.on[k] {
			c.panic.on[k] = on
			if on {
				w.rec.Event(w.now, EvPanic, w.firstFault(all), "%s callers of %s see %d of %d instances healthy, below the panic threshold %s: balancing over all",
					w.cacheName(ci), w.svcName(k), len(l), len(all), reports.FormatPercent(p))
			} else {
				w.rec.Event(w.now, EvPanicEnd, -1, "%s callers of %s see %d of %d instances healthy: panic mode ends",
					w.cacheName(ci), w.svcName(k), len(l), len(all))
			}
		}
		if on {
			l = all
		}
	}
	if len(l) == 0 || w.scope == scopeSet {
		return l
	}
	lo, hi := w.setRange(l, set, set)
	if hi > lo {
		return l[lo:hi]
	}
	cs := w.plan.Cities[w.plan.Sets[set].City].Sets
	lo, hi = w.setRange(l, int32(cs[0]), int32(cs[len(cs)-1]))
	if hi > lo {
		return l[lo:hi]
	}
	if w.scope == scopeGlobal {
		return l
	}
	return nil
}

func (w *World) svcName(k int32) string {
	if int(k) < len(w.plan.Services) {
		return w.plan.Services[k].Name
	}
	return "the data proxy"
}

func (w *World) cacheName(ci int32) string {
	if w.scope == scopeSet {
		return "set " + w.plan.Sets[ci].Name
	}
	return "city " + w.plan.Cities[ci].Name
}

// firstFault is the active machine fault of the first instance of l that
// has one, or -1.
func (w *World) firstFault(l []int32) int {
	for _, in := range l {
		if f := w.faultAt(in); f >= 0 {
			return f
		}
	}
	return -1
}

// observe is what a caller learns when a call it made ends: frame d's
// call to frame d+1 answered st, or timed out. Breakers and outlier
// detection count calls from gateways and services to services.
func (w *World) observe(ri int32, d int, st status, timedOut bool) {
	if w.res == nil || d == 0 {
		return
	}
	r := &w.reqs.recs[ri]
	caller, target := r.frames[d].inst, r.frames[d+1].inst
	if w.insts[target].role != scenarios.RoleService {
		return
	}
	failed := st != stOK || timedOut
	if w.brk != nil {
		slow := false
		if w.brk.slowCall > 0 {
			slow = w.now-w.callSent[int(ri)*scenarios.MaxDepth+d] >= w.brk.slowCall
		}
		b := w.breakerOf(w.breakerKey(caller, target))
		if b.record(w.brk, w.now, failed, slow) {
			w.breakerEvent(b, caller, target)
		}
	}
	if o := w.res.outlier; o != nil {
		w.outlierCount(w.viewerCache[w.insts[caller].set], target, failed, timedOut)
	}
}

// cachePos is target's position in cache ci, or -1.
func (w *World) cachePos(ci, target int32) int32 {
	for _, ref := range w.insts[target].caches {
		if ref.cache == ci {
			return ref.pos
		}
	}
	return -1
}

func (w *World) outlierCount(ci, target int32, failed, timedOut bool) {
	c := &w.caches[ci]
	pos := w.cachePos(ci, target)
	if pos < 0 {
		return
	}
	o, cfg := c.out, w.res.outlier
	o.total[pos]++
	if !failed {
		o.ok[pos]++
		o.consec[pos], o.consecGw[pos] = 0, 0
		return
	}
	o.consec[pos]++
	if timedOut {
		o.consecGw[pos]++
	} else {
		o.consecGw[pos] = 0
	}
	switch {
	case cfg.consecGw > 0 && o.consecGw[pos] >= cfg.consecGw:
		w.eject(ci, pos, "consecutive gateway errors")
	case cfg.consec > 0 && o.consec[pos] >= cfg.consec:
		w.eject(ci, pos, "consecutive errors")
	}
}

// maxEjected is how many of n instances may be ejected at once: the
// share, rounded down, but at least one (as Envoy).
func maxEjected(share float64, n int) int {
	return max(1, int(share*float64(n)+1e-9))
}

// eject takes member pos of cache ci out of its callers' balancing for
// the base ejection time times the number of times it was ejected,
// unless that would eject more than the maximum share of its service.
func (w *World) eject(ci, pos int32, why string) {
	c := &w.caches[ci]
	o := c.out
	if o.ejected[pos] {
		return
	}
	k := w.discSvc(&w.insts[c.members[pos]])
	n, out := 0, 0
	for p := c.svcLo[k]; p < c.svcLo[k+1]; p++ {
		n++
		if o.ejected[p] {
			out++
		}
	}
	if out+1 > maxEjected(w.res.outlier.maxShare, n) {
		return
	}
	o.ejected[pos] = true
	o.times[pos]++
	o.until[pos] = w.now + w.res.outlier.base*int64(o.times[pos])
	o.consec[pos], o.consecGw[pos] = 0, 0
	w.rebuild(c, int(k))
	inst := c.members[pos]
	f := w.faultAt(inst)
	w.rec.Event(w.now, EvEjected, f, "%s callers ejected %s (%s) until %s, ejection %d",
		w.cacheName(ci), w.instName(inst), why, reports.FormatTime(o.until[pos]), o.times[pos])
	if f >= 0 {
		w.rec.Detected(f, w.now, "outlier detection ejected "+w.instName(inst))
		w.rec.Rerouted(f, w.now, "callers stopped balancing to "+w.instName(inst))
	}
}

// onOutlier is the interval check: ejections that ran their time end, and
// hosts whose success rate is below the mean by stdev deviations are
// ejected; the counters restart.
func (w *World) onOutlier() {
	cfg := w.res.outlier
	for ci := range w.caches {
		c := &w.caches[ci]
		o := c.out
		for pos := range c.members {
			if o.ejected[pos] && w.now >= o.until[pos] {
				o.ejected[pos] = false
				w.rebuild(c, int(w.discSvc(&w.insts[c.members[pos]])))
				w.rec.Event(w.now, EvReturned, -1, "%s callers return %s to balancing", w.cacheName(int32(ci)), w.instName(c.members[pos]))
			}
		}
		if cfg.stdev > 0 {
			for k := range c.lists {
				w.successRateCheck(int32(ci), int32(k))
			}
		}
		for pos := range c.members {
			o.ok[pos], o.total[pos] = 0, 0
		}
	}
	if next := w.now + cfg.interval; next <= w.stop {
		w.at(next, evOutlier, 0, 0, 0, 0)
	}
}

func (w *World) successRateCheck(ci, k int32) {
	c := &w.caches[ci]
	o, cfg := c.out, w.res.outlier
	var rates []float64
	var poss []int32
	for p := c.svcLo[k]; p < c.svcLo[k+1]; p++ {
		if !o.ejected[p] && o.total[p] >= cfg.minRequest {
			rates = append(rates, float64(o.ok[p])/float64(o.total[p]))
			poss = append(poss, p)
		}
	}
	if len(rates) < int(cfg.minHosts) {
		return
	}
	mean, sq := 0.0, 0.0
	for _, r := range rates {
		mean += r
	}
	mean /= float64(len(rates))
	for _, r := range rates {
		sq += (r - mean) * (r - mean)
	}
	limit := mean - cfg.stdev*math.Sqrt(sq/float64(len(rates)))
	for i, r := range rates {
		if r < limit {
			w.eject(ci, poss[i], "success rate "+reports.FormatPercent(r)+" below "+reports.FormatPercent(limit))
		}
	}
}

// protected reports whether cache ci's registry answers with every
// instance of service k, expired ones included: the share still
// registered is below the protection threshold.
func (w *World) protected(ci int32, k int) bool {
	if w.res == nil || w.res.protection <= 0 {
		return false
	}
	c := &w.caches[ci]
	n, reg := 0, 0
	for p := c.svcLo[k]; p < c.svcLo[k+1]; p++ {
		n++
		if w.insts[c.members[p]].reg {
			reg++
		}
	}
	on := n > 0 && float64(reg) < w.res.protection*float64(n)
	if on != c.panic.on[k] {
		c.panic.on[k] = on
		if on {
			w.rec.Event(w.now, EvProtected, w.firstFault(c.members[c.svcLo[k]:c.svcLo[k+1]]),
				"%s: %d of %d %s instances registered, below the protection threshold %s: the registry returns all",
				w.cacheName(ci), reg, n, w.svcName(int32(k)), reports.FormatPercent(w.res.protection))
		} else {
			w.rec.Event(w.now, EvProtected, -1, "%s: %d of %d %s instances registered: protection ends", w.cacheName(ci), reg, n, w.svcName(int32(k)))
		}
	}
	return on
}

// callSentAt remembers when frame d's call leaves, for slow-call breakers.
func (w *World) callSentAt(ri int32, d int, at int64) {
	i := int(ri)*scenarios.MaxDepth + d
	for i >= len(w.callSent) {
		w.callSent = append(w.callSent, 0)
	}
	w.callSent[i] = at
}

// trackCall notes a call sent to target for the isolation milestone of
// the machine fault it is under: the first gap of at least a window
// without calls makes its start the moment the machines were isolated.
func (w *World) trackCall(target int32) {
	if f := w.machines[w.insts[target].machine].iso; f >= 0 {
		w.isolatedSince(int(f))
		w.faults[f].lastCall = w.now
	}
}

// isolatedSince records fault f's isolation when no call reached its
// machines for a window up to now (the first time only).
func (w *World) isolatedSince(f int) {
	fs := &w.faults[f]
	if !fs.isolated && fs.lastCall >= 0 && w.now-fs.lastCall >= int64(w.sc.Run.Window) {
		fs.isolated = true
		w.rec.Isolated(f, fs.lastCall, "no call reached "+w.plan.Machines[w.plan.Faults[f].Machines[0]].Name+" for a window or more from here")
	}
}

// isolationStart marks the machines of fault i while it lasts.
func (w *World) isolationStart(i int) {
	if w.res == nil || len(w.plan.Faults[i].Machines) == 0 {
		return
	}
	for _, m := range w.plan.Faults[i].Machines {
		w.machines[m].iso = int32(i)
	}
	w.faults[i].lastCall = w.now
}

func (w *World) isolationEnd(i int) {
	if w.res == nil || len(w.plan.Faults[i].Machines) == 0 {
		return
	}
	for _, m := range w.plan.Faults[i].Machines {
		if w.machines[m].iso == int32(i) {
			w.machines[m].iso = -1
		}
	}
	w.isolatedSince(i)
}

// isolations closes the isolation milestone of the machine faults still
// active when the run ends.
func (w *World) isolations() {
	if w.res == nil {
		return
	}
	for i := range w.faults {
		if len(w.plan.Faults[i].Machines) > 0 && w.plan.Faults[i].Start <= w.now && w.now < w.plan.Faults[i].End {
			w.isolatedSince(i)
		}
	}
}

// selfPreserving reports whether registry r expires nothing: fewer than
// the self-preservation share of its registered instances renew (are
// alive), as Eureka stops evicting when renewals drop.
func (w *World) selfPreserving(r int32) bool {
	if w.res == nil || w.res.preserve <= 0 {
		return false
	}
	reg, alive := 0, 0
	for i := range w.insts {
		in := &w.insts[i]
		if w.discSvc(in) < 0 || w.registryOf[in.set] != r || !in.reg {
			continue
		}
		reg++
		if in.alive(w) {
			alive++
		}
	}
	on := reg > 0 && float64(alive) < w.res.preserve*float64(reg)
	if on != w.regs[r].preserving {
		w.regs[r].preserving = on
		state := "stops expiring instances"
		if !on {
			state = "expires instances again"
		}
		w.rec.Event(w.now, EvPreserve, -1, "registry %d: %d of %d registered instances renew (threshold %s): it %s",
			r, alive, reg, reports.FormatPercent(w.res.preserve), state)
	}
	return on
}
