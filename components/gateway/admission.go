package gateway

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stripelab/stripelab/components/node"
)

// Shedding policies.
const (
	shedNone = iota
	shedPriority
	shedRandom
)

// admission is the gateway's `concurrency` slots and its bounded admission
// queue. Under priority shedding the queue is one FIFO per class served
// highest class first, a full queue pushes out the newest request of the
// lowest class below the arriving one, and a request's occupancy is the
// part of the queue it waits behind; otherwise it is one FIFO. It is the
// simulator's model (sim/gateway.go admit, sim/admission.go) with goroutines
// waiting instead of events.
type admission struct {
	clock    node.Clock
	conc     int
	capacity int
	timeout  time.Duration
	policy   int
	shedAt   [3]float64 // occupancy where each class starts being shed

	meter *node.Meter // the busy slots over time

	mu   sync.Mutex
	rng  *rand.Rand
	busy int
	q    [3]fifo // by class under priority shedding; else q[0] only
	n    int
}

// verdicts a waiting request is handed.
const (
	granted = iota
	evicted
	expired
)

type waiter struct {
	cls        int
	enq        time.Time
	done       chan int // one verdict, buffered
	prev, next *waiter
	queued     bool
}

// fifo is an intrusive doubly linked list of waiters, oldest at head.
type fifo struct {
	head, tail *waiter
	n          int
}

func (f *fifo) push(w *waiter) {
	w.prev, w.next = f.tail, nil
	if f.tail != nil {
		f.tail.next = w
	} else {
		f.head = w
	}
	f.tail = w
	f.n++
}

func (f *fifo) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		f.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		f.tail = w.prev
	}
	w.prev, w.next = nil, nil
	f.n--
}

func (a *admission) ring(cls int) *fifo {
	if a.policy != shedPriority {
		return &a.q[0]
	}
	return &a.q[cls]
}

// ahead counts the requests a new one of class cls would wait behind.
func (a *admission) ahead(cls int) int {
	if a.policy != shedPriority {
		return a.n
	}
	n := 0
	for k := 0; k <= cls; k++ {
		n += a.q[k].n
	}
	return n
}

// shed draws whether an arriving request of class cls is shed: with a
// probability rising from 0 at its class's threshold to 1 at a full queue.
func (a *admission) shed(cls int) bool {
	if a.policy == shedNone {
		return false
	}
	th := a.shedAt[cls]
	occ := 0.0
	if a.capacity > 0 {
		occ = float64(a.ahead(cls)) / float64(a.capacity)
	} else if a.busy >= a.conc {
		occ = 1
	}
	if occ < th || (occ == 0 && th == 0) {
		return false
	}
	p := 1.0
	if th < 1 {
		p = (occ - th) / (1 - th)
	}
	return p > 0 && a.rng.Float64() < p
}

// acquire takes a slot for a request of class cls, waiting in the queue if
// every slot is busy. It returns "" with the slot held, or the reason the
// request was shed: overload (the shedding draw), queue_full,
// queue_timeout (waited the queue's timeout), evicted (pushed out by a
// higher class) or deadline (ctx ended while it waited).
func (a *admission) acquire(ctx context.Context, cls int) string {
	a.mu.Lock()
	if a.shed(cls) {
		a.mu.Unlock()
		return "overload"
	}
	if a.busy < a.conc {
		a.busy++
		a.meter.Set(a.busy)
		a.mu.Unlock()
		return ""
	}
	if a.n >= a.capacity && !a.evictBelow(cls) {
		a.mu.Unlock()
		return "queue_full"
	}
	w := &waiter{cls: cls, enq: a.clock.Now(), done: make(chan int, 1), queued: true}
	a.ring(cls).push(w)
	a.n++
	a.mu.Unlock()
	return a.wait(ctx, w)
}

// evictBelow pushes out the newest waiting request of the lowest class
// below cls (priority shedding only) to make room; false when none is lower.
func (a *admission) evictBelow(cls int) bool {
	if a.policy != shedPriority {
		return false
	}
	for k := len(a.q) - 1; k > cls; k-- {
		if v := a.q[k].tail; v != nil {
			a.unqueue(v)
			v.done <- evicted
			return true
		}
	}
	return false
}

func (a *admission) unqueue(w *waiter) {
	a.ring(w.cls).remove(w)
	w.queued = false
	a.n--
}

func (a *admission) wait(ctx context.Context, w *waiter) string {
	var timer <-chan time.Time
	if a.timeout > 0 {
		timer = a.clock.After(a.timeout)
	}
	why := "queue_timeout"
	select {
	case v := <-w.done:
		return verdictReason(v)
	case <-timer:
	case <-ctx.Done():
		why = "deadline"
	}
	a.mu.Lock()
	if w.queued {
		a.unqueue(w)
		a.mu.Unlock()
		return why
	}
	a.mu.Unlock()
	return verdictReason(<-w.done) // handed a verdict meanwhile
}

func verdictReason(v int) string {
	switch v {
	case evicted:
		return "evicted"
	case expired:
		return "queue_timeout"
	}
	return ""
}

// release frees a slot: it goes to the oldest waiting request of the
// highest class, and requests found past the queue's timeout are shed.
func (a *admission) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	for a.n > 0 {
		w := a.head()
		a.unqueue(w)
		if a.timeout > 0 && now.Sub(w.enq) >= a.timeout {
			w.done <- expired
			continue
		}
		w.done <- granted // the slot passes on: busy is unchanged
		return
	}
	a.busy--
	a.meter.Set(a.busy)
}

// head is the request served next: the oldest of the highest class.
func (a *admission) head() *waiter {
	for k := range a.q {
		if a.q[k].head != nil {
			return a.q[k].head
		}
	}
	return nil
}

// depth is how many requests of class cls wait (all of them when the
// queue is one FIFO and cls is 0).
func (a *admission) depth(cls int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.q[cls].n
}

// queued is how many requests wait, every class.
func (a *admission) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

func (a *admission) inFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.busy
}
