package discovery

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/stripelab/stripelab/scenarios"
)

// Picker chooses an instance to call: the less loaded of two drawn from
// Candidates (own set, then the other sets of the city, then everything,
// as the scope allows), load being this caller's calls in flight to each
// instance, as the simulator's pick and p2c do. The gateway picks its
// upstream with it, a service its downstream services.
type Picker struct {
	res  Resolver
	plan *scenarios.Plan
	set  int

	mu   sync.Mutex
	rng  *rand.Rand
	load sync.Map // instance -> *atomic.Int64
}

// NewPicker picks from res's lists for a caller in set, drawing from rng.
func NewPicker(res Resolver, plan *scenarios.Plan, set int, rng *rand.Rand) *Picker {
	return &Picker{res: res, plan: plan, set: set, rng: rng}
}

func (p *Picker) loadOf(inst int) *atomic.Int64 {
	if v, ok := p.load.Load(inst); ok {
		return v.(*atomic.Int64)
	}
	v, _ := p.load.LoadOrStore(inst, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// Pick returns an instance of service and marks a call to it in flight;
// the caller calls done when the call ends. ok is false when discovery
// shows none.
func (p *Picker) Pick(service int) (ep Endpoint, done func(), ok bool) {
	cand := Candidates(p.plan, p.set, p.res.Instances(service))
	if len(cand) == 0 {
		return Endpoint{}, nil, false
	}
	ep = cand[0]
	if len(cand) > 1 {
		p.mu.Lock()
		a, b := cand[p.rng.IntN(len(cand))], cand[p.rng.IntN(len(cand))]
		p.mu.Unlock()
		ep = a
		if p.loadOf(b.Instance).Load() < p.loadOf(a.Instance).Load() {
			ep = b
		}
	}
	l := p.loadOf(ep.Instance)
	l.Add(1)
	return ep, func() { l.Add(-1) }, true
}
