package sim

import (
	"fmt"
	"sort"
	"time"
)

func dur(ns int64) string { return time.Duration(ns).String() }

// shardState is one shard: its copies, which one is primary, and the
// failover in progress when the primary is lost.
type shardState struct {
	reps     []int32 // shard-node instances, nearest to the first primary first
	believed []bool  // routers believe the copy is up
	primary  int32   // instance; -1 while no copy can be promoted
	epoch    uint32  // bumped at every promotion or recovery
	lost     bool    // the primary is down and not yet replaced
	detected bool    // routers know the primary is down
	promote  bool    // a promotion is scheduled
	downAt   int64
	oldPrim  int32
	fault    int32
	moved    int32 // the fault whose failover promoted the primary, until a first operation goes to it; -1
	acks     tRing // ack times of recent async writes, for loss accounting
}

// tRing is a FIFO of times.
type tRing struct{ fifo[int64] }

// dropBefore forgets times before t.
func (r *tRing) dropBefore(t int64) {
	for r.size > 0 && *r.peek() < t {
		r.pop()
	}
}

// countFrom counts times at or after t and returns the oldest of them.
func (r *tRing) countFrom(t int64) (n, oldest int64) {
	oldest = -1
	for i := r.size - 1; i >= 0; i-- {
		v := r.at(i)
		if v < t {
			break
		}
		n++
		oldest = v
	}
	return n, oldest
}

func (w *World) buildShards() {
	w.shards = make([]shardState, len(w.plan.Shards))
	for i, sh := range w.plan.Shards {
		s := &w.shards[i]
		for _, in := range sh.Replicas {
			s.reps = append(s.reps, int32(in))
			s.believed = append(s.believed, true)
		}
		s.primary = s.reps[0]
		s.fault, s.moved = -1, -1
	}
}

// routeData chooses the shard node for the request's current operation,
// seen from a caller on machine from: writes go to the primary, reads to
// the nearest copy believed up (or the primary when reads: primary).
func (w *World) routeData(ri int32, from int32) (int32, status) {
	r := &w.reqs.recs[ri]
	sh := &w.shards[r.shard]
	if r.op == opWrite || w.readPrimary {
		if sh.primary < 0 || (sh.lost && sh.detected) {
			return -1, stUnavailable
		}
		if sh.moved >= 0 {
			w.firstMoved(r.shard, sh)
		}
		w.cmds[r.cmd].primaryOps++
		return sh.primary, stOK
	}
	if best := w.nearestCopy(sh, from); best >= 0 {
		if best == sh.primary {
			w.cmds[r.cmd].primaryOps++
		} else {
			w.cmds[r.cmd].copyOps++
		}
		return best, stOK
	}
	return -1, stUnavailable
}

// nearestCopy is the copy of sh believed up nearest to machine from (the
// first listed on ties), or -1.
func (w *World) nearestCopy(sh *shardState, from int32) int32 {
	best, bestD := int32(-1), int64(0)
	for i, in := range sh.reps {
		if !sh.believed[i] {
			continue
		}
		d := w.baseDelay(from, w.insts[in].machine)
		if best < 0 || d < bestD {
			best, bestD = in, d
		}
	}
	return best
}

// shardOp finishes an operation on a shard node: reads answer at once;
// writes on the primary are acknowledged at once (async, remembered for
// loss accounting) or after enough copies confirmed (sync).
func (w *World) shardOp(ri int32, d int) {
	r := &w.reqs.recs[ri]
	inst := r.frames[d].inst
	sh := &w.shards[w.insts[inst].shard]
	if r.op != opWrite {
		w.respondUp(ri, d, stOK)
		return
	}
	if sh.primary != inst {
		w.respondUp(ri, d, stError) // not the primary (any more)
		return
	}
	if !w.syncRepl {
		sh.acks.dropBefore(w.now - w.asyncLag - int64(2e9))
		sh.acks.push(w.now)
		r.did |= didWrite
		w.respondUp(ri, d, stOK)
		return
	}
	wait := w.syncWait(sh, inst)
	w.at(w.now+wait, evAck, ri, int32(d), w.insts[inst].inc, 0)
}

// syncWait is how long a sync write on primary p waits for its acks: the
// k-th fastest round trip (plus apply time) among copies believed up;
// copies that are down or cut off but not yet dropped by the failure
// detector hold the write until they are dropped.
func (w *World) syncWait(sh *shardState, p int32) int64 {
	var rtts [8]int64
	n := 0
	var holdUntil int64
	candidates := 0
	pm := w.insts[p].machine
	for i, in := range sh.reps {
		if in == p || !sh.believed[i] {
			continue
		}
		candidates++
		rm := w.insts[in].machine
		if w.insts[in].alive(w) && w.reachable(pm, rm) && w.reachable(rm, pm) {
			if n < len(rtts) {
				rtts[n] = w.baseDelay(pm, rm)*2 + w.dataSampler.draw(w.insts[in].rngOr(w))
				n++
			}
			continue
		}
		since := w.insts[in].diedAt
		if w.insts[in].alive(w) {
			since = w.cutSince(pm, rm)
		}
		holdUntil = max(holdUntil, since+w.detection)
	}
	need := min(w.syncAcks, candidates)
	sort.Slice(rtts[:n], func(i, j int) bool { return rtts[i] < rtts[j] })
	var wait int64
	if need > n {
		// not enough copies answer: wait for the detector to drop the silent ones
		need = n
		wait = max(holdUntil-w.now, 0)
	}
	if need > 0 {
		wait = max(wait, rtts[need-1])
	}
	return wait
}

func (in *instance) rngOr(w *World) *rng {
	if in.rng != nil {
		return in.rng
	}
	return w.routeRand
}

func (w *World) onAck(ri int32, d int, inc uint32) {
	r := &w.reqs.recs[ri]
	in := &w.insts[r.frames[d].inst]
	if inc != in.inc || !in.alive(w) {
		w.chainEnd(ri)
		return
	}
	r.did |= didWrite
	w.respondUp(ri, d, stOK)
}

// shardNodeDown reacts to a shard node going down.
func (w *World) shardNodeDown(inst int32) {
	in := &w.insts[inst]
	sh := &w.shards[in.shard]
	if sh.primary == inst && !sh.lost {
		sh.lost, sh.detected, sh.promote = true, false, false
		sh.downAt, sh.oldPrim, sh.fault = w.now, inst, in.fault
		w.at(w.now+w.detection, evShardDetect, in.shard, 0, sh.epoch, 0)
		return
	}
	w.at(w.now+w.detection, evReplicaDetect, inst, 0, in.inc, 0)
}

// shardNodeUp reacts to a shard node coming back: a returning primary
// whose shard was not failed over resumes; any other copy rejoins.
func (w *World) shardNodeUp(inst int32) {
	in := &w.insts[inst]
	sh := &w.shards[in.shard]
	w.setBelieved(sh, inst, true)
	switch {
	case sh.lost && sh.oldPrim == inst:
		sh.lost, sh.detected, sh.promote = false, false, false
		sh.primary = inst
		sh.epoch++
		if sh.fault >= 0 {
			w.rec.FailoverDone(int(sh.fault), w.now, fmt.Sprintf("shard %d: primary back before promotion", in.shard))
		}
	case sh.lost && sh.detected && !sh.promote && sh.primary < 0:
		sh.promote = true
		w.at(w.now+w.promotion, evShardPromote, in.shard, 0, sh.epoch, 0)
	}
}

func (w *World) setBelieved(sh *shardState, inst int32, up bool) {
	for i, x := range sh.reps {
		if x == inst {
			sh.believed[i] = up
		}
	}
}

func (w *World) onShardDetect(shard int32, epoch uint32) {
	sh := &w.shards[shard]
	if sh.epoch != epoch || !sh.lost {
		return
	}
	sh.detected = true
	w.setBelieved(sh, sh.oldPrim, false)
	if sh.fault >= 0 && w.survivingCopy(sh) {
		w.rec.Detected(int(sh.fault), w.now, fmt.Sprintf("shard %d: primary failure detected", shard))
	}
	sh.promote = true
	w.at(w.now+w.promotion, evShardPromote, shard, 0, sh.epoch, 0)
}

// onShardPromote makes the nearest live copy primary. With async
// replication the writes it had not yet received are lost.
func (w *World) onShardPromote(shard int32, epoch uint32) {
	sh := &w.shards[shard]
	if sh.epoch != epoch || !sh.lost {
		return
	}
	sh.promote = false
	next := int32(-1)
	for _, in := range sh.reps {
		if in != sh.oldPrim && w.insts[in].alive(w) {
			next = in
			break
		}
	}
	if next < 0 {
		sh.primary = -1 // nothing to promote: wait for a copy to return
		return
	}
	if !w.syncRepl {
		behind := w.asyncLag + w.baseDelay(w.insts[sh.oldPrim].machine, w.insts[next].machine)
		if n, oldest := sh.acks.countFrom(sh.downAt - behind); n > 0 {
			w.rec.WritesLost(int(sh.fault), w.now, n, sh.downAt-oldest, fmt.Sprintf("shard %d, async copy was up to %s behind", shard, dur(behind)))
		}
	}
	sh.acks.clear(func(int64) {})
	sh.primary = next
	sh.lost, sh.detected = false, false
	sh.epoch++
	w.setBelieved(sh, next, true)
	sh.moved = sh.fault
	if sh.fault >= 0 {
		w.rec.FailoverDone(int(sh.fault), w.now, fmt.Sprintf("shard %d: promoted a copy on %s", shard, w.plan.Machines[w.insts[next].machine].Name))
	}
}

// firstMoved records the first operation a live router sends to the
// primary a failover promoted: the moment the failover moved user traffic.
func (w *World) firstMoved(shard int32, sh *shardState) {
	w.rec.Rerouted(int(sh.moved), w.now, fmt.Sprintf("shard %d: first request sent to the new primary on %s", shard, w.plan.Machines[w.insts[sh.primary].machine].Name))
	sh.moved = -1
}

func (w *World) onReplicaDetect(inst int32, inc uint32) {
	in := &w.insts[inst]
	if in.inc != inc || in.alive(w) {
		return
	}
	matters := in.fault >= 0 && w.copyMatters(inst)
	w.setBelieved(&w.shards[in.shard], inst, false)
	if matters {
		w.rec.Detected(int(in.fault), w.now, fmt.Sprintf("shard %d: copy on %s marked down", in.shard, w.plan.Machines[in.machine].Name))
	}
}
