package realtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports"
)

// small is a one-city stack of two AZ sets, three machines each: a
// gateway on m1, two api instances on m2 and m3, a registry copy on m1.
// No retries, so every failed attempt shows.
func small(name, discovery, access, faults string) string {
	return smallFor(name, "12s", discovery, access, faults)
}

func smallFor(name, duration, discovery, access, faults string) string {
	return fmt.Sprintf(`
name: %s
run: {duration: %s, warmup: 1s, window: 500ms, seed: 5}
topology:
  cities:
    - {name: shenzhen, azs: 2, racks: 1, machines: 3}
  latency: {client: 1ms}
striping: {granularity: az}
stack:
  access: {%s}
  gateway: {instances: 1}
  discovery: {%s}
  services:
    - name: api
      instances: 2
      concurrency: 8
      service_time: {dist: constant, mean: 1ms}
  data: {mode: none}
workload:
  rate: 120/s
  users: {count: 2000}
  client: {timeout: 300ms, retries: 0}
faults:
%s`, name, duration, access, discovery, faults)
}

const registryFast = "mode: registry, placement: per-set, replicas: 1, heartbeat: 300ms, ttl: 1s, refresh: 300ms"

func failures(c reports.Counts) int64 { return c.Offered - c.OK() }

// TestMachineLoss: a machine holding one api instance dies at 3s.
// Calls sent to it time out until the registry expires it (TTL) and the
// gateway's cache refreshes; from TTL + refresh + a heartbeat and a
// window of slack on, the set is whole again on its other instance.
func TestMachineLoss(t *testing.T) {
	long(t)
	p := plan(t, "rt-machine-loss", small("rt-machine-loss", registryFast, "rehome_delay: 20s",
		"  - {name: lose an api machine, at: 3s, for: 7s, kind: machine-down, target: machine=shenzhen/a/r1/m2}\n"))
	out := execute(t, p)
	res := out.Result
	d := p.Scenario.Stack.Discovery
	at := 3 * time.Second
	settled := at + d.TTL.Std() + d.Refresh.Std() + d.Heartbeat.Std() + time.Second
	before := window(res, time.Second, at)
	during := window(res, at, at+d.TTL.Std())
	after := window(res, settled, 10*time.Second)
	t.Logf("before %d/%d ok, first TTL %d/%d, after %s %d/%d", before.OK(), before.Offered, during.OK(), during.Offered, settled, after.OK(), after.Offered)
	if before.Availability() < 0.99 {
		t.Errorf("before the loss availability %.4f", before.Availability())
	}
	// the gateway's call to the dead instance times out: the gateway
	// answers a definite error (Failed), or the client's own timer fires
	if failures(during) == 0 {
		t.Errorf("no failure while the dead instance was still listed: %+v", during)
	}
	if after.Availability() < 0.99 {
		t.Errorf("availability %.4f from %s (TTL + refresh + heartbeat + 1s) to the end of the loss: %+v", after.Availability(), settled, after)
	}
	f := res.Faults[0]
	if f.Detected < int64(at) || f.Detected > int64(at+d.TTL.Std()+d.Heartbeat.Std()+time.Second) {
		t.Errorf("detected at %s, want within TTL + heartbeat of %s", time.Duration(f.Detected), at)
	}
}

// TestAZLossRehomes: an AZ dies at 3s; the access layer moves its users
// to the other set rehome_delay after its health checks see the gateway
// down, not before. When the AZ comes back at 10s every request is served
// again, before and after its users go home (failback).
func TestAZLossRehomes(t *testing.T) {
	long(t)
	p := plan(t, "rt-az-loss", smallFor("rt-az-loss", "16s", registryFast, "rehome_delay: 2s",
		"  - {name: lose shenzhen/a, at: 3s, for: 7s, kind: az-down, target: az=shenzhen/a}\n"))
	out := execute(t, p)
	res := out.Result
	at, rehome := 3*time.Second, p.Scenario.Stack.Access.RehomeDelay.Std()
	// health checks every 100ms, two failures, each with its timeout
	seen := 600 * time.Millisecond
	lost := window(res, at, at+rehome)
	after := window(res, at+rehome+seen+500*time.Millisecond, 10*time.Second)
	t.Logf("until rehome %d/%d ok, after %d/%d", lost.OK(), lost.Offered, after.OK(), after.Offered)
	if a := lost.Availability(); a > 0.75 || a < 0.25 {
		t.Errorf("availability %.3f before the re-homing: want about half (one set of two lost)", a)
	}
	if after.Availability() < 0.99 {
		t.Errorf("availability %.4f after the re-homing: %+v", after.Availability(), after)
	}
	back := window(res, 10*time.Second+500*time.Millisecond, 16*time.Second)
	t.Logf("after the AZ is back %d/%d ok", back.OK(), back.Offered)
	if back.Availability() < 0.99 {
		t.Errorf("availability %.4f after the AZ came back: %+v", back.Availability(), back)
	}
	f := res.Faults[0]
	if f.Rerouted < int64(at+rehome) || f.Rerouted > int64(at+rehome+seen+time.Second) {
		t.Errorf("re-routed at %s, want rehome_delay (%s) after %s plus the health checks", time.Duration(f.Rerouted), rehome, at)
	}
}

// TestPartitionTimesOut: shenzhen/a is cut off from everything (its users'
// access hop included) for 4s, and rehome_delay outlasts the cut: calls
// across the cut time out, none is refused, and they come back after it.
func TestPartitionTimesOut(t *testing.T) {
	long(t)
	p := plan(t, "rt-partition", small("rt-partition", registryFast, "rehome_delay: 20s",
		"  - {name: cut shenzhen/a, at: 3s, for: 4s, kind: partition, target: az=shenzhen/a, action: drop}\n"))
	out := execute(t, p)
	res := out.Result
	cl := p.Scenario.Workload.Client.Timeout.Std()
	during := window(res, 3*time.Second, 7*time.Second-cl)
	after := window(res, 7*time.Second+time.Second, 12*time.Second)
	t.Logf("during %+v, after %+v", during, after)
	if tm := float64(during.Outcomes[reports.Timeout]) / float64(during.Offered); tm < 0.3 || tm > 0.7 {
		t.Errorf("%.2f of the requests during the cut timed out; want about half (the users of one set of two)", tm)
	}
	if during.Outcomes[reports.Failed]+during.Outcomes[reports.Unavailable] > during.Offered/20 {
		t.Errorf("a blackhole should time out, not refuse: %+v", during)
	}
	if after.Availability() < 0.99 {
		t.Errorf("availability %.4f after the cut", after.Availability())
	}
}

// TestRegistryOutageFreezesCaches: with every registry down from 2s, an
// api machine dies at 3s; nothing expires it, so calls keep reaching it
// until the end of its loss. With mesh discovery the sidecars drop it
// within detection + propagation.
func TestRegistryOutageFreezesCaches(t *testing.T) {
	long(t)
	faults := "  - {name: registry outage, at: 2s, for: 8s, kind: registry-down}\n" +
		"  - {name: lose an api machine, at: 3s, for: 6s, kind: machine-down, target: machine=shenzhen/a/r1/m2}\n"
	late := func(res *reports.Result) reports.Counts { return window(res, 6*time.Second, 9*time.Second) }
	t.Run("registry", func(t *testing.T) {
		p := plan(t, "rt-registry-outage", small("rt-registry-outage", registryFast, "rehome_delay: 20s", faults))
		res := execute(t, p).Result
		l := late(res)
		t.Logf("6s-9s: %+v", l)
		if failures(l) == 0 {
			t.Errorf("no failure 3s after the loss: the frozen caches should still list the dead instance")
		}
	})
	t.Run("mesh", func(t *testing.T) {
		p := plan(t, "rt-registry-outage-mesh", small("rt-registry-outage-mesh", "mode: mesh, detection: 1s, propagation: 500ms", "rehome_delay: 20s", faults))
		res := execute(t, p).Result
		l := late(res)
		t.Logf("6s-9s: %+v", l)
		if l.Availability() < 0.99 {
			t.Errorf("availability %.4f 3s after the loss: the mesh should have dropped the dead instance within detection + propagation", l.Availability())
		}
	})
}
