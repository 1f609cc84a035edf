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
// pending and ends when none is.
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
	index int // in the heap; -1 once fired or stopped
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
	t.e = &entry{due: due, ch: ch}
	s.mu.Lock()
	heap.Push(&s.pending, t.e)
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
	s := &svc
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.e.index < 0 {
		return
	}
	heap.Remove(&s.pending, t.e.index)
	t.e.index = -1
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
			close(heap.Pop(&s.pending).(*entry).ch)
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
