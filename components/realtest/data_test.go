package realtest

import (
	"fmt"
	"testing"
	"time"
)

// failover is a one-city stack whose shard 0 primary is SIGKILLed at 3s
// for 5s; half of the requests are writes.
func failover(name, replication string) string {
	return fmt.Sprintf(`
name: %s
run: {duration: 11s, warmup: 1s, window: 500ms, seed: 8}
topology:
  cities:
    - {name: shenzhen, azs: 2, racks: 1, machines: 3}
  latency: {client: 1ms}
striping: {granularity: az}
stack:
  access: {rehome_delay: 20s}
  gateway: {instances: 1}
  discovery: {%s}
  services:
    - name: api
      instances: 2
      concurrency: 8
      service_time: {dist: constant, mean: 1ms}
      calls:
        - {data: request, timeout: 200ms}
  data:
    mode: sharded
    replicas: 2
    placement: az
    %s
    detection: 1s
    promotion: 500ms
workload:
  rate: 200/s
  users: {count: 2000}
  mix: {read: 50%%, write: 50%%}
  client: {timeout: 400ms, retries: 1}
faults:
  - {name: shard 0 primary crash, at: 3s, for: 5s, kind: shard-primary-down, target: shard=0}
`, name, registryFast, replication)
}

// TestShardFailover: the copy of shard 0 is promoted within detection +
// promotion of the crash; with async replication the writes acknowledged
// in the primary's last lag never reach it and the read-back after the
// run counts them lost; with sync replication (acks all) none is lost.
func TestShardFailover(t *testing.T) {
	long(t)
	for _, c := range []struct {
		name, replication string
		lose              bool
	}{
		{"async", "replication: async\n    lag: 1s", true},
		{"sync", "replication: sync\n    acks: all", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := plan(t, "rt-failover-"+c.name, failover("rt-failover-"+c.name, c.replication))
			out := execute(t, p)
			res := out.Result
			f := res.Faults[0]
			d := p.Scenario.Stack.Data
			at := 3 * time.Second
			t.Logf("writes read back %d, lost %d, unknown %d; detected %s, failover done %s; fault lost %d over %s",
				out.Checked, out.Lost, out.Unknown, time.Duration(f.Detected), time.Duration(f.FailoverDone), f.LostWrites, time.Duration(f.LostSpanNS))
			if out.Checked == 0 || out.Unknown > 0 {
				t.Fatalf("%d writes read back, %d unknown: the read-back should reach every shard", out.Checked, out.Unknown)
			}
			if f.FailoverDone < int64(at) || f.FailoverDone > int64(at+d.Detection.Std()+d.Promotion.Std()+time.Second) {
				t.Errorf("failover done at %s, want within detection + promotion (+1s) of %s", time.Duration(f.FailoverDone), at)
			}
			if c.lose && (out.Lost == 0 || f.LostWrites == 0) {
				t.Errorf("async replication lost no acknowledged write (%d lost in all)", out.Lost)
			}
			if !c.lose && out.Lost > 0 {
				t.Errorf("sync replication with acks all lost %d acknowledged writes", out.Lost)
			}
			after := window(res, at+d.Detection.Std()+d.Promotion.Std()+time.Second, 8*time.Second)
			if after.Availability() < 0.98 {
				t.Errorf("availability %.4f after the promotion: %+v", after.Availability(), after)
			}
		})
	}
}
