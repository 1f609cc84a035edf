package sim

import (
	"github.com/stripelab/stripelab/internal/draw"
	"github.com/stripelab/stripelab/scenarios"
)

// setState is the per-set state of the gateway: one token bucket per
// priority, shared by the set's gateway instances, and the shedding draw.
type setState struct {
	buckets [3]bucket
	shed    *rng
	gws     []int32 // gateway instances of the set
}

// Shedding policies.
const (
	shedNone = iota
	shedPriority
	shedRandom
)

// bucket is a token bucket refilled lazily; tokens are fractional.
type bucket struct {
	perNS  float64 // tokens per ns; 0 means unlimited
	burst  float64
	tokens float64
	last   int64
}

func (b *bucket) take(now int64) bool {
	if b.perNS == 0 {
		return true
	}
	b.tokens = min(b.burst, b.tokens+float64(now-b.last)*b.perNS)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (w *World) buildSets() {
	rl := w.sc.Stack.Gateway.RateLimit
	w.sets = make([]setState, len(w.plan.Sets))
	for i := range w.sets {
		s := &w.sets[i]
		s.shed = newStream(w.seed, draw.StreamShedding+uint64(i))
		for p, r := range [3]scenarios.Rate{rl.High, rl.Normal, rl.Low} {
			if r > 0 {
				perNS := float64(r) / 1e9
				burst := max(1, perNS*float64(rl.Burst))
				s.buckets[p] = bucket{perNS: perNS, burst: burst, tokens: burst}
			}
		}
	}
	for i := range w.insts {
		if in := &w.insts[i]; in.role == scenarios.RoleGateway {
			w.sets[in.set].gws = append(w.sets[in.set].gws, int32(i))
		}
	}
}

// admit applies the gateway's rate limit and shedding policy to a request
// arriving at gateway instance inst. The occupancy it sheds by is the part
// of the queue the request would wait behind (waitQueue.ahead): under
// priority shedding, requests of its class and higher.
func (w *World) admit(ri int32, inst int32) status {
	r := &w.reqs.recs[ri]
	in := &w.insts[inst]
	set := &w.sets[in.set]
	if !set.buckets[r.prio].take(w.now) {
		return stRateLimited
	}
	if w.shedPolicy == shedNone {
		return stOK
	}
	threshold := w.shedAt[r.prio]
	occ := 1.0
	if m := &w.machines[in.machine]; in.qcap == 0 && in.busy >= in.conc && len(m.holds) > 0 {
		w.settle(m)
	}
	if in.qcap > 0 {
		occ = float64(in.q.ahead(r.prio)) / float64(in.qcap)
	} else if in.busy < in.conc {
		occ = 0
	}
	if occ < threshold || (occ == 0 && threshold == 0) {
		return stOK
	}
	// drop with a probability rising from 0 at the threshold to 1 when full
	p := 1.0
	if threshold < 1 {
		p = (occ - threshold) / (1 - threshold)
	}
	if p > 0 && set.shed.Float64() < p {
		return stShed
	}
	return stOK
}

// command is what the client and the gateway do with one command: its
// priority, the service it goes to, its chance of writing, and the
// client's timeout (its deadline edge) and retries.
type command struct {
	prio    uint8
	svc     int32
	write   float64
	timeout int64
	retries int
	edge    int16 // the client's deadline edge
	// relayOK: the gateway waits at least as long as the client (see relayAhead)
	relayOK bool
	// data operations of the command routed to a shard primary, and to
	// another copy (CommandDataOps)
	primaryOps, copyOps int64
}

// CommandDataOps counts the data operations of command c (an index into
// the plan's commands; 0 without commands) routed to a shard's primary
// and to its other copies so far.
func (w *World) CommandDataOps(c int) (primary, other int64) {
	return w.cmds[c].primaryOps, w.cmds[c].copyOps
}

// buildCommands resolves the plan's commands; without any, one command
// stands for every request (its priority and write draw are the mixes').
// Each command's client edge is edge 0 when its timeout is the client's,
// else one of its own appended after the others, so the edges of a
// scenario without commands are as they always were.
func (w *World) buildCommands() {
	gwTimeout := int64(w.sc.Stack.Gateway.Timeout)
	if len(w.plan.Commands) == 0 {
		w.cmds = []command{{svc: w.gatewaySvc, timeout: w.clientTimeout, retries: w.sc.Workload.Client.Retries, relayOK: w.relayOK}}
		return
	}
	for _, cp := range w.plan.Commands {
		c := command{prio: uint8(cp.Priority), svc: int32(cp.Service), write: cp.Write, timeout: int64(cp.Timeout), retries: cp.Retries}
		c.relayOK = gwTimeout >= c.timeout
		if c.timeout != w.clientTimeout {
			c.edge = int16(len(w.edges))
			w.edges = append(w.edges, deadlineFIFO{id: int32(len(w.edges)), timeout: c.timeout})
		}
		w.cmds = append(w.cmds, c)
	}
}
