package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
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

// TestQueueFiguresInResult: the result carries each kind of instance's
// queue figures, computed from the simulation's counters. In an overload
// the gateway's policy, full queue and wait limit account for every shed
// request, every request reaches a gateway, and the saturated service
// shows a high thread utilization and calls that waited.
func TestQueueFiguresInResult(t *testing.T) {
	_, res := runWorld(t, overloaded(2, 8, "priority"))
	reports.Analyze(res)
	rows := map[string]reports.QueueCounts{}
	var names []string
	for _, q := range res.Queues {
		rows[q.Name] = q
		names = append(names, q.Name)
	}
	if strings.Join(names, ",") != "gateway,s" || len(res.Measures.Queues) != 2 {
		t.Fatalf("queue rows %v (measures %d); want gateway and s", names, len(res.Measures.Queues))
	}
	gw, svc := rows["gateway"], rows["s"]
	tot := res.Totals.Counts
	if d := math.Abs(float64(gw.Calls - tot.Offered)); gw.Instances != 2 || gw.Threads != 16 || d > 0.001*float64(tot.Offered) {
		t.Errorf("gateway: %d instances, %d threads, %d calls for %d requests offered", gw.Instances, gw.Threads, gw.Calls, tot.Offered)
	}
	shed := gw.Shed + gw.Rejected + gw.Expired
	if d := math.Abs(float64(shed - tot.Outcomes[reports.Shed])); gw.Expired == 0 || d > 0.001*float64(tot.Offered) {
		t.Errorf("gateway: shed %d by policy + %d queue full + %d wait limit = %d; requests shed %d", gw.Shed, gw.Rejected, gw.Expired, shed, tot.Outcomes[reports.Shed])
	}
	m := res.Measures.Queues[1]
	if m.Name != "s" || m.Utilization < 0.7 || m.Utilization > 1 || m.WaitedShare <= 0 || svc.Waited == 0 {
		t.Errorf("service s: %+v; want a busy service whose calls waited", m)
	}
}
