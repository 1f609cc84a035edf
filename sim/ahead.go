package sim

// Settling ahead: work whose outcome nothing can change is processed when
// it is scheduled rather than through the event queue, with the same
// result (docs/architecture.md, "Settling ahead"; TestAnswerAheadIsExact).

import "github.com/stripelab/stripelab/scenarios"

// Sequence numbers reserved for a call when it is made (prepareLeaf,
// prepareWork; request.leafSeq is the first): its message, its answer (a
// leaf's) and the end of its CPU work.
const (
	seqMsg = iota
	seqAnswer
	seqCPU
	seqLeaf // how many
)

// answerEarly finishes a leaf's work as it starts: a service without calls
// or a read on a shard node always answers OK when its CPU work ends, and
// with no fault able to start or end meanwhile (faults demote every hold
// first) nothing can change that answer or its way back. So the answer is
// scheduled now, one event instead of two, and the thread and core stay
// held until the work's end: released lazily by settle when someone needs
// them, or turned back into an ordinary CPU event by demote when work must
// queue for them.
func (w *World) answerEarly(ri int32, d int, m *machine, end int64) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	delay, _ := w.transitJit(w.endpoint(r, d), w.endpoint(r, d-1), r.leafJit)
	m.holds = append(m.holds, hold{end: end, seq: r.leafSeq, req: ri, inst: f.inst, d: int8(d), kind: holdWork})
	w.answeredAhead++
	w.scheduleLeafDone(ri, d, end+delay)
}

// scheduleLeafDone schedules the answer of leaf frame d to reach its
// caller at t, stamped with a new token a demotion can invalidate.
func (w *World) scheduleLeafDone(ri int32, d int, t int64) {
	r := &w.reqs.recs[ri]
	w.atSeq(r.leafSeq+seqAnswer, t, evLeafDone, ri, int32(d), uint32(aheadToken(r, d)), 0)
}

// onLeafDone delivers an answer scheduled ahead, unless its hold was
// demoted (an ordinary CPU event then carries the request).
func (w *World) onLeafDone(ri int32, d int, token uint32) {
	f := &w.reqs.recs[ri].frames[d]
	if uint32(f.token) != token {
		return
	}
	f.token = 0
	w.onResp(ri, d-1, stOK)
}

// settle releases the threads and cores of machine m's holds that ended.
func (w *World) settle(m *machine) {
	k := 0
	for _, h := range m.holds {
		if h.kind == holdArriveWork {
			if w.passed(h.start, h.seq+seqMsg) {
				continue // arrived: its own CPU event ends it
			}
		} else if w.passed(h.end, h.endSeq()) {
			if h.kind != holdThread {
				m.busy--
			}
			if h.kind != holdCore {
				w.insts[h.inst].busy--
				w.releaseThread(&w.insts[h.inst], h.end)
			}
			continue
		}
		m.holds[k] = h
		k++
	}
	m.holds = m.holds[:k]
}

// demote turns machine m's holds back into what would happen without
// settling ahead: a leaf's work into CPU work ending with an event (its
// answer in the queue turns stale), a call that has not arrived yet into
// its message, a gateway's core or thread into a release event.
func (w *World) demote(m *machine) {
	w.settle(m)
	for _, h := range m.holds {
		switch h.kind {
		case holdCore:
			w.demotedCore++
			// the forward already left; only the core's release waits
			w.atSeq(h.seq, h.end, evCoreFree, w.insts[h.inst].machine, 0, uint32(m.epoch), 0)
			continue
		case holdThread:
			w.demotedRelay++
			// the client has its answer; only the thread's release waits
			w.atSeq(h.seq, h.end, evThreadFree, h.inst, 0, w.insts[h.inst].inc, 0)
			continue
		}
		if w.notArrived(&h) {
			w.unarrive(m, &h)
			continue
		}
		w.reqs.recs[h.req].frames[h.d].token = 0
		w.demoted++
		w.atSeq(h.seq+seqCPU, h.end, evCPU, h.req, int32(h.d), w.insts[h.inst].inc, m.epoch)
	}
	m.holds = m.holds[:0]
}

// onCoreFree releases a core held by a demoted gateway hold.
func (w *World) onCoreFree(mi int32, epoch uint8) {
	m := &w.machines[mi]
	if epoch != m.epoch {
		return // the machine crashed meanwhile and freed its cores
	}
	m.busy--
	w.runNext(m)
}

// onThreadFree releases a gateway thread held by a demoted relay hold, as
// the answer's arrival would have.
func (w *World) onThreadFree(inst int32, inc uint32) {
	in := &w.insts[inst]
	if inc != in.inc {
		return // the gateway restarted meanwhile with no thread in use
	}
	in.busy--
	w.releaseThread(in, w.now)
	w.startQueued(inst)
}

// outstandingNow is instance i's outstanding calls now, once the answers
// relayed ahead that reached their caller by now are taken off.
func (w *World) outstandingNow(i int32) int32 {
	in := &w.insts[i]
	if len(in.pend) > 0 {
		k := 0
		for _, p := range in.pend {
			if w.passed(p.t, p.seq) {
				in.outstanding--
				continue
			}
			in.pend[k] = p
			k++
		}
		in.pend = in.pend[:k]
	}
	return in.outstanding
}

// notArrived reports whether h is a call settled ahead that has not
// arrived yet.
func (w *World) notArrived(h *hold) bool {
	return (h.kind == holdArrive || h.kind == holdArriveWork) && !w.passed(h.start, h.seq+seqMsg)
}

// unarrive turns a call settled ahead that has not arrived yet back into
// its message; the caller takes h off the machine's holds.
func (w *World) unarrive(m *machine, h *hold) {
	if h.kind == holdArrive {
		w.demotedArrival++
	} else {
		w.demotedArrivalWork++
	}
	w.reqs.recs[h.req].frames[h.d].token = 0 // its answer or CPU end in the queue is stale
	m.busy--
	in := &w.insts[h.inst]
	in.busy--
	w.releaseThread(in, h.start) // the take at its arrival is undone
	w.countCall(in, h.start, -1)
	w.atSeq(h.seq+seqMsg, h.start, evMsg, h.req, int32(h.d), 0, 0)
}

// demoteArrivals turns machine m's calls that have not arrived yet back
// into their messages, so that whoever checks for a free thread or core
// now sees what it would see without them.
func (w *World) demoteArrivals(m *machine) {
	w.settle(m)
	k := 0
	for _, h := range m.holds {
		if w.notArrived(&h) {
			w.unarrive(m, &h)
			continue
		}
		m.holds[k] = h
		k++
	}
	m.holds = m.holds[:k]
}

// demoteAll demotes every hold: a fault is about to change what running
// work or its answers would meet.
func (w *World) demoteAll() {
	for i := range w.machines {
		if len(w.machines[i].holds) > 0 {
			w.demote(&w.machines[i])
		}
	}
}

// relayAhead relays an OK answer through the gateway to the client as the
// answer leaves the gateway's upstream, when nothing can happen before it
// reaches the gateway at t that would change what the gateway does with
// it: no fault starts or ends, no link fault is active, the gateway still
// waits for it and has nobody queued, and the client will not have given
// up. The gateway's thread stays held until t (released lazily, or by an
// event if someone queues for it) and the upstream's outstanding count
// drops at t (outstandingNow).
func (w *World) relayAhead(ri int32, t int64) bool {
	r := &w.reqs.recs[ri]
	f := &r.frames[1]
	gw := &w.insts[f.inst]
	cm := &w.cmds[r.cmd]
	if !cm.relayOK || len(w.links) > 0 || t >= w.faultNext || !f.waiting || f.inc != gw.inc || gw.q.len() > 0 {
		return false
	}
	delay, _ := w.transitJit(w.endpoint(r, 1), w.endpoint(r, 0), r.leafJit)
	if t+delay >= r.start+cm.timeout {
		return false
	}
	seq := w.q.reserve() // the answer's event, should the hold be demoted
	f.waiting = false
	up := &w.insts[r.frames[2].inst]
	up.pend = append(up.pend, pending{t: t, seq: seq})
	r.refs--
	m := &w.machines[gw.machine]
	m.holds = append(m.holds, hold{end: t, seq: seq, req: ri, inst: f.inst, d: 1, kind: holdThread})
	w.relayedAhead++
	w.answerClient(ri, stOK, fateDeliver, t+delay)
	return true
}

// prepareLeaf draws what leaf frame d's work will use when the call to it
// is made: its service time, its answer's network jitter and the sequence
// numbers of its events. Drawn at the same point whether its work is
// settled ahead or not, they make both ways give the same run.
func (w *World) prepareLeaf(ri int32, d int) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	f.pre, f.prep = true, true
	if w.jitter > 0 {
		r.leafJit = uint32(in.rngOr(w).Uint64() >> 32)
	}
	r.leafCost = in.samp.draw(in.rng)
	r.leafSeq = w.q.reserveN(seqLeaf)
}

// leafCost is a prepared leaf's CPU time on machine m.
func (w *World) leafCost(r *request, m *machine) int64 {
	return slowed(r.leafCost, m)
}

// prepareWork draws the service time of a service frame d (one that calls
// others) when the call to it is made, and reserves the sequence numbers
// of its message and CPU end (request.leafCost, leafSeq), so that its
// arrival can be settled ahead (arriveAheadWork) with the same run.
func (w *World) prepareWork(ri int32, d int) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	f.prep = true
	r.leafCost = in.samp.draw(in.rng)
	r.leafSeq = w.q.reserveN(seqLeaf)
}

// arriveAheadWork settles the arrival of a call to a service that calls
// others when it is sent (reserveArrival): the message's event is skipped
// and the work's end is scheduled. Whoever finds the thread or core missing
// before ta turns the call back into its message.
func (w *World) arriveAheadWork(ri int32, d int, ta int64) bool {
	in := &w.insts[w.reqs.recs[ri].frames[d].inst]
	if in.role != scenarios.RoleService {
		return false
	}
	end, ok := w.reserveArrival(ri, d, ta, holdArriveWork)
	if !ok {
		return false
	}
	w.arrivedAheadWork++
	r := &w.reqs.recs[ri]
	w.atSeq(r.leafSeq+seqCPU, end, evCPUAhead, ri, int32(d), uint32(aheadToken(r, d)), 0)
	return true
}

// arriveAheadAny settles a prepared call to frame d when it is sent, as a
// call to a leaf or to a service.
func (w *World) arriveAheadAny(ri int32, d int, ta int64) bool {
	if w.insts[w.reqs.recs[ri].frames[d].inst].leaf {
		return w.arriveAhead(ri, d, ta)
	}
	return w.arriveAheadWork(ri, d, ta)
}

// reserveArrival takes the thread and core a prepared call to frame d will
// use when it arrives at ta, if its instance will surely start it then and
// nothing can change how its work goes: no link fault is active, no fault
// starts or ends before the work ends, and a thread and a core are free
// even counting every call already settled ahead. It returns when the work
// ends.
func (w *World) reserveArrival(ri int32, d int, ta int64, kind uint8) (end int64, ok bool) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if len(w.links) > 0 || !in.alive(w) || (in.samp.kind == distConstant && in.samp.mean <= 0) {
		return 0, false
	}
	m := &w.machines[in.machine]
	if (in.busy >= in.conc || m.busy >= m.cores) && len(m.holds) > 0 {
		w.settle(m)
	}
	if in.busy >= in.conc || m.busy >= m.cores || in.q.len() > 0 || m.runq.len() > 0 {
		return 0, false
	}
	end = ta + w.leafCost(r, m)
	if end >= w.faultNext {
		return 0, false
	}
	in.busy++
	w.takeThread(in, ta)
	m.busy++
	w.countCall(in, ta, 1)
	f.inc = in.inc
	m.holds = append(m.holds, hold{start: ta, end: end, seq: r.leafSeq, req: ri, inst: f.inst, d: int8(d), kind: kind})
	return end, true
}

// onCPUAhead ends CPU work whose arrival was settled ahead, unless the
// call was turned back into its message.
func (w *World) onCPUAhead(ri int32, d int, token uint32) {
	f := &w.reqs.recs[ri].frames[d]
	if uint32(f.token) != token {
		return
	}
	f.token = 0
	in := &w.insts[f.inst]
	m := &w.machines[in.machine]
	// its hold has served (the call arrived): take it off the machine
	for i := range m.holds {
		if h := &m.holds[i]; h.kind == holdArriveWork && h.req == ri && int(h.d) == d {
			last := len(m.holds) - 1
			m.holds[i] = m.holds[last]
			m.holds = m.holds[:last]
			break
		}
	}
	w.onCPU(ri, d, in.inc, m.epoch)
}

// arriveAhead settles a call to a leaf when it is sent (reserveArrival):
// the message's and CPU end's events are skipped and the answer is
// scheduled. The thread and core count as busy from now; whoever finds
// them missing before ta turns this call back into its message
// (demoteArrivals), so everyone else sees what they would see without it.
func (w *World) arriveAhead(ri int32, d int, ta int64) bool {
	r := &w.reqs.recs[ri]
	if (w.insts[r.frames[d].inst].role == scenarios.RoleShard && r.op == opWrite) || d < 2 {
		return false
	}
	end, ok := w.reserveArrival(ri, d, ta, holdArrive)
	if !ok {
		return false
	}
	delay, _ := w.transitJit(w.endpoint(r, d), w.endpoint(r, d-1), r.leafJit)
	w.arrivedAhead++
	w.scheduleLeafDone(ri, d, end+delay)
	return true
}

// aheadToken stamps frame d with a new token for an event scheduled ahead.
// It has the high bit set, which a frame's wait tokens (counted from zero
// for each frame) never reach.
func aheadToken(r *request, d int) uint16 {
	r.spec = (r.spec + 1) & 0x7fff
	tok := r.spec | 0x8000
	r.frames[d].token = tok
	return tok
}
