package sim

import "github.com/stripelab/stripelab/scenarios"

// deadlineFIFO times out the calls made on one edge (a call site with one
// timeout). Deadlines are send time plus a constant, so they arrive almost
// in order (a gateway's call is registered when its CPU work starts, for
// when it ends) and one timer per edge suffices: when it fires it skips
// entries whose call already finished and times out the expired ones, then
// re-arms for the oldest call still waiting. A call that finishes in time
// costs no event at all.
type deadlineFIFO struct {
	fifo[deadline]
	id      int32
	timeout int64
	armed   bool
	armedAt int64
	armGen  uint32 // timers of older generations were superseded
}

type deadline struct {
	at    int64
	req   int32
	gen   uint32
	depth int8
	token uint16
}

// svcInfo is a service's calls with the deadline edge of each.
type svcInfo struct {
	calls []scenarios.CallPlan
	edges []int16
}

func (w *World) buildEdges() {
	w.edges = append(w.edges, deadlineFIFO{timeout: w.clientTimeout})
	w.upstreamEdge = 1
	w.edges = append(w.edges, deadlineFIFO{timeout: int64(w.sc.Stack.Gateway.Timeout)})
	w.svcs = make([]svcInfo, len(w.plan.Services))
	for i, sp := range w.plan.Services {
		w.svcs[i].calls = sp.Calls
		for _, c := range sp.Calls {
			w.svcs[i].edges = append(w.svcs[i].edges, int16(len(w.edges)))
			w.edges = append(w.edges, deadlineFIFO{timeout: int64(c.Timeout)})
		}
	}
	// the proxy's hop to the shard node times out like the call it serves
	n := len(w.edges)
	w.proxyEdge = make([]int16, n)
	for e := 0; e < n; e++ {
		w.proxyEdge[e] = int16(len(w.edges))
		w.edges = append(w.edges, deadlineFIFO{timeout: w.edges[e].timeout})
	}
	for i := range w.edges {
		w.edges[i].id = int32(i)
	}
}

// add registers a call that leaves at sendAt, keeping the FIFO sorted by
// deadline (an entry out of order moves back past the few later ones).
func (q *deadlineFIFO) add(w *World, sendAt int64, req int32, gen uint32, depth int8, token uint16) {
	at := sendAt + q.timeout
	q.push(deadline{at: at, req: req, gen: gen, depth: depth, token: token})
	mask := len(q.buf) - 1
	for i := q.size - 1; i > 0; i-- {
		cur, prev := &q.buf[(q.head+i)&mask], &q.buf[(q.head+i-1)&mask]
		if prev.at <= cur.at {
			break
		}
		*cur, *prev = *prev, *cur
	}
	if !q.armed || at < q.armedAt {
		q.arm(w, at)
	}
}

// arm sets the edge's timer for t; a timer set before is ignored when it
// fires. Timers take no sequence number (they sort before other events of
// their time), so arming one more or one less leaves every other event's
// order as it was: answers relayed ahead (relayAhead) end a wait earlier
// than its answer's arrival would, and can spare the timer a stop.
func (q *deadlineFIFO) arm(w *World, t int64) {
	q.armed, q.armedAt = true, t
	q.armGen++
	w.atSeq(0, t, evEdgeTimer, q.id, 0, q.armGen, 0)
}

func (w *World) onEdgeTimer(edge int32, gen uint32) {
	q := &w.edges[edge]
	if gen != q.armGen {
		return
	}
	q.armed = false
	for q.size > 0 {
		d := *q.peek()
		if w.stillWaiting(&d) {
			if d.at > w.now {
				q.arm(w, d.at)
				return
			}
			q.pop()
			w.timeout(d.req, int(d.depth))
			continue
		}
		q.pop()
	}
}

func (w *World) stillWaiting(d *deadline) bool {
	r := &w.reqs.recs[d.req]
	f := &r.frames[d.depth]
	return r.gen == d.gen && f.waiting && f.token == d.token
}

// timeout ends frame d's wait: the client records a timeout and may
// retry; an instance answers its own caller with an error. The call it
// gave up on keeps running (servers do not learn that callers left) while
// the error travels up.
func (w *World) timeout(ri int32, d int) {
	r := &w.reqs.recs[ri]
	f := &r.frames[d]
	f.waiting = false
	w.insts[r.frames[d+1].inst].outstanding--
	if d == 0 {
		w.finishAttempt(ri, stTimeout)
		return
	}
	in := &w.insts[f.inst]
	if f.inc != in.inc || w.machines[in.machine].down > 0 {
		w.chainEnd(ri) // the waiting instance itself is gone; its caller times out
		return
	}
	// the wait ends and an error starts up the chain: the count is unchanged
	w.observe(ri, d, stError, true)
	if w.fallsBack(ri, d) {
		w.continueFrame(ri, d)
		return
	}
	w.respondUp(ri, d, stError)
}
