package realtest

import (
	"testing"
	"time"
)

const bringUpScenario = `
name: rt-bringup
run: {duration: 6s, warmup: 1s, window: 1s}
topology:
  cities:
    - name: shenzhen
      azs: 2
      racks: 1
      machines: 2
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  discovery: {mode: registry, placement: city=shenzhen, replicas: 2, heartbeat: 500ms, ttl: 1500ms, refresh: 500ms}
  services:
    - name: api
      instances: 2
      concurrency: 4
      service_time: {dist: constant, mean: 1ms}
  data: {mode: none}
workload:
  rate: 50/s
  users: {count: 1000}
faults:
  - {name: lose a gateway, at: 2s, for: 2s, kind: gateway-down, target: az=shenzhen/a}
`

// TestBringUpAndRevert brings a small stack up, kills a gateway at 2s,
// restarts it at 4s, and checks the ledger verified the revert and
// nothing is left.
func TestBringUpAndRevert(t *testing.T) {
	p := plan(t, "rt-bringup", bringUpScenario)
	out := execute(t, p)
	if out.BringUp <= 0 || out.BringUp > 20*time.Second {
		t.Errorf("bring-up took %s", out.BringUp)
	}
	var inj, rev int
	for _, e := range out.Ledger {
		switch e.Action {
		case "inject":
			inj++
			if e.At < 2*time.Second || e.At > 2*time.Second+500*time.Millisecond {
				t.Errorf("injected at %s, want 2s", e.At)
			}
		case "revert":
			rev++
			if e.At < 4*time.Second || e.At > 4*time.Second+500*time.Millisecond {
				t.Errorf("reverted at %s, want 4s", e.At)
			}
		}
	}
	if inj != 1 || rev != 1 {
		t.Fatalf("ledger %v: want one injection and one revert", out.Ledger)
	}
	before := window(out.Result, time.Second, 2*time.Second)
	if before.Offered == 0 || before.Availability() < 0.99 {
		t.Errorf("before the fault: %d offered, availability %.4f", before.Offered, before.Availability())
	}
	if out.Result.Backend != "process" {
		t.Errorf("backend %q", out.Result.Backend)
	}
}
