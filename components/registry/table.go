package registry

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/stripelab/stripelab/components/node"
)

// Table is one registry copy's leases: an instance is listed from its
// registration until one TTL after its last heartbeat, when it expires.
type Table struct {
	clock  node.Clock
	ttl    time.Duration
	events *node.Events

	mu      sync.Mutex
	leases  map[int]*lease
	next    time.Time     // the earliest deadline the expiry loop waits for
	wake    chan struct{} // an earlier deadline arrived
	expired func(inst int)
}

type lease struct {
	service, set int
	deadline     time.Time
}

// NewTable returns an empty table whose leases last ttl. events, when not
// nil, receives EvRegistered and EvExpired.
func NewTable(clock node.Clock, ttl time.Duration, events *node.Events) *Table {
	if clock == nil {
		clock = node.RealClock{}
	}
	return &Table{clock: clock, ttl: ttl, events: events, leases: map[int]*lease{}, wake: make(chan struct{}, 1)}
}

// Register takes or renews inst's lease; it reports whether the lease is
// new (inst was not listed).
func (t *Table) Register(inst, service, set int) bool {
	return t.put(inst, service, set, t.ttl, true)
}

// Adopt takes a lease with what is left of it on a sibling copy (sync at
// start); it emits nothing.
func (t *Table) Adopt(inst, service, set int, left time.Duration) {
	t.put(inst, service, set, left, false)
}

func (t *Table) put(inst, service, set int, left time.Duration, emit bool) bool {
	now := t.clock.Now()
	t.mu.Lock()
	l, ok := t.leases[inst]
	lapsed := ok && !now.Before(l.deadline) // due, not swept yet: expire it first
	isNew := !ok || lapsed
	if !ok {
		l = &lease{}
		t.leases[inst] = l
	}
	l.service, l.set, l.deadline = service, set, now.Add(left)
	earlier := t.next.IsZero() || l.deadline.Before(t.next)
	t.mu.Unlock()
	if lapsed {
		t.expire(inst)
	}
	if isNew && emit {
		t.events.Emit(node.EvRegistered, inst, 0, "")
	}
	if earlier {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	return isNew
}

// Heartbeat renews inst's lease; false when inst holds none (never
// registered, or expired: it must register again).
func (t *Table) Heartbeat(inst int) bool {
	now := t.clock.Now()
	t.mu.Lock()
	l, ok := t.leases[inst]
	if ok && now.Before(l.deadline) {
		l.deadline = now.Add(t.ttl)
		t.mu.Unlock()
		return true
	}
	delete(t.leases, inst)
	t.mu.Unlock()
	if ok {
		t.expire(inst)
	}
	return false
}

// Deregister drops inst's lease; false when it held none.
func (t *Table) Deregister(inst int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.leases[inst]
	delete(t.leases, inst)
	return ok
}

// List returns the live leases that keep says to keep, by instance.
func (t *Table) List(keep func(inst, service, set int) bool) []Entry {
	now := t.clock.Now()
	t.mu.Lock()
	out := make([]Entry, 0, len(t.leases))
	for inst, l := range t.leases {
		if now.Before(l.deadline) && (keep == nil || keep(inst, l.service, l.set)) {
			out = append(out, Entry{Instance: inst, Service: l.service, Set: l.set, ExpiresInMs: l.deadline.Sub(now).Milliseconds()})
		}
	}
	t.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return out[a].Instance < out[b].Instance })
	return out
}

// Len is the number of live leases.
func (t *Table) Len() int { return len(t.List(nil)) }

// Run expires leases at their deadlines until ctx ends.
func (t *Table) Run(ctx context.Context) {
	for {
		d := t.sweep()
		var timer <-chan time.Time
		if d > 0 {
			timer = t.clock.After(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-timer:
		}
	}
}

// sweep expires the leases past their deadline and returns how long until
// the next one is due (0: none).
func (t *Table) sweep() time.Duration {
	now := t.clock.Now()
	var gone []int
	t.mu.Lock()
	t.next = time.Time{}
	for inst, l := range t.leases {
		if !now.Before(l.deadline) {
			gone = append(gone, inst)
			delete(t.leases, inst)
		} else if t.next.IsZero() || l.deadline.Before(t.next) {
			t.next = l.deadline
		}
	}
	next := t.next
	t.mu.Unlock()
	sort.Ints(gone)
	for _, inst := range gone {
		t.expire(inst)
	}
	if next.IsZero() {
		return 0
	}
	return next.Sub(now)
}

func (t *Table) expire(inst int) {
	t.events.Emit(node.EvExpired, inst, 0, "")
	if t.expired != nil {
		t.expired(inst)
	}
}
