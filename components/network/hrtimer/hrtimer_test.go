package hrtimer

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestAfterNeverEarly: every wake-up comes at or after its time, in any
// order of requests.
func TestAfterNeverEarly(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 200 {
		d := time.Duration(i%17) * 37 * time.Microsecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			<-After(d)
			if el := time.Since(t0); el < d {
				t.Errorf("woke after %v, asked %v", el, d)
			}
		}()
	}
	wg.Wait()
}

func TestSleepCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("a cancelled sleep of an hour reported it slept")
	}
	if !Sleep(context.Background(), time.Microsecond) {
		t.Fatal("a 1us sleep did not complete")
	}
}

// BenchmarkSleep100us compares the wake-up delay of a 100us wait with this
// package and with the runtime's timers (reported as the p50 and p99
// lateness).
func BenchmarkSleep100us(b *testing.B) {
	const d = 100 * time.Microsecond
	for _, c := range []struct {
		name string
		wait func()
	}{
		{"hrtimer", func() { <-After(d) }},
		{"time", func() { t := time.NewTimer(d); <-t.C }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var late []time.Duration
			for b.Loop() {
				t0 := time.Now()
				c.wait()
				late = append(late, time.Since(t0)-d)
			}
			sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
			b.ReportMetric(float64(late[len(late)/2].Microseconds()), "p50-late-us")
			b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "p99-late-us")
		})
	}
}
