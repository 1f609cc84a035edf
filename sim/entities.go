package sim

import (
	"github.com/stripelab/stripelab/internal/draw"
	"github.com/stripelab/stripelab/scenarios"
)

// machine is a host: its cores run the CPU part of every instance on it.
type machine struct {
	// read on every request first
	cores, busy         int32
	down                int32 // active down faults
	epoch               uint8 // bumped when it crashes
	slow                float64
	city, az, rack, set int32
	// holds are leaf work answered ahead (see answerEarly): their threads
	// and cores count as busy until they end and are released lazily.
	holds []hold
	runq  ring
	fault int32 // the fault that last took it down, for attribution
	iso   int32 // the active machine fault on it, for isolation (with resilience policies)
	insts []int32
}

// hold is a thread or core held by work settled ahead: a leaf's whose
// answer is scheduled, a gateway's whose forward is, or a gateway's whose
// answer to the client is already computed.
type hold struct {
	start int64 // holdArrive: when the call arrives
	end   int64
	seq   uint64 // holdWork, holdArrive: the leaf's first reserved number; else the event's
	req   int32
	inst  int32
	d     int8
	kind  uint8
}

const (
	holdWork       = iota // a leaf's thread and core until its work ends
	holdArrive            // the same for a call to a leaf that has not arrived yet
	holdCore              // a gateway's core until its work ends (the thread stays with the call)
	holdThread            // a gateway's thread until the answer it relayed ahead reaches it
	holdArriveWork        // a service's thread and core from its call's sending to its arrival (then its CPU event owns them)
)

// endSeq is the sequence number of the event that would end the hold.
func (h *hold) endSeq() uint64 {
	if h.kind == holdWork || h.kind == holdArrive {
		return h.seq + seqCPU
	}
	return h.seq
}

// instance is one process: a gateway, service, proxy, shard node or
// registry. Fields read on every request come first, to share cache lines.
type instance struct {
	role     scenarios.Role
	leaf     bool // answers its caller without calling anyone: a service without calls, a shard node
	gwTimer  bool // a gateway queue timer is pending
	reg      bool // registered in the registry (registry mode)
	regPend  bool // waiting for the registry to come back to (de)register
	off      bool // a scaling slot not running: never started, starting, or stopped
	draining bool // out of discovery, still serving until its grace ends
	ran      bool // a scaling slot that has been started at least once
	machine  int32
	set      int32
	svc      int32 // service index, or -1
	shard    int32 // shard index, or -1
	conc     int32
	busy     int32
	qcap     int32
	procDown int32 // active process-level faults (gateway-down, service-down, shard-primary-down)
	inc      uint32
	// outstanding counts calls in flight to this instance, as callers see
	// them; balancers prefer the instance with fewer. Answers relayed ahead
	// take theirs off at the times in pend (see outstandingNow).
	outstanding int32
	pend        []pending
	rng         *rng
	samp        sampler
	q           waitQueue
	fault       int32 // the fault that last stopped it
	diedAt      int64
	hbPhase     int64
	caches      []cacheRef
	qc          queueCounters
}

func (in *instance) alive(w *World) bool {
	return in.procDown == 0 && w.machines[in.machine].down == 0 && !in.off
}

// pending is a decrement due at the time of an event that was not pushed.
type pending struct {
	t   int64
	seq uint64
}

// work is a request waiting in an instance queue or a machine run queue.
type work struct {
	req   int32
	depth int8
	inc   uint32 // instance incarnation when queued (run queue only)
	enq   int64
}

// ring is a FIFO of work: an instance queue or a machine run queue.
type ring = fifo[work]

func (w *World) buildMachines() {
	p := w.plan
	w.machines = make([]machine, len(p.Machines))
	for i, m := range p.Machines {
		w.machines[i] = machine{city: int32(m.City), az: int32(m.AZ), rack: int32(m.Rack), set: int32(m.Set), cores: int32(m.Cores), slow: 1, fault: -1}
	}
}

func (w *World) buildInstances() {
	p := w.plan
	st := &w.sc.Stack
	w.insts = make([]instance, len(p.Instances))
	for i, pi := range p.Instances {
		in := &w.insts[i]
		*in = instance{role: pi.Role, svc: int32(pi.Service), shard: int32(pi.Shard), machine: int32(pi.Machine), set: int32(pi.Set), fault: -1,
			reg: !pi.Reserve, off: pi.Reserve, ran: !pi.Reserve}
		switch pi.Role {
		case scenarios.RoleGateway:
			in.conc, in.qcap = int32(st.Gateway.Concurrency), int32(st.Gateway.Queue.Capacity)
			if w.shedPolicy == shedPriority {
				in.q.byCls = make([]ring, len(scenarios.PriorityNames))
			}
			in.samp = sampler{kind: distConstant, mean: float64(w.gwCost + w.authCost)}
		case scenarios.RoleService:
			sv := st.Services[pi.Service]
			in.conc, in.qcap = int32(sv.Concurrency), int32(sv.Queue)
			in.samp = newSampler(sv.ServiceTime)
		case scenarios.RoleProxy:
			in.conc, in.qcap = int32(st.Data.Proxy.Concurrency), nodeQueue
			in.samp = sampler{kind: distConstant, mean: float64(w.proxyCost)}
		case scenarios.RoleShard:
			in.conc, in.qcap = int32(st.Data.Concurrency), nodeQueue
			in.samp = w.dataSampler
		case scenarios.RoleRegistry:
			in.conc, in.qcap = 1, 0
		}
		in.leaf = pi.Role == scenarios.RoleShard || (pi.Role == scenarios.RoleService && len(p.Services[pi.Service].Calls) == 0)
		if in.samp.kind != distConstant {
			in.rng = newStream(w.seed, draw.StreamService+uint64(i))
		}
		w.machines[pi.Machine].insts = append(w.machines[pi.Machine].insts, int32(i))
	}
}

// nodeQueue is how many operations a shard node or data proxy lets wait.
const nodeQueue = 1000

// request is one attempt of a user's request with the chain of frames it
// holds: frame 0 is the client, frame d the instance handling it at depth d.
type request struct {
	// the header fills one 64-byte cache line and the record four
	gen     uint32
	refs    int16 // live chains (events or queue entries) using this record
	attempt uint8
	prio    uint8
	write   bool  // the workload chose a write
	did     uint8 // what the attempt did: didCross, didCrossSet, didWrite
	op      uint8 // current data operation: opRead or opWrite
	cmd     uint8 // the command (index into World.cmds)
	city    int16
	// spec numbers the answers scheduled ahead on this record; it is never
	// reset, so an early answer turned stale never matches a later one.
	spec  uint16
	user  int32
	home  int32 // home set
	shard int32
	// a chain has one leaf working at a time (calls are sequential and a
	// caller that gave up makes no new call); its answer's network jitter
	// (a fraction of 2^32) and queue sequence number are drawn when its
	// work starts, so that answering ahead or not gives the same run
	leafJit  uint32
	leafCost int64 // ns
	send     int64 // intended send time of the first attempt
	start    int64 // this attempt's start
	leafSeq  uint64
	frames   [scenarios.MaxDepth]frame
}

const (
	opRead = iota
	opWrite
)

// Bits of request.did.
const (
	didCross    = 1 << iota // a hop left the user's city
	didCrossSet             // a hop left the user's home set
	didWrite                // a shard primary acknowledged a write of this attempt
)

// frame is one level of a request's chain.
type frame struct {
	inst    int32
	inc     uint32 // the instance's incarnation when the frame began
	token   uint16 // bumped at every new wait, so stale timers are ignored
	next    uint8  // index of the next downstream call (service frames)
	pre     bool   // a leaf frame whose answer is prepared: request.leafJit, leafSeq
	edge    int16  // the deadline edge of the call being waited on
	waiting bool
	prep    bool // its CPU work is prepared: request.leafCost, leafSeq
}

// reqPool is a slab of request records with a free list: no allocation
// per request once it has grown to the peak number in flight.
type reqPool struct {
	recs []request
	free int32
	live int
	peak int
}

// get returns a fresh record. It may grow the slab: pointers to records
// must not be held across a call to get.
func (p *reqPool) get() int32 {
	if len(p.recs) == 0 {
		p.recs = append(p.recs, request{}) // index 0 means "none"
	}
	var i int32
	if p.free != 0 {
		i = p.free
		p.free = p.recs[i].frames[scenarios.MaxDepth-1].inst // the free list's link while free
	} else {
		p.recs = append(p.recs, request{})
		i = int32(len(p.recs) - 1)
	}
	// only the header is reset: a frame is always written before it is
	// read (the caller sets frame d+1 when it calls down)
	r := &p.recs[i]
	fr0 := r.frames[0]
	r.gen++
	r.refs, r.attempt, r.prio, r.write, r.did, r.cmd = 0, 0, 0, false, 0, 0
	r.city, r.user, r.home, r.shard, r.send, r.start, r.op = 0, 0, 0, 0, 0, 0, 0
	r.frames[0] = frame{token: fr0.token}
	p.live++
	p.peak = max(p.peak, p.live)
	return i
}

func (p *reqPool) put(i int32) {
	r := &p.recs[i]
	r.gen++
	r.frames[scenarios.MaxDepth-1].inst = p.free
	p.free = i
	p.live--
}
