package sim

import (
	"math"

	"github.com/stripelab/stripelab/scenarios"
)

// endpoint of frame d: the machine of its instance, or the client's city
// encoded as -1-city for frame 0.
func (w *World) endpoint(r *request, d int) int32 {
	if d == 0 {
		return -1 - int32(r.city)
	}
	return w.insts[r.frames[d].inst].machine
}

// sendDown sends the request from frame d to frame d+1 over the network.
func (w *World) sendDown(ri int32, d int) {
	r := &w.reqs.recs[ri]
	delay, fate := w.transit(w.endpoint(r, d), w.endpoint(r, d+1))
	switch fate {
	case fateDrop:
		w.chainEnd(ri)
	case fateReject:
		w.at(w.now+delay, evResp, ri, int32(d), 0, uint8(stError))
	default:
		w.at(w.now+delay, evMsg, ri, int32(d+1), 0, 0)
	}
}

// sendUp sends a response from frame d to frame d-1.
func (w *World) sendUp(ri int32, d int, st status) {
	r := &w.reqs.recs[ri]
	if d >= 2 && r.frames[d].pre {
		w.leafAnswer(ri, d, st)
		return
	}
	var delay int64
	var fate int
	if r.frames[d].pre {
		delay, fate = w.transitJit(w.endpoint(r, d), w.endpoint(r, d-1), r.leafJit)
	} else {
		delay, fate = w.transit(w.endpoint(r, d), w.endpoint(r, d-1))
	}
	if d == 1 && fate != fateDrop {
		w.answerClient(ri, st, fate, w.now+delay)
		return
	}
	if d == 2 {
		// the gateway's answer to the client draws its jitter now, so that
		// relaying it ahead or when it reaches the gateway draws the same
		r.frames[1].pre = true
		if w.jitter > 0 {
			r.leafJit = uint32(w.netRand.Uint64() >> 32)
		}
		if w.ahead && fate == fateDeliver && st == stOK && w.relayAhead(ri, w.now+delay) {
			return
		}
	}
	switch fate {
	case fateDrop:
		w.chainEnd(ri)
	case fateReject:
		w.at(w.now+delay, evResp, ri, int32(d-1), 0, uint8(stError))
	default:
		w.at(w.now+delay, evResp, ri, int32(d-1), 0, uint8(st))
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
	if !w.relayOK || len(w.links) > 0 || t >= w.faultNext || !f.waiting || f.inc != gw.inc || gw.q.len() > 0 {
		return false
	}
	delay, _ := w.transitJit(w.endpoint(r, 1), w.endpoint(r, 0), r.leafJit)
	if t+delay >= r.start+w.clientTimeout {
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

// leafAnswer sends a leaf's answer with the jitter and sequence number
// drawn when its work started.
func (w *World) leafAnswer(ri int32, d int, st status) {
	r := &w.reqs.recs[ri]
	delay, fate := w.transitJit(w.endpoint(r, d), w.endpoint(r, d-1), r.leafJit)
	switch fate {
	case fateDrop:
		w.chainEnd(ri)
	case fateReject:
		w.atSeq(r.leafSeq+seqAnswer, w.now+delay, evResp, ri, int32(d-1), 0, uint8(stError))
	default:
		w.atSeq(r.leafSeq+seqAnswer, w.now+delay, evResp, ri, int32(d-1), 0, uint8(st))
	}
}

// answerClient delivers a gateway's answer that reaches the client at t.
// Nothing but the client's own timeout can happen to it on the way, so no
// event is needed: if it arrives before the attempt's deadline the client
// takes it (the deadline entry then finds the attempt done), otherwise the
// deadline fires first and the answer is discarded on arrival.
func (w *World) answerClient(ri int32, st status, fate int, t int64) {
	r := &w.reqs.recs[ri]
	f := &r.frames[0]
	if !f.waiting || t >= r.start+w.clientTimeout {
		w.chainEnd(ri)
		return
	}
	if fate == fateReject {
		st = stError
	}
	f.waiting = false
	w.insts[r.frames[1].inst].outstanding--
	r.refs--
	w.finishAttemptAt(ri, st, t)
}

// onMsg: a request arrives at the instance of frame d.
func (w *World) onMsg(ri int32, d int) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if in.hostDown {
		w.chainEnd(ri) // black-holed: the caller will time out
		return
	}
	if in.procDown > 0 {
		w.sendUp(ri, d, stError) // connection refused
		return
	}
	f.inc = in.inc
	if in.role == scenarios.RoleGateway {
		if st := w.admit(ri, f.inst); st != stOK {
			w.sendUp(ri, d, st)
			return
		}
	}
	in.arrivals++
	m := &w.machines[in.machine]
	if in.busy >= in.conc && len(m.holds) > 0 {
		w.demoteArrivals(m)
	}
	switch {
	case in.busy < in.conc:
		in.busy++
		w.startCPU(ri, d)
	case in.q.len() < int(in.qcap):
		if len(m.holds) > 0 {
			w.demote(m) // the queued request starts when a hold ends
		}
		in.queued++
		in.q.push(work{req: ri, depth: int8(d), enq: w.now})
		if in.role == scenarios.RoleGateway && w.gwQueueTimeout > 0 && !in.gwTimer {
			in.gwTimer = true
			w.at(w.now+w.gwQueueTimeout, evGwTimer, f.inst, 0, in.inc, 0)
		}
	case in.role == scenarios.RoleGateway:
		w.sendUp(ri, d, stShed)
	default:
		w.sendUp(ri, d, stError)
	}
}

// startCPU runs the CPU part of frame d on its machine's cores, or queues
// it on the machine when every core is busy.
func (w *World) startCPU(ri int32, d int) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if in.leaf && !f.pre {
		w.prepareLeaf(ri, d)
	}
	if in.samp.kind == distConstant && in.samp.mean <= 0 {
		if in.role == scenarios.RoleGateway {
			w.prepareForward(ri, d, in, w.now)
		}
		w.afterCPU(ri, d)
		return
	}
	m := &w.machines[in.machine]
	if m.busy >= m.cores && len(m.holds) > 0 {
		w.demoteArrivals(m)
	}
	if m.busy < m.cores {
		w.beginCPU(ri, d, in, m)
		return
	}
	w.demote(m) // the queued work starts when a hold ends
	m.runq.push(work{req: ri, depth: int8(d), inc: in.inc})
}

// beginCPU gives frame d a core of machine m. Its work ends with a CPU
// event, or is settled ahead when nothing can happen meanwhile that would
// change how it ends: a leaf answers ahead (answerEarly), a gateway sends
// its forward ahead and only holds the core.
func (w *World) beginCPU(ri int32, d int, in *instance, m *machine) {
	m.busy++
	r := &w.reqs.recs[ri]
	var end int64
	var seq uint64
	if r.frames[d].prep {
		end = w.now + w.leafCost(r, m)
		seq = r.leafSeq + seqCPU
	} else {
		end = w.now + w.cpuCost(in, m)
		seq = w.q.reserve()
	}
	quiet := w.ahead && len(w.links) == 0 && m.runq.len() == 0
	switch {
	case in.role == scenarios.RoleGateway:
		w.prepareForward(ri, d, in, end)
		if quiet && r.frames[d].waiting && end < w.faultNext {
			w.sendPrepared(ri, d, end)
			m.holds = append(m.holds, hold{end: end, seq: seq, req: ri, inst: r.frames[d].inst, d: int8(d), kind: holdCore})
			w.forwardedAhead++
			return
		}
	case quiet && in.leaf && d >= 2 && in.q.len() == 0 && (in.role != scenarios.RoleShard || r.op != opWrite):
		w.answerEarly(ri, d, m, end)
		return
	}
	w.atSeq(seq, end, evCPU, ri, int32(d), in.inc, m.epoch)
}

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

// aheadToken stamps frame d with a new token for an event scheduled ahead.
// It has the high bit set, which a frame's wait tokens (counted from zero
// for each frame) never reach.
func aheadToken(r *request, d int) uint16 {
	r.spec = (r.spec + 1) & 0x7fff
	tok := r.spec | 0x8000
	r.frames[d].token = tok
	return tok
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
		w.reqs.recs[h.req].frames[h.d].token = 0
		if (h.kind == holdArrive || h.kind == holdArriveWork) && !w.passed(h.start, h.seq+seqMsg) {
			w.countArrivalDemoted(h.kind)
			m.busy--
			w.insts[h.inst].busy--
			w.insts[h.inst].arrivals--
			w.atSeq(h.seq+seqMsg, h.start, evMsg, h.req, int32(h.d), 0, 0)
			continue
		}
		w.demoted++
		w.atSeq(h.seq+seqCPU, h.end, evCPU, h.req, int32(h.d), w.insts[h.inst].inc, m.epoch)
	}
	m.holds = m.holds[:0]
}

func (w *World) countArrivalDemoted(kind uint8) {
	if kind == holdArrive {
		w.demotedArrival++
	} else {
		w.demotedArrivalWork++
	}
}

// demoteArrivals turns machine m's calls that have not arrived yet back
// into their messages, so that whoever checks for a free thread or core
// now sees what it would see without them; it reports whether there were
// any.
func (w *World) demoteArrivals(m *machine) bool {
	w.settle(m)
	k, any := 0, false
	for _, h := range m.holds {
		if (h.kind == holdArrive || h.kind == holdArriveWork) && !w.passed(h.start, h.seq+seqMsg) {
			any = true
			w.countArrivalDemoted(h.kind)
			w.reqs.recs[h.req].frames[h.d].token = 0
			m.busy--
			w.insts[h.inst].busy--
			w.insts[h.inst].arrivals--
			w.atSeq(h.seq+seqMsg, h.start, evMsg, h.req, int32(h.d), 0, 0)
			continue
		}
		m.holds[k] = h
		k++
	}
	m.holds = m.holds[:k]
	return any
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

// demoteAll demotes every hold: a fault is about to change what running
// work or its answers would meet.
func (w *World) demoteAll() {
	for i := range w.machines {
		if len(w.machines[i].holds) > 0 {
			w.demote(&w.machines[i])
		}
	}
}

func (w *World) cpuCost(in *instance, m *machine) int64 {
	c := in.samp.draw(in.rng)
	if m.slow != 1 {
		c = int64(float64(c) * m.slow)
	}
	return max(c, 0)
}

func (w *World) onCPU(ri int32, d int, inc uint32, epoch uint8) {
	r := &w.reqs.recs[ri]
	in := &w.insts[r.frames[d].inst]
	m := &w.machines[in.machine]
	if epoch != m.epoch {
		w.chainEnd(ri) // the machine crashed while this ran
		return
	}
	m.busy--
	w.runNext(m)
	if inc != in.inc {
		w.chainEnd(ri) // the process crashed while this ran
		return
	}
	w.afterCPU(ri, d)
}

// runNext starts queued CPU work on free cores.
func (w *World) runNext(m *machine) {
	for m.busy < m.cores && m.runq.len() > 0 {
		x := m.runq.pop()
		in := &w.insts[w.reqs.recs[x.req].frames[x.depth].inst]
		if x.inc != in.inc {
			w.chainEnd(x.req)
			continue
		}
		w.beginCPU(x.req, int(x.depth), in, m)
	}
}

// afterCPU continues frame d once its CPU work is done.
func (w *World) afterCPU(ri int32, d int) {
	r := &w.reqs.recs[ri]
	in := &w.insts[r.frames[d].inst]
	switch in.role {
	case scenarios.RoleGateway:
		if !r.frames[d].waiting {
			w.respondUp(ri, d, stUnavailable) // no upstream when it started
			return
		}
		w.sendPrepared(ri, d, w.now)
	case scenarios.RoleService:
		w.continueFrame(ri, d)
	case scenarios.RoleProxy:
		target, st := w.routeData(ri, in.machine)
		if st != stOK {
			w.respondUp(ri, d, st)
			return
		}
		w.callDown(ri, d, target, w.proxyEdge[r.frames[d-1].edge])
	case scenarios.RoleShard:
		w.shardOp(ri, d)
	}
}

// continueFrame makes a service frame's next downstream call, or answers
// its caller when every call is done.
func (w *World) continueFrame(ri int32, d int) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	sv := &w.svcs[in.svc]
	if int(f.next) == len(sv.calls) {
		w.respondUp(ri, d, stOK)
		return
	}
	c := &sv.calls[f.next]
	edge := sv.edges[f.next]
	f.next++
	if c.Kind == scenarios.CallService {
		target := w.pick(in.set, int32(c.Service))
		if target < 0 {
			w.respondUp(ri, d, stUnavailable)
			return
		}
		w.callDown(ri, d, target, edge)
		return
	}
	r.op = opRead
	if c.Kind == scenarios.CallWrite || (c.Kind == scenarios.CallRequest && r.write) {
		r.op = opWrite
	}
	var target int32
	st := stOK
	if w.dataMode == dataProxy {
		target = w.pick(in.set, int32(len(w.svcs)))
		if target < 0 {
			st = stUnavailable
		}
	} else {
		target, st = w.routeData(ri, in.machine)
	}
	if st != stOK {
		w.respondUp(ri, d, st)
		return
	}
	w.callDown(ri, d, target, edge)
}

// callDown makes frame d wait on a call to target at frame d+1 and sends
// the call.
func (w *World) callDown(ri int32, d int, target int32, edge int16) {
	w.wait(ri, d, target, edge, w.now)
	tin := &w.insts[target]
	switch {
	case tin.leaf:
		w.prepareLeaf(ri, d+1)
	case tin.role == scenarios.RoleService:
		w.prepareWork(ri, d+1)
	default:
		w.sendDown(ri, d)
		return
	}
	// a prepared call: its message takes the sequence number reserved for
	// it, and it may be settled ahead
	r := &w.reqs.recs[ri]
	delay, fate := w.transit(w.endpoint(r, d), w.endpoint(r, d+1))
	switch {
	case fate == fateDrop:
		w.chainEnd(ri)
	case fate == fateReject:
		w.atSeq(r.leafSeq+seqMsg, w.now+delay, evResp, ri, int32(d), 0, uint8(stError))
	case w.ahead && tin.leaf && w.arriveAhead(ri, d+1, w.now+delay):
	case w.ahead && !tin.leaf && w.arriveAheadWork(ri, d+1, w.now+delay):
	default:
		w.atSeq(r.leafSeq+seqMsg, w.now+delay, evMsg, ri, int32(d+1), 0, 0)
	}
}

// Sequence numbers reserved for a call when it is made (prepareLeaf,
// prepareWork; request.leafSeq is the first): its message, its answer (a
// leaf's) and the end of its CPU work.
const (
	seqMsg = iota
	seqAnswer
	seqCPU
	seqLeaf // how many
)

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
	r.leafCost = uint32(min(max(in.samp.draw(in.rng), 0), math.MaxUint32))
	r.leafSeq = w.q.reserveN(seqLeaf)
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
	r.leafCost = uint32(min(max(in.samp.draw(in.rng), 0), math.MaxUint32))
	r.leafSeq = w.q.reserveN(seqLeaf)
}

// arriveAheadWork settles the arrival of a call to a service that calls
// others when it is sent, if the service will surely start its CPU work at
// once when the call arrives at ta and nothing can change it before the
// work ends (as arriveAhead for leaves): the message's event is skipped
// and the work's end is scheduled; the thread and core count as busy from
// now, and whoever finds them missing before ta turns the call back into
// its message.
func (w *World) arriveAheadWork(ri int32, d int, ta int64) bool {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if len(w.links) > 0 || !in.alive(w) || in.role != scenarios.RoleService || (in.samp.kind == distConstant && in.samp.mean <= 0) {
		return false
	}
	m := &w.machines[in.machine]
	if (in.busy >= in.conc || m.busy >= m.cores) && len(m.holds) > 0 {
		w.settle(m)
	}
	if in.busy >= in.conc || m.busy >= m.cores || in.q.len() > 0 || m.runq.len() > 0 {
		return false
	}
	end := ta + w.leafCost(r, m)
	if end >= w.faultNext {
		return false
	}
	in.busy++
	m.busy++
	in.arrivals++
	f.inc = in.inc
	m.holds = append(m.holds, hold{start: ta, end: end, seq: r.leafSeq, req: ri, inst: f.inst, d: int8(d), kind: holdArriveWork})
	w.arrivedAheadWork++
	w.atSeq(r.leafSeq+seqCPU, end, evCPUAhead, ri, int32(d), uint32(aheadToken(r, d)), 0)
	return true
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

// leafCost is a prepared leaf's CPU time on machine m.
func (w *World) leafCost(r *request, m *machine) int64 {
	c := int64(r.leafCost)
	if m.slow != 1 {
		c = int64(float64(c) * m.slow)
	}
	return c
}

// arriveAhead settles a call to a leaf when it is sent, if the leaf will
// surely start it at once when it arrives at ta and nothing can change its
// answer: no fault starts or ends before its work ends, no link fault is
// active, and its instance and machine have a thread and a core free even
// counting every call already settled ahead. The thread and core count as
// busy from now; whoever finds them missing before ta turns this call back
// into its message (demoteArrivals), so everyone else sees what they would
// see without it.
func (w *World) arriveAhead(ri int32, d int, ta int64) bool {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if len(w.links) > 0 || !in.alive(w) || (in.role == scenarios.RoleShard && r.op == opWrite) || d < 2 {
		return false
	}
	if in.samp.kind == distConstant && in.samp.mean <= 0 {
		return false
	}
	m := &w.machines[in.machine]
	if (in.busy >= in.conc || m.busy >= m.cores) && len(m.holds) > 0 {
		w.settle(m)
	}
	if in.busy >= in.conc || m.busy >= m.cores || in.q.len() > 0 || m.runq.len() > 0 {
		return false
	}
	end := ta + w.leafCost(r, m)
	if end >= w.faultNext {
		return false
	}
	delay, _ := w.transitJit(w.endpoint(r, d), w.endpoint(r, d-1), r.leafJit)
	in.busy++
	m.busy++
	in.arrivals++
	f.inc = in.inc
	m.holds = append(m.holds, hold{start: ta, end: end, seq: r.leafSeq, req: ri, inst: f.inst, d: int8(d), kind: holdArrive})
	w.arrivedAhead++
	w.scheduleLeafDone(ri, d, end+delay)
	return true
}

// wait makes frame d wait on a call to target at frame d+1 that leaves at
// sendAt. The wait holds the record like a chain does (it continues the
// request when it ends), so a call lost on the way cannot free the record
// under it.
func (w *World) wait(ri int32, d int, target int32, edge int16, sendAt int64) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	r.refs++
	f.waiting = true
	f.token++
	f.edge = edge
	w.edges[edge].add(w, sendAt, ri, r.gen, int8(d), f.token)
	r.frames[d+1] = frame{inst: target}
	w.outstandingNow(target)
	w.insts[target].outstanding++
	tm := &w.machines[w.insts[target].machine]
	if tm.city != int32(r.city) {
		r.cross = true
	}
	if tm.set != r.home {
		r.crossSet = true
	}
}

// prepareForward starts a gateway's forwarding when its CPU work starts:
// it picks the upstream instance (the gateway routes a request when it
// admits it) and prepares the message that leaves when the work ends at
// end. With no upstream to pick the gateway answers unavailable at end.
func (w *World) prepareForward(ri int32, d int, in *instance, end int64) {
	target := w.pick(in.set, w.gatewaySvc)
	if target < 0 {
		return
	}
	w.wait(ri, d, target, w.upstreamEdge, end)
	r := &w.reqs.recs[ri]
	if w.jitter > 0 {
		r.leafJit = uint32(in.rngOr(w).Uint64() >> 32)
	}
	if up := &w.insts[target]; up.role == scenarios.RoleService && !up.leaf {
		w.prepareWork(ri, d+1)
	} else {
		r.leafSeq = w.q.reserveN(seqLeaf)
	}
}

// sendPrepared sends the message prepared by prepareForward at time at.
func (w *World) sendPrepared(ri int32, d int, at int64) {
	r := &w.reqs.recs[ri]
	delay, fate := w.transitJit(w.endpoint(r, d), w.endpoint(r, d+1), r.leafJit)
	switch fate {
	case fateDrop:
		w.chainEnd(ri)
	case fateReject:
		w.atSeq(r.leafSeq+seqMsg, at+delay, evResp, ri, int32(d), 0, uint8(stError))
	default:
		if w.ahead && r.frames[d+1].prep && w.arriveAheadWork(ri, d+1, at+delay) {
			return
		}
		w.atSeq(r.leafSeq+seqMsg, at+delay, evMsg, ri, int32(d+1), 0, 0)
	}
}

// respondUp answers frame d's caller and frees frame d's thread.
func (w *World) respondUp(ri int32, d int, st status) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if f.inc == in.inc {
		in.busy--
		w.startQueued(f.inst)
	}
	w.sendUp(ri, d, st)
}

// startQueued gives free threads of an instance to queued requests.
func (w *World) startQueued(inst int32) {
	in := &w.insts[inst]
	for in.busy < in.conc && in.q.len() > 0 {
		x := in.q.pop()
		if in.role == scenarios.RoleGateway && w.gwQueueTimeout > 0 && x.enq+w.gwQueueTimeout <= w.now {
			w.sendUp(x.req, int(x.depth), stShed)
			continue
		}
		in.busy++
		in.waitSum += w.now - x.enq
		w.startCPU(x.req, int(x.depth))
	}
}

// onResp: a response from frame d+1 arrives at frame d.
func (w *World) onResp(ri int32, d int, st status) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	if !f.waiting {
		w.chainEnd(ri) // the caller gave up on it
		return
	}
	if d > 0 {
		in := &w.insts[f.inst]
		if f.inc != in.inc || in.hostDown {
			w.chainEnd(ri) // the caller crashed meanwhile
			return
		}
	}
	f.waiting = false
	w.insts[r.frames[d+1].inst].outstanding--
	r.refs-- // the wait ends (at the client: the chain ends)
	if d == 0 {
		w.finishAttempt(ri, st)
		return
	}
	if st != stOK {
		w.respondUp(ri, d, st)
		return
	}
	if w.insts[f.inst].role == scenarios.RoleService {
		w.continueFrame(ri, d)
		return
	}
	w.respondUp(ri, d, stOK)
}

// onGwTimer sheds the requests that waited too long in a gateway's queue.
func (w *World) onGwTimer(inst int32, inc uint32) {
	in := &w.insts[inst]
	if inc != in.inc {
		return
	}
	in.gwTimer = false
	for in.q.len() > 0 {
		x := in.q.peek()
		if x.enq+w.gwQueueTimeout > w.now {
			in.gwTimer = true
			w.at(x.enq+w.gwQueueTimeout, evGwTimer, inst, 0, in.inc, 0)
			return
		}
		y := in.q.pop()
		w.sendUp(y.req, int(y.depth), stShed)
	}
}
