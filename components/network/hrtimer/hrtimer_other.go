//go:build !linux

package hrtimer

import (
	"context"
	"time"
)

// After returns a channel closed once d has passed (the runtime's timers).
func After(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// Sleep waits d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
