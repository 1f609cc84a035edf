package sim

import "github.com/stripelab/stripelab/scenarios"

// waitQueue holds an instance's calls waiting for a thread. It is one FIFO,
// except at a gateway under priority shedding, where it is one FIFO per
// priority class served highest class first: a high-priority request
// waits only behind high-priority ones, so the admission queue's wait
// limit and a full queue fall on the lowest classes first.
type waitQueue struct {
	fifo  ring
	byCls []ring // per priority (high first); nil for a single FIFO
	n     int
}

func (q *waitQueue) len() int { return q.n }

// ring is the FIFO of class cls.
func (q *waitQueue) ring(cls uint8) *ring {
	if q.byCls == nil {
		return &q.fifo
	}
	return &q.byCls[cls]
}

func (q *waitQueue) push(x work, cls uint8) {
	q.ring(cls).push(x)
	q.n++
}

// pop takes the oldest call of the highest class waiting.
func (q *waitQueue) pop() work {
	q.n--
	if q.byCls == nil {
		return q.fifo.pop()
	}
	for k := range q.byCls {
		if q.byCls[k].len() > 0 {
			return q.byCls[k].pop()
		}
	}
	panic("sim: pop from an empty wait queue")
}

// ahead counts the calls a new call of class cls would wait behind: all of
// them in a single FIFO, those of its class and higher ones by class.
func (q *waitQueue) ahead(cls uint8) int {
	if q.byCls == nil {
		return q.n
	}
	n := 0
	for k := 0; k <= int(cls); k++ {
		n += q.byCls[k].len()
	}
	return n
}

// oldest is the class whose head waited longest (-1 when empty); the
// lower class wins a tie, as it would be served later.
func (q *waitQueue) oldest() int {
	if q.n == 0 {
		return -1
	}
	if q.byCls == nil {
		return 0
	}
	best := -1
	for k := len(q.byCls) - 1; k >= 0; k-- {
		if r := &q.byCls[k]; r.len() > 0 && (best < 0 || r.peek().enq < q.byCls[best].peek().enq) {
			best = k
		}
	}
	return best
}

// popClass takes the oldest call of class cls.
func (q *waitQueue) popClass(cls int) work {
	q.n--
	return q.ring(uint8(cls)).pop()
}

// evictBelow takes the newest call of the lowest class below cls, to make
// room for a call of class cls in a full queue; false when none is lower.
func (q *waitQueue) evictBelow(cls uint8) (work, bool) {
	for k := len(q.byCls) - 1; k > int(cls); k-- {
		if q.byCls[k].len() > 0 {
			q.n--
			return q.byCls[k].popNewest(), true
		}
	}
	return work{}, false
}

func (q *waitQueue) clear(each func(work)) {
	q.fifo.clear(each)
	for k := range q.byCls {
		q.byCls[k].clear(each)
	}
	q.n = 0
}

// queueCall puts a call arriving at frame d of instance inst in its wait
// queue, or answers it when the queue is full: a gateway sheds it, unless
// under priority shedding it can push out a call of a lower class (the
// newest of the lowest), which is shed instead; others answer an error.
func (w *World) queueCall(ri int32, d int, inst int32) {
	in := &w.insts[inst]
	cls := w.reqs.recs[ri].prio
	gateway := in.role == scenarios.RoleGateway
	if in.q.len() >= int(in.qcap) {
		if w.measured(w.now) {
			in.qc.rejected++
		}
		if !gateway {
			w.sendUp(ri, d, stError)
			return
		}
		x, ok := in.q.evictBelow(cls)
		if !ok {
			w.sendUp(ri, d, stShed)
			return
		}
		w.leftQueue(in, x)
		w.sendUp(x.req, int(x.depth), stShed)
	}
	if m := &w.machines[in.machine]; len(m.holds) > 0 {
		w.demote(m) // the queued request starts when a hold ends
	}
	if w.measured(w.now) {
		in.qc.waited++
	}
	in.q.push(work{req: ri, depth: int8(d), enq: w.now}, cls)
	if gateway && w.gwQueueTimeout > 0 && !in.gwTimer {
		in.gwTimer = true
		w.at(w.now+w.gwQueueTimeout, evGwTimer, inst, 0, in.inc, 0)
	}
}

// onGwTimer sheds the requests that waited too long in a gateway's queue,
// oldest first, and arms the timer for the next one to expire.
func (w *World) onGwTimer(inst int32, inc uint32) {
	in := &w.insts[inst]
	if inc != in.inc {
		return
	}
	in.gwTimer = false
	for k := in.q.oldest(); k >= 0; k = in.q.oldest() {
		x := in.q.ring(uint8(k)).peek()
		if x.enq+w.gwQueueTimeout > w.now {
			in.gwTimer = true
			w.at(x.enq+w.gwQueueTimeout, evGwTimer, inst, 0, in.inc, 0)
			return
		}
		y := in.q.popClass(k)
		w.leftQueue(in, y)
		w.expire(in, y)
	}
}

// leftQueue adds the time call x spent in in's queue, now it leaves it.
func (w *World) leftQueue(in *instance, x work) {
	if w.measured(x.enq) {
		in.qc.waitNS += w.now - x.enq
	}
}

// expire sheds call x, which waited past the gateway's wait limit.
func (w *World) expire(in *instance, x work) {
	if w.measured(x.enq) {
		in.qc.expired++
	}
	w.sendUp(x.req, int(x.depth), stShed)
}
