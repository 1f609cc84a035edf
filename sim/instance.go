package sim

import (
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
	if !f.waiting || t >= r.start+w.cmds[r.cmd].timeout {
		w.chainEnd(ri)
		return
	}
	if fate == fateReject {
		st = stError
	}
	if w.res != nil && w.res.hedgeMax > 0 {
		w.at(t, evClientAnswer, ri, 0, 0, uint8(st))
		return
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
	if w.machines[in.machine].down > 0 {
		w.chainEnd(ri) // black-holed: the caller will time out
		return
	}
	if in.procDown > 0 || in.off {
		w.sendUp(ri, d, stError) // connection refused
		return
	}
	f.inc = in.inc
	w.countCall(in, w.now, 1)
	if in.role == scenarios.RoleGateway {
		if st := w.admit(ri, f.inst); st != stOK {
			if st == stShed && w.measured(w.now) {
				in.qc.shed++
			}
			w.sendUp(ri, d, st)
			return
		}
	}
	m := &w.machines[in.machine]
	if in.busy >= in.conc && len(m.holds) > 0 {
		w.demoteArrivals(m)
	}
	if in.busy < in.conc {
		in.busy++
		w.takeThread(in, w.now)
		w.startCPU(ri, d)
		return
	}
	w.queueCall(ri, d, f.inst)
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

func (w *World) cpuCost(in *instance, m *machine) int64 {
	return slowed(in.samp.draw(in.rng), m)
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
		target := w.pickFor(f.inst, in.set, int32(c.Service))
		if target < 0 && c.Fallback {
			w.continueFrame(ri, d)
			return
		}
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

// fallsBack reports whether service frame d's last call has a fallback:
// its failure does not fail the request.
func (w *World) fallsBack(ri int32, d int) bool {
	f := &w.reqs.recs[ri].frames[d]
	in := &w.insts[f.inst]
	if in.role != scenarios.RoleService || f.next == 0 {
		return false
	}
	return w.svcs[in.svc].calls[f.next-1].Fallback
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
	r := &w.reqs.recs[ri]
	delay, fate := w.transit(w.endpoint(r, d), w.endpoint(r, d+1))
	w.sendReserved(ri, d, w.now+delay, fate)
}

// sendReserved sends a prepared call from frame d that arrives at ta with
// fate, on the sequence number reserved for its message (prepareLeaf,
// prepareWork, prepareForward), settling its arrival ahead when it can.
func (w *World) sendReserved(ri int32, d int, ta int64, fate int) {
	r := &w.reqs.recs[ri]
	switch {
	case fate == fateDrop:
		w.chainEnd(ri)
	case fate == fateReject:
		w.atSeq(r.leafSeq+seqMsg, ta, evResp, ri, int32(d), 0, uint8(stError))
	case w.ahead && r.frames[d+1].prep && w.arriveAheadAny(ri, d+1, ta):
	default:
		w.atSeq(r.leafSeq+seqMsg, ta, evMsg, ri, int32(d+1), 0, 0)
	}
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
	if w.res != nil {
		w.trackCall(target)
		if w.brk != nil && w.brk.slowCall > 0 {
			w.callSentAt(ri, d, sendAt)
		}
	}
	tm := &w.machines[w.insts[target].machine]
	if tm.city != int32(r.city) {
		r.did |= didCross
	}
	if tm.set != r.home {
		r.did |= didCrossSet
	}
}

// prepareForward starts a gateway's forwarding when its CPU work starts:
// it picks the upstream instance (the gateway routes a request when it
// admits it) and prepares the message that leaves when the work ends at
// end. With no upstream to pick the gateway answers unavailable at end.
func (w *World) prepareForward(ri int32, d int, in *instance, end int64) {
	target := w.pickFor(w.reqs.recs[ri].frames[d].inst, in.set, w.cmds[w.reqs.recs[ri].cmd].svc)
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
	w.sendReserved(ri, d, at+delay, fate)
}

// respondUp answers frame d's caller and frees frame d's thread.
func (w *World) respondUp(ri int32, d int, st status) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	in := &w.insts[f.inst]
	if f.inc == in.inc {
		in.busy--
		w.releaseThread(in, w.now)
		w.startQueued(f.inst)
	}
	w.sendUp(ri, d, st)
}

// startQueued gives free threads of an instance to queued requests.
func (w *World) startQueued(inst int32) {
	in := &w.insts[inst]
	for in.busy < in.conc && in.q.len() > 0 {
		x := in.q.pop()
		w.leftQueue(in, x)
		if in.role == scenarios.RoleGateway && w.gwQueueTimeout > 0 && x.enq+w.gwQueueTimeout <= w.now {
			w.expire(in, x)
			continue
		}
		in.busy++
		w.takeThread(in, w.now)
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
		if f.inc != in.inc || w.machines[in.machine].down > 0 {
			w.chainEnd(ri) // the caller crashed meanwhile
			return
		}
	}
	f.waiting = false
	w.insts[r.frames[d+1].inst].outstanding--
	r.refs-- // the wait ends (at the client: the chain ends)
	w.observe(ri, d, st, false)
	if d == 0 {
		w.finishAttempt(ri, st)
		return
	}
	if st != stOK && !w.fallsBack(ri, d) {
		w.respondUp(ri, d, st)
		return
	}
	if w.insts[f.inst].role == scenarios.RoleService {
		w.continueFrame(ri, d)
		return
	}
	w.respondUp(ri, d, stOK)
}
