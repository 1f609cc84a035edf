package sim

import (
	"github.com/stripelab/stripelab/scenarios"
)

// Breaker states.
const (
	brClosed = iota
	brOpen
	brHalfOpen
)

var breakerStateNames = [...]string{"closed", "open", "half-open"}

// breakerCfg is stack.resilience.breaker in ns.
type breakerCfg struct {
	service     bool // one breaker per caller and target service
	consecutive int32
	rate        float64
	window      int32
	minCalls    int32
	sleep       int64
	probes      int32
	slowCall    int64 // 0: no slow-call threshold
	slowRate    float64
}

func newBreakerCfg(b *scenarios.Breaker) *breakerCfg {
	return &breakerCfg{service: b.Level == "service", consecutive: int32(b.ConsecutiveErrors), rate: b.ErrorRate.Fraction(),
		window: int32(b.Window), minCalls: int32(b.MinCalls), sleep: int64(b.Sleep), probes: int32(b.Probes),
		slowCall: int64(b.SlowCall), slowRate: b.SlowRate.Fraction()}
}

// breaker is one circuit breaker: a pure state machine driven by its
// caller (usable, take, record), so that it can be tested against its
// definition alone.
type breaker struct {
	state    uint8
	consec   int32  // errors in a row (closed)
	ring     []bool // the latest window outcomes, true for an error
	slowRing []bool // the same calls, true for a slow one
	head, n  int32
	fails    int32 // errors in ring
	slows    int32 // slow calls in slowRing
	openedAt int64
	sent     int32 // probes let through (half-open)
	passed   int32 // probes that succeeded
}

// usable reports whether a call may go now; an open breaker whose sleep
// has passed turns half-open (changed reports it).
func (b *breaker) usable(c *breakerCfg, now int64) (ok, changed bool) {
	switch b.state {
	case brOpen:
		if now < b.openedAt+c.sleep {
			return false, false
		}
		b.state, b.sent, b.passed = brHalfOpen, 0, 0
		changed = true
		fallthrough
	case brHalfOpen:
		return b.sent < c.probes, changed
	}
	return true, false
}

// take counts a call let through (a probe when half-open).
func (b *breaker) take() {
	if b.state == brHalfOpen {
		b.sent++
	}
}

// record counts the outcome of a call and returns whether the state
// changed; slow is whether it took slow_call or longer.
func (b *breaker) record(c *breakerCfg, now int64, failed, slow bool) bool {
	switch b.state {
	case brHalfOpen:
		if failed || slow {
			b.open(now)
			return true
		}
		b.passed++
		if b.passed >= c.probes {
			b.state, b.consec = brClosed, 0
			b.head, b.n, b.fails, b.slows = 0, 0, 0, 0
			return true
		}
		return false
	case brOpen:
		return false // an answer to a call made before it opened
	}
	if failed {
		b.consec++
	} else {
		b.consec = 0
	}
	if c.rate > 0 || c.slowCall > 0 {
		if b.ring == nil {
			b.ring, b.slowRing = make([]bool, c.window), make([]bool, c.window)
		}
		if b.n == c.window {
			if b.ring[b.head] {
				b.fails--
			}
			if b.slowRing[b.head] {
				b.slows--
			}
		} else {
			b.n++
		}
		b.ring[b.head], b.slowRing[b.head] = failed, slow
		if failed {
			b.fails++
		}
		if slow {
			b.slows++
		}
		b.head = (b.head + 1) % c.window
	}
	full := b.n >= c.minCalls
	if (c.consecutive > 0 && b.consec >= c.consecutive) ||
		(c.rate > 0 && full && float64(b.fails) >= c.rate*float64(b.n)) ||
		(c.slowCall > 0 && full && float64(b.slows) >= c.slowRate*float64(b.n)) {
		b.open(now)
		return true
	}
	return false
}

func (b *breaker) open(now int64) {
	b.state, b.openedAt, b.consec = brOpen, now, 0
	b.head, b.n, b.fails, b.slows = 0, 0, 0, 0
}

// breakerKey names the breaker of a caller instance for a target
// instance, or (service level) for a target service.
func (w *World) breakerKey(caller, target int32) uint64 {
	t := uint64(uint32(target))
	if w.brk.service {
		t = 1<<32 | uint64(uint32(w.insts[target].svc))
	}
	return uint64(uint32(caller))<<33 | t
}

func (w *World) breakerOf(key uint64) *breaker {
	b := w.breakers[key]
	if b == nil {
		b = &breaker{}
		w.breakers[key] = b
	}
	return b
}

// breakerEvent records a breaker's change of state in the timeline.
func (w *World) breakerEvent(b *breaker, caller, target int32) {
	what := w.instName(target)
	if w.brk.service {
		what = "service " + w.plan.Services[w.insts[target].svc].Name
	}
	f := w.faultAt(target)
	w.rec.Event(w.now, "breaker-"+breakerStateNames[b.state], f, "%s's breaker for %s is %s",
		w.instName(caller), what, breakerStateNames[b.state])
	if f >= 0 && b.state == brOpen {
		w.rec.Detected(f, w.now, w.instName(caller)+"'s breaker opened on "+what)
	}
}
