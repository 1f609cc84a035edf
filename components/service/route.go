package service

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Endpoint is one instance discovery returns (discovery.Endpoint).
type Endpoint struct {
	Instance, Set int
	Addr          string // what this instance dials
}

// Resolver is the discovery client (discovery.Resolver): the cached live
// instances of a service in the scope stack.discovery.scope allows.
type Resolver interface {
	Instances(service int) []Endpoint
	Close()
}

// picker chooses an upstream instance: the less loaded of two drawn from
// the first non-empty tier of the resolver's list (own set, then the other
// sets of the city, then everything), load being this gateway's calls in
// flight to each instance, as the simulator's pick and p2c do (the gateway package has the same rule for its upstream).
type picker struct {
	res  Resolver
	set  int
	city []bool // city[s]: set s is in this instance's city

	mu   sync.Mutex
	rng  *rand.Rand
	load sync.Map // instance -> *atomic.Int64
}

func (p *picker) loadOf(inst int) *atomic.Int64 {
	if v, ok := p.load.Load(inst); ok {
		return v.(*atomic.Int64)
	}
	v, _ := p.load.LoadOrStore(inst, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// pick returns an instance of service and marks a call to it in flight;
// the caller calls done when the call ends. ok is false when discovery
// shows none.
func (p *picker) pick(service int) (ep Endpoint, done func(), ok bool) {
	all := p.res.Instances(service)
	var buf [32]Endpoint
	cand := buf[:0]
	for _, tier := range [...]func(Endpoint) bool{
		func(e Endpoint) bool { return e.Set == p.set },
		func(e Endpoint) bool { return e.Set >= 0 && e.Set < len(p.city) && p.city[e.Set] },
		func(Endpoint) bool { return true },
	} {
		for _, e := range all {
			if tier(e) {
				cand = append(cand, e)
			}
		}
		if len(cand) > 0 {
			break
		}
	}
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
