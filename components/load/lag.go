package load

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// lagStats is the generator's own lateness: how long after its intended
// time each arrival was actually sent, over the run and as a maximum per
// metrics window.
type lagStats struct {
	mu     sync.Mutex
	window int64
	hist   *hdrhistogram.Histogram // microseconds
	max    []int64                 // per window, ns
}

func newLagStats(window, duration int64) *lagStats {
	n := int64(1)
	if window > 0 {
		n = (duration + window - 1) / window
	}
	return &lagStats{window: max(window, 1), hist: hdrhistogram.New(1, 60_000_000, 3), max: make([]int64, max(n, 1))}
}

func (l *lagStats) record(send, lag int64) {
	lag = max(lag, 0)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hist.RecordValue(max(lag/1000, 1))
	if w := send / l.window; w >= 0 && w < int64(len(l.max)) && lag > l.max[w] {
		l.max[w] = lag
	}
}

// Lag is the generator's lag: intended send time to actual send.
type Lag struct {
	Count          int64
	P50, P99, P999 time.Duration
	Max            time.Duration
	// WindowMax is the largest lag of the arrivals due in each window.
	WindowMax []time.Duration
}

// Lag returns the lag measured so far.
func (g *Generator) Lag() Lag {
	l := g.lag
	l.mu.Lock()
	defer l.mu.Unlock()
	us := func(q float64) time.Duration { return time.Duration(l.hist.ValueAtQuantile(q)) * time.Microsecond }
	out := Lag{Count: l.hist.TotalCount(), P50: us(50), P99: us(99), P999: us(99.9), Max: time.Duration(l.hist.Max()) * time.Microsecond}
	for _, m := range l.max {
		out.WindowMax = append(out.WindowMax, time.Duration(m))
	}
	return out
}

// Bottleneck lists the windows whose largest lag exceeds limit: there the
// generator, not the system, may have set the pace, and a report flags them.
func (l Lag) Bottleneck(limit time.Duration) []int {
	var out []int
	for i, m := range l.WindowMax {
		if m > limit {
			out = append(out, i)
		}
	}
	return out
}
