package sim

import (
	"math"
	"strings"
	"testing"
)

// short is base run for 20 s: enough traffic for counting tests.
func short(repl map[string]string) string {
	return strings.Replace(scenario(repl), "duration: 90s", "duration: 20s", 1)
}

// withCalls replaces the front service's calls.
func withCalls(y, calls string) string {
	return strings.Replace(y, "calls: [{data: request, timeout: 300ms}]", "calls: "+calls, 1)
}

// TestWritesAckedCountsWhatWasWritten: writes_acked counts the successful
// requests a shard primary acknowledged a write for, whatever the
// workload's mix says: none for a stack that only reads, every request for
// one that always writes, the mix's share when calls follow it.
func TestWritesAckedCountsWhatWasWritten(t *testing.T) {
	cases := []struct {
		name, calls, mix string
		want             func(ok int64) (lo, hi float64)
	}{
		{"reads only", "[{data: read, timeout: 300ms}]", "{read: 80%, write: 20%}", func(int64) (float64, float64) { return 0, 0 }},
		{"writes only", "[{data: write, timeout: 300ms}]", "{read: 100%, write: 0%}", func(ok int64) (float64, float64) { return float64(ok), float64(ok) }},
		{"by the mix", "[{data: request, timeout: 300ms}]", "{read: 80%, write: 20%}", func(ok int64) (float64, float64) {
			sd := math.Sqrt(float64(ok) * 0.2 * 0.8)
			return 0.2*float64(ok) - 4*sd, 0.2*float64(ok) + 4*sd
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := withCalls(short(nil), tc.calls)
			y = strings.Replace(y, "  rate: 2k/s\n", "  rate: 2k/s\n  mix: "+tc.mix+"\n", 1)
			_, res := runWorld(t, y)
			ok := res.Totals.Counts.OK()
			lo, hi := tc.want(ok)
			if w := float64(res.Totals.Writes); ok == 0 || w < lo || w > hi {
				t.Errorf("writes_acked %d of %d successful requests; want %.0f to %.0f", res.Totals.Writes, ok, lo, hi)
			}
		})
	}
}
