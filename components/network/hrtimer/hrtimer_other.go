//go:build !linux

package hrtimer

import (
	"context"
	"time"
)

// Timer is one pending wake-up (the runtime's timers).
type Timer struct {
	C  <-chan struct{}
	rt *time.Timer
}

// NewTimer starts a wake-up after d.
func NewTimer(d time.Duration) *Timer {
	ch := make(chan struct{})
	return &Timer{C: ch, rt: time.AfterFunc(d, func() { close(ch) })}
}

// Stop cancels the wake-up if it has not come.
func (t *Timer) Stop() { t.rt.Stop() }

// After returns a channel closed once d has passed.
func After(d time.Duration) <-chan struct{} { return NewTimer(d).C }

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
