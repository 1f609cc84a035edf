package service

import (
	"context"
	"sync"

	"github.com/stripelab/stripelab/components/node"
)

// slots is a service's threads and its bounded FIFO queue: a request that
// finds every thread busy waits unless `queue` are waiting already, and
// then it gets an error (the simulator's queueCall for a non-gateway).
type slots struct {
	conc, capacity int
	meter          *node.Meter // the busy threads over time (nil: not kept)

	mu   sync.Mutex
	busy int
	q    []chan struct{} // waiters, oldest first; closed when handed a thread
}

// Why acquire failed.
const (
	queueFull = "queue_full"
	deadline  = "deadline"
)

// acquire takes a thread, waiting in the queue; "" when held, else why
// not: queue_full, or deadline when ctx ended while it waited.
func (s *slots) acquire(ctx context.Context) string {
	s.mu.Lock()
	if s.busy < s.conc {
		s.busy++
		s.metered()
		s.mu.Unlock()
		return ""
	}
	if len(s.q) >= s.capacity {
		s.mu.Unlock()
		return queueFull
	}
	ch := make(chan struct{})
	s.q = append(s.q, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return ""
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.q {
		if c == ch {
			s.q = append(s.q[:i], s.q[i+1:]...)
			return deadline
		}
	}
	return "" // handed a thread as it gave up: keep it
}

// release hands the thread to the oldest waiter, or frees it.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) > 0 {
		close(s.q[0])
		s.q = s.q[1:]
		return
	}
	s.busy--
	s.metered()
}

// metered passes the busy count to the meter; s.mu is held.
func (s *slots) metered() {
	if s.meter != nil {
		s.meter.Set(s.busy)
	}
}

func (s *slots) depth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}

func (s *slots) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}
