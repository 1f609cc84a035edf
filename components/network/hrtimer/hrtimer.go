//go:build linux

// Package hrtimer wakes goroutines at sub-millisecond precision without
// spinning. An otherwise idle Go process waits for its next timer in
// epoll_wait, whose timeout counts whole milliseconds, so a 100us
// time.Sleep takes a millisecond or more; the topology's delays (20us on a
// machine, 100us in a rack, 250us in an AZ) and the load generator's gaps
// (1ms at 1000 requests/s) need better. One timerfd (CLOCK_MONOTONIC,
// nanoseconds) is armed for the earliest pending wake-up and read through
// Go's netpoller, so the waiting thread sleeps in the kernel and wakes when
// the timer expires. A single goroutine serves every waiter while any is
// pending and ends when none is. Each wake-up also has a runtime timer: a
// busy process checks those at every scheduling turn but polls the network
// only when a processor runs out of work (or every 10ms), so the timerfd
// is precise when the process idles and the runtime's timer when it is
// busy; whichever fires first wakes the waiter.
package hrtimer

import (
	"container/heap"
	"context"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

type entry struct {
	due   time.Time
	ch    chan struct{}
	index int         // in the heap; -1 once fired or stopped
	rt    *time.Timer // the runtime's timer for the same time
}

type entries []*entry

func (h entries) Len() int           { return len(h) }
func (h entries) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h entries) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entries) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entries) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

type service struct {
	mu      sync.Mutex
	fd      int
	f       *os.File
	pending entries
	running bool
	armed   time.Time
	err     error
}

var (
	once sync.Once
	svc  service
)

func get() *service {
	once.Do(func() {
		fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			svc.err = err
			return
		}
		svc.fd = fd
		svc.f = os.NewFile(uintptr(fd), "hrtimer")
	})
	return &svc
}

// arm sets the timerfd to expire after d (at least 1ns: zero disarms).
func (s *service) arm(d time.Duration) {
	d = max(d, time.Nanosecond)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	unix.TimerfdSettime(s.fd, 0, &spec, nil)
}

// Timer is one pending wake-up.
type Timer struct {
	C  <-chan struct{} // closed when the time has come
	e  *entry
	rt *time.Timer // without a timerfd: the runtime's timer
}

// After returns a channel closed once d has passed.
func After(d time.Duration) <-chan struct{} { return NewTimer(d).C }

// NewTimer starts a wake-up after d.
func NewTimer(d time.Duration) *Timer {
	ch := make(chan struct{})
	t := &Timer{C: ch}
	if d <= 0 {
		close(ch)
		return t
	}
	s := get()
	if s.err != nil {
		t.rt = time.AfterFunc(d, func() { close(ch) }) // no timerfd: the runtime's timers
		return t
	}
	due := time.Now().Add(d)
	e := &entry{due: due, ch: ch}
	t.e = e
	s.mu.Lock()
	heap.Push(&s.pending, e)
	e.rt = time.AfterFunc(d, func() { s.fire(e) })
	switch {
	case !s.running:
		s.running = true
		s.armed = due
		s.arm(d)
		go s.loop()
	case due.Before(s.armed):
		s.armed = due
		s.arm(d)
	}
	s.mu.Unlock()
	return t
}

// Stop cancels the wake-up if it has not come; the serving goroutine ends
// at once when nothing else is pending.
func (t *Timer) Stop() {
	if t.rt != nil {
		t.rt.Stop()
		return
	}
	if t.e == nil {
		return
	}
	svc.remove(t.e, false)
}

// fire is the runtime's timer of e: in a busy process the scheduler checks
// its timers at every turn but polls the network (and so the timerfd) only
// when it runs out of work or every 10ms, so whichever comes first wakes.
func (s *service) fire(e *entry) { s.remove(e, true) }

// remove takes e out of the heap (closing its channel when fire) if it is
// still pending, and wakes the loop to end when nothing else is.
func (s *service) remove(e *entry, fire bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.index < 0 {
		return
	}
	heap.Remove(&s.pending, e.index)
	e.index = -1
	if fire {
		close(e.ch)
	} else {
		e.rt.Stop()
	}
	if len(s.pending) == 0 && s.running {
		s.armed = time.Now()
		s.arm(time.Nanosecond) // wake the loop so it ends
	}
}

// Sleep waits d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// loop fires the due entries, arms the timer for the next, and waits for
// it in the netpoller; it ends when nothing is pending.
func (s *service) loop() {
	var buf [8]byte
	for {
		s.mu.Lock()
		now := time.Now()
		for len(s.pending) > 0 && !s.pending[0].due.After(now) {
			e := heap.Pop(&s.pending).(*entry)
			e.rt.Stop()
			close(e.ch)
		}
		if len(s.pending) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		next := s.pending[0].due
		if !next.Equal(s.armed) || !s.armed.After(now) {
			s.armed = next
			s.arm(next.Sub(now))
		}
		s.mu.Unlock()
		if _, err := s.f.Read(buf[:]); err != nil && err != os.ErrDeadlineExceeded {
			time.Sleep(time.Until(next)) // the fd failed: fall back to the runtime's timers
		}
	}
}
