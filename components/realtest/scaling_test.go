package realtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

// scaled is a one-city stack of two AZ sets, two machines each, with
// data mode none, the given api block and scaling section.
func scaled(name, duration, api, workload, scaling string) string {
	return fmt.Sprintf(`
name: %s
run: {duration: %s, warmup: 1s, window: 500ms, seed: 7}
topology:
  cities:
    - {name: shenzhen, azs: 2, racks: 1, machines: 2}
  latency: {client: 1ms}
striping: {granularity: az}
stack:
  access: {rehome_delay: 1s}
  gateway: {instances: 1}
  discovery: {mode: registry, placement: per-set, replicas: 1, heartbeat: 500ms, ttl: 2s, refresh: 500ms}
  services:
    - {name: api, %s}
  data: {mode: none}
workload:
%s
  users: {count: 2000}
  client: {timeout: 400ms, retries: 0}
scaling:
%s`, name, duration, api, workload, scaling)
}

// events of one kind, in time order.
func eventsOf(res *reports.Result, kind string) []reports.Event {
	var out []reports.Event
	for _, e := range res.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestScaleActionsOnProcess: scale actions on the process backend. At 2s
// api and the gateway grow by one instance a set: each new process starts
// startup later, is ready once its /healthz answers, and gets calls once
// discovery lists it (api: the gateways' next refresh; gateway: the access
// layer, rehome_delay after its health checks pass). At 7s both go back to
// one a set: the drained instances leave discovery at once, serve what
// still reaches them and are killed grace later, which is longer than the
// callers' refresh (or the access layer's checks and rehome_delay) plus a
// call timeout, so not one request fails.
func TestScaleActionsOnProcess(t *testing.T) {
	long(t)
	p := plan(t, "rt-scale-actions", scaled("rt-scale-actions", "12s", "instances: 1, concurrency: 4, service_time: {dist: constant, mean: 2ms}",
		"  rate: 150/s", `  startup: 1500ms
  grace: 2500ms
  actions:
    - {at: 2s, service: api, by: 1}
    - {at: 2s, service: gateway, by: 1}
    - {at: 7s, service: api, to: 1}
    - {at: 7s, service: gateway, to: 1}`))
	out := execute(t, p)
	res := out.Result
	sc := p.Scenario
	startup, grace := sc.Scaling.Startup.Std(), sc.Scaling.Grace.Std()
	refresh, rehome := sc.Stack.Discovery.Refresh.Std(), sc.Stack.Access.RehomeDelay.Std()
	if f := failures(res.Totals.Counts); f != 0 {
		t.Errorf("%d of %d requests failed; scaling up and down (grace %s) should fail none: %+v", f, res.Totals.Counts.Offered, grace, res.Totals.Counts)
	}
	if res.Scaling == nil || len(res.Scaling.Starts) != 4 {
		t.Fatalf("scaling record %+v, want 4 starts (api and gateway in 2 sets)", res.Scaling)
	}
	for _, s := range res.Scaling.Starts {
		ready, seen := time.Duration(s.Ready-s.Decided), time.Duration(s.Seen-s.Ready)
		t.Logf("%s in set %d: decided %s, ready %s later, seen %s after that", s.Component, s.Set, time.Duration(s.Decided), ready, seen)
		if s.Decided < int64(2*time.Second) || s.Decided > int64(2*time.Second+100*time.Millisecond) {
			t.Errorf("%s decided at %s, want at the action's 2s", s.Component, time.Duration(s.Decided))
		}
		// the process starts startup after the decision; it is ready once it answers
		if ready < startup || ready > startup+2*time.Second {
			t.Errorf("%s ready %s after the decision, want startup %s plus a process start", s.Component, ready, startup)
		}
		if s.Seen < 0 {
			t.Errorf("%s in set %d never seen by a caller", s.Component, s.Set)
			continue
		}
		switch s.Component {
		case "api": // registered at start; listed at the gateways' next refresh
			if seen > refresh+250*time.Millisecond {
				t.Errorf("api seen %s after ready, want within a refresh %s", seen, refresh)
			}
		case scenarios.GatewayComponent: // health checks every 100ms, then rehome_delay
			if seen < rehome-100*time.Millisecond || seen > rehome+300*time.Millisecond {
				t.Errorf("gateway routed to %s after ready, want the rehome_delay %s after its first passing health check", seen, rehome)
			}
		}
	}
	drains, stops := eventsOf(res, reports.EvDrain), eventsOf(res, reports.EvStopped)
	if len(drains) != 4 || len(stops) != 4 {
		t.Fatalf("%d drains and %d stops, want 4 each: %+v", len(drains), len(stops), res.Events)
	}
	for _, e := range drains {
		if e.T < int64(7*time.Second) || e.T > int64(7*time.Second+100*time.Millisecond) {
			t.Errorf("drain at %s, want at the action's 7s: %s", time.Duration(e.T), e.Detail)
		}
	}
	for _, e := range stops {
		if e.T < int64(7*time.Second+grace) || e.T > int64(7*time.Second+grace+time.Second) || !strings.Contains(e.Detail, "0 calls") {
			t.Errorf("stop at %s (%s), want grace %s after the drain with nothing still there", time.Duration(e.T), e.Detail, grace)
		}
	}
	// instances a set over time: 2 (api and gateway) → 4 → 2, in both sets
	for _, c := range res.Scaling.Components {
		if c.Initial != 2 || c.Peak != 4 || c.Provisioned[len(c.Provisioned)-1] != 2 || c.InstanceNS <= c.StaticNS {
			t.Errorf("%s: initial %d, peak %d, provisioned %v, instance time %v against %v", c.Name, c.Initial, c.Peak, c.Provisioned,
				time.Duration(c.InstanceNS), time.Duration(c.StaticNS))
		}
	}
}

// TestAutoscalerOnProcess: an HPA autoscaler on the process backend. One
// api instance of 2 threads at 10ms serves 200/s a set; the load steps
// from 60/s to 240/s a set at 3s. The first decision whose whole period
// holds the step (period 2s: at 6s at the latest) asks for 2; the new
// instance is ready startup later, and once the gateways list it latency
// falls back. The load falls back at 11s; with a 2s stabilization the
// count goes back to 1 and the drained instance fails no request.
func TestAutoscalerOnProcess(t *testing.T) {
	long(t)
	p := plan(t, "rt-autoscaler", scaled("rt-autoscaler", "20s", "instances: 1, concurrency: 2, queue: 8, service_time: {dist: exponential, mean: 10ms}",
		"  rate: 120/s\n  profile: {shape: step, steps: [{at: 3s, level: 400%}, {at: 11s, level: 100%}]}", `  startup: 1s
  grace: 1500ms
  autoscale:
    - {service: api, min: 1, max: 3, utilization: 60%, period: 2s, stabilization: 2s}`))
	out := execute(t, p)
	res := out.Result
	sc := p.Scenario
	period, startup := sc.Scaling.Autoscale[0].Period.Std(), sc.Scaling.Startup.Std()
	step, back := 3*time.Second, 11*time.Second
	first := map[int]time.Duration{} // set -> first scale-up decision
	down := map[int]time.Duration{}
	for _, d := range res.Scaling.Decisions {
		at := time.Duration(d.T)
		t.Logf("%s set %d: %d ready at %.0f%%: %d -> %d (recommended %d)", at.Truncate(time.Millisecond), d.Set, d.Ready, 100*d.Utilization, d.Current, d.Desired, d.Recommended)
		if d.Desired > d.Current {
			if _, ok := first[d.Set]; !ok {
				first[d.Set] = at
			}
		}
		if d.Desired < d.Current {
			if _, ok := down[d.Set]; !ok {
				down[d.Set] = at
			}
		}
		if at < step && d.Desired != d.Current {
			t.Errorf("a change at %s, before the step", at)
		}
	}
	// decisions fall at multiples of the period (a little after, as the
	// scaler's timers fire); the first whose whole period holds the step
	firstFull := (step/period + 1) * period
	if firstFull < step+period {
		firstFull += period
	}
	for set := range 2 {
		at, ok := first[set]
		if !ok || at < step || at > firstFull+250*time.Millisecond {
			t.Errorf("set %d: first scale-up at %s (%v), want by the first decision whose period holds the step (%s)", set, at, ok, firstFull)
		}
		if d, ok := down[set]; !ok || d < back {
			t.Errorf("set %d: scale-down at %s (%v), want after the load fell back at %s", set, d, ok, back)
		}
	}
	var lastReady, lastSeen time.Duration
	for _, s := range res.Scaling.Starts {
		if time.Duration(s.Ready-s.Decided) < startup {
			t.Errorf("ready %s after the decision, before the startup %s", time.Duration(s.Ready-s.Decided), startup)
		}
		lastReady, lastSeen = max(lastReady, time.Duration(s.Ready)), max(lastSeen, time.Duration(s.Seen))
	}
	// saturated: from the step until the new instances are ready; carried:
	// from a window after they are seen until the load falls back
	var sat, carried reports.Counts
	satP99, carriedP99 := int64(0), int64(0)
	win := sc.Run.Window.Std()
	for _, w := range res.Windows {
		st := time.Duration(w.Start)
		switch {
		case st >= step && st+win <= lastReady:
			sat.Add(&w.Counts)
			satP99 = max(satP99, w.Latency.P99)
		case st >= lastSeen+win && st+win <= back:
			carried.Add(&w.Counts)
			carriedP99 = max(carriedP99, w.Latency.P99)
		}
	}
	t.Logf("saturated: availability %.4f, worst window p99 %s; once the new instances serve: %.4f, %s",
		sat.Availability(), time.Duration(satP99), carried.Availability(), time.Duration(carriedP99))
	// one instance's queue fills (its waits are bounded by it, its
	// overflow fails); two carry the step
	if sat.Offered == 0 || carried.Offered == 0 || failures(sat) == 0 || carried.Availability() < 0.99 || carriedP99 >= satP99 {
		t.Errorf("saturated %+v (p99 %s), carried %+v (p99 %s): want failures and higher latency before the new instances, availability >= 99%% after",
			sat, time.Duration(satP99), carried, time.Duration(carriedP99))
	}
	// the scale-down drains: nothing fails from the drain to the end
	drains := eventsOf(res, reports.EvDrain)
	if len(drains) == 0 {
		t.Fatal("no drain")
	}
	if c := window(res, time.Duration(drains[0].T), sc.Run.Duration.Std()); failures(c) != 0 {
		t.Errorf("%d requests failed from the first drain at %s to the end", failures(c), time.Duration(drains[0].T))
	}
}

// TestSetChangesOnProcess: a reserved set added and a set removed on the
// process backend, with data kept apart from the sets (none). Set c is
// added at 2s: its processes start startup later and, rehome_delay after
// they answer, the users its rendezvous hash picks are homed there and
// served there (no hop outside their set). Set a is removed at 7s: its
// gateway drains, its users move rehome_delay later and it stops grace
// after that. The users moved are the simulator's (the same hash), and
// not one request fails.
func TestSetChangesOnProcess(t *testing.T) {
	long(t)
	text := strings.Replace(scaled("rt-set-changes", "12s", "instances: 1, concurrency: 4, service_time: {dist: constant, mean: 2ms}",
		"  rate: 150/s", `  startup: 1s
  grace: 1500ms
  sets:
    - {at: 2s, add: shenzhen/c}
    - {at: 7s, remove: shenzhen/a}`), "azs: 2,", "azs: 3,", 1)
	text = strings.Replace(text, "striping: {granularity: az}", "striping: {granularity: az, reserve: [shenzhen/c]}", 1)
	p := plan(t, "rt-set-changes", text)
	out := execute(t, p)
	res := out.Result
	sim := simulate(t, p)
	if f := failures(res.Totals.Counts); f != 0 {
		t.Errorf("%d of %d requests failed across adding and removing a set: %+v", f, res.Totals.Counts.Offered, res.Totals.Counts)
	}
	if res.Scaling == nil || len(res.Scaling.Sets) != 2 || sim.Scaling == nil || len(sim.Scaling.Sets) != 2 {
		t.Fatalf("set records: real %+v, simulator %+v", res.Scaling, sim.Scaling)
	}
	sc := p.Scenario
	startup, rehome, grace := sc.Scaling.Startup.Std(), sc.Stack.Access.RehomeDelay.Std(), sc.Scaling.Grace.Std()
	add, rm := res.Scaling.Sets[0], res.Scaling.Sets[1]
	t.Logf("added %s: ready %s, routed %s, moved %d of %d; removed %s: routed %s, stopped %s, moved %d",
		add.Set, time.Duration(add.Ready), time.Duration(add.Routed), add.Moved, add.Users, rm.Set, time.Duration(rm.Routed), time.Duration(rm.Ready), rm.Moved)
	for k, s := range res.Scaling.Sets {
		if want := sim.Scaling.Sets[k].Moved; s.Moved != want || s.Moved == 0 {
			t.Errorf("set %s: %d users moved, the simulator moves %d", s.Set, s.Moved, want)
		}
	}
	if r := time.Duration(add.Ready - add.Added); r < startup || r > startup+3*time.Second {
		t.Errorf("added set ready %s after the decision, want startup %s plus its processes' start", r, startup)
	}
	if r := time.Duration(add.Routed - add.Ready); r < rehome || r > rehome+200*time.Millisecond {
		t.Errorf("added set routed %s after ready, want the rehome_delay %s", r, rehome)
	}
	if r := time.Duration(rm.Routed - rm.Added); r < rehome || r > rehome+200*time.Millisecond {
		t.Errorf("removed set's users moved %s after the decision, want the rehome_delay %s", r, rehome)
	}
	if r := time.Duration(rm.Ready - rm.Routed); r < grace || r > grace+500*time.Millisecond {
		t.Errorf("removed set stopped %s after its users moved, want the grace %s", r, grace)
	}
	// once routed to (and its gateway up in the access layer), the new
	// set's users are served in it: no request leaves its home set
	var crossed, offered int64
	for _, w := range res.Windows {
		if st := time.Duration(w.Start); st >= time.Duration(add.Routed)+time.Second && st+sc.Run.Window.Std() <= 7*time.Second {
			crossed += w.CrossSet
			offered += w.Counts.Offered
		}
	}
	if offered == 0 || crossed != 0 {
		t.Errorf("%d of %d requests crossed sets while the three sets served", crossed, offered)
	}
}

// simulate runs p in the simulator.
func simulate(t *testing.T, p *scenarios.Plan) *reports.Result {
	t.Helper()
	res, err := sim.Run(context.Background(), p, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAutoscalerRacesAZLoss: scaling and a fault together. AZ set a dies
// at 3s for 9s; its users are re-homed to b and c, whose api instances
// then run above the 60% target, and their autoscalers add one each. In
// a nothing is measured while it is down (no ready instance), so nothing
// is decided there; its revert restarts only what the plan runs (never a
// slot), and every revert is verified.
func TestAutoscalerRacesAZLoss(t *testing.T) {
	long(t)
	text := scaled("rt-autoscale-az-loss", "18s", "instances: 1, concurrency: 2, queue: 8, service_time: {dist: exponential, mean: 10ms}",
		"  rate: 300/s", `  startup: 1s
  grace: 1s
  autoscale:
    - {service: api, min: 1, max: 3, utilization: 60%, period: 2s, stabilization: 2s}`)
	text = strings.Replace(text, "azs: 2,", "azs: 3,", 1)
	text += "\nfaults:\n  - {name: lose az a, at: 3s, for: 9s, kind: az-down, target: az=shenzhen/a}\n"
	p := plan(t, "rt-autoscale-az-loss", text)
	out := execute(t, p)
	res := out.Result
	fault := p.Faults[0]
	up := map[int]int{}
	for _, d := range res.Scaling.Decisions {
		at := time.Duration(d.T)
		t.Logf("%s set %d: %d ready at %.0f%%: %d -> %d", at.Truncate(time.Millisecond), d.Set, d.Ready, 100*d.Utilization, d.Current, d.Desired)
		if d.Set == 0 && d.T > fault.Start && d.T < fault.End {
			t.Errorf("a decision in the lost set at %s: nothing there is ready to measure", at)
		}
		if d.Desired > d.Current && d.T > fault.Start && d.T <= fault.End {
			up[d.Set]++
		}
	}
	if up[1] == 0 || up[2] == 0 {
		t.Errorf("scale-ups during the loss by set: %v; want the two surviving sets to add instances for the re-homed users", up)
	}
	for _, s := range res.Scaling.Starts {
		if s.Set == 0 {
			t.Errorf("a slot of the lost set was started: %+v", s)
		}
	}
	for _, e := range out.Ledger {
		t.Logf("%s", e)
		// the set runs a gateway, an api instance and a registry copy;
		// its two slots are parked
		if want := map[string]string{"inject": "killed 3 instances", "revert": "restarted 3 instances"}[e.Action]; !strings.Contains(e.Detail, want) {
			t.Errorf("%s %q, want %q: the set's gateway, api and registry, no slot", e.Action, e.Detail, want)
		}
	}
	// the set serves again once it is back and its users failed back
	back := time.Duration(fault.End) + 2*p.Scenario.Stack.Access.RehomeDelay.Std() + time.Second
	if c := window(res, back, p.Scenario.Run.Duration.Std()); c.Availability() < 0.99 {
		t.Errorf("availability %.4f from %s to the end, want the stack whole again", c.Availability(), back)
	}
}

// TestHedgingOnProcess: a gray failure (one api machine of set a 30x
// slower from 2s: a quarter of the requests take ~60ms) with and without
// client hedging (a second attempt 15ms after the first when it has no
// answer, balanced anew by the gateway). Hedging takes the slow
// instance's requests off the p90 (a hedge still lands on the slow
// instance when the gateway's two draws both pick it, so the p99 stays,
// as in the simulator) and costs extra attempts.
func TestHedgingOnProcess(t *testing.T) {
	long(t)
	base := smallFor("rt-hedging", "10s", registryFast, "rehome_delay: 20s",
		"  - {name: slow api machine, at: 2s, for: 8s, kind: slow-machine, target: machine=shenzhen/a/r1/m2, factor: 30}\n")
	base = strings.Replace(base, "service_time: {dist: constant, mean: 1ms}", "service_time: {dist: constant, mean: 2ms}", 1)
	// a budget for a hedge per slow request
	base = strings.Replace(base, "client: {timeout: 300ms, retries: 0}", "client: {timeout: 300ms, retries: 0, retry_budget: 50%}", 1)
	hedged := strings.Replace(base, "  data: {mode: none}", "  data: {mode: none}\n  resilience: {hedging: {delay: 15ms, max_attempts: 2}}", 1)
	run := func(name, text string) (time.Duration, int64, int64) {
		out := execute(t, plan(t, name, text))
		res := out.Result
		var attempts, offered int64
		for _, w := range res.Windows {
			attempts += w.Attempts
			offered += w.Counts.Offered
		}
		return time.Duration(res.Totals.Latency.P90), attempts, offered
	}
	plainP90, plainAttempts, plainOffered := run("rt-hedging-off", base)
	hedgedP90, hedgedAttempts, hedgedOffered := run("rt-hedging-on", hedged)
	simHedged := simulate(t, plan(t, "rt-hedging-on", hedged))
	t.Logf("p90 %s without hedging (%d attempts for %d requests), %s with (%d attempts for %d); simulated with hedging: p90 %s",
		plainP90, plainAttempts, plainOffered, hedgedP90, hedgedAttempts, hedgedOffered, time.Duration(simHedged.Totals.Latency.P90))
	if hedgedP90*2 > plainP90 {
		t.Errorf("p90 %s with hedging against %s without: want it at most half", hedgedP90, plainP90)
	}
	if hedgedAttempts <= hedgedOffered || plainAttempts != plainOffered {
		t.Errorf("attempts %d for %d hedged requests, %d for %d plain: hedges must count as attempts, and plain requests make one",
			hedgedAttempts, hedgedOffered, plainAttempts, plainOffered)
	}
}

// TestShardedSetChangesOnProcess: a set added, then another removed, under
// data.mode sharded on the process backend. Once a change is routed the
// keys of the users whose home changes move, each at its moment of a copy
// at copy_rate, from the shard that held them to their new one: until a
// key's moment its old shard serves it (forwarded across sets), then the
// old shard fences it and hands it over with the ids of the writes it
// took. The keys moved are the simulator's, each copy lasts what the rate
// says, the removed set stops grace after its copy, and not one
// acknowledged write is lost: those the removed shard took are read back
// from the shards their keys moved to.
func TestShardedSetChangesOnProcess(t *testing.T) {
	long(t)
	text := strings.Replace(scaled("rt-sharded-sets", "14s", "instances: 1, concurrency: 8, service_time: {dist: constant, mean: 1ms}, calls: [{data: request, timeout: 300ms}]",
		"  rate: 150/s\n  mix: {read: 50%, write: 50%}", `  startup: 1s
  grace: 1s
  copy_rate: 500/s
  sets:
    - {at: 2s, add: shenzhen/c}
    - {at: 8s, remove: shenzhen/a}`), "azs: 2,", "azs: 3,", 1)
	text = strings.Replace(text, "striping: {granularity: az}", "striping: {granularity: az, reserve: [shenzhen/c]}", 1)
	text = strings.Replace(text, "data: {mode: none}", "data: {mode: sharded, replicas: 1, service_time: {dist: constant, mean: 200us}}", 1)
	p := plan(t, "rt-sharded-sets", text)
	out := execute(t, p)
	res := out.Result
	sim := simulate(t, p)
	if res.Scaling == nil || len(res.Scaling.Sets) != 2 || sim.Scaling == nil || len(sim.Scaling.Sets) != 2 {
		t.Fatalf("set records: real %+v, simulator %+v", res.Scaling, sim.Scaling)
	}
	rate := float64(p.Scenario.Scaling.CopyRate)
	moves := p.KeyMoves()
	for i, ch := range res.Scaling.Sets {
		want := sim.Scaling.Sets[i]
		dur := time.Duration(ch.CopyEnd - ch.CopyStart)
		t.Logf("%s (removed %v): routed %s, %d of %d users moved, %d keys copied in %s (simulator %d in %s), %d forwarded (simulator %d)",
			ch.Set, ch.Removed, time.Duration(ch.Routed), ch.Moved, ch.Users, ch.Keys, dur, want.Keys, time.Duration(want.CopyEnd-want.CopyStart), ch.Forwarded, want.Forwarded)
		if ch.Keys == 0 || ch.Keys != want.Keys || ch.Moved != want.Moved || ch.Removed != (i == 1) {
			t.Errorf("%s: %d keys and %d users moved, the simulator %d and %d", ch.Set, ch.Keys, ch.Moved, want.Keys, want.Moved)
		}
		if d := moves[i].Duration(rate); dur < d-copyTickBound || dur > d+time.Second {
			t.Errorf("%s: copy lasted %s, want %s (%d keys at %.0f/s) plus the runner's reading", ch.Set, dur, d, ch.Keys, rate)
		}
		if ch.CopyStart < ch.Routed || ch.Forwarded == 0 {
			t.Errorf("%s: copy started at %s (routed %s), %d requests forwarded: want the old shards to serve keys not yet copied", ch.Set, time.Duration(ch.CopyStart), time.Duration(ch.Routed), ch.Forwarded)
		}
	}
	rm := res.Scaling.Sets[1]
	grace := p.Scenario.Scaling.Grace.Std()
	if stop := time.Duration(rm.Ready - rm.CopyEnd); stop < grace || stop > grace+500*time.Millisecond {
		t.Errorf("removed set stopped %s after its copy ended, want grace %s (within 500ms)", stop, grace)
	}
	t.Logf("writes read back %d (%d from the shards keys moved to), lost %d, unknown %d", out.Checked, out.MovedOn, out.Lost, out.Unknown)
	if out.Checked == 0 || out.MovedOn == 0 || out.Lost != 0 || out.Unknown != 0 {
		t.Errorf("writes read back %d (%d after their key moved on), lost %d, unknown %d: a key handed off must lose no acknowledged write", out.Checked, out.MovedOn, out.Lost, out.Unknown)
	}
	if f := failures(res.Totals.Counts); float64(f) > 0.01*float64(res.Totals.Counts.Offered) {
		t.Errorf("%d of %d requests failed across the copies: %+v", f, res.Totals.Counts.Offered, res.Totals.Counts)
	}
	// once a copy is over, until the next change is routed, every request
	// stays in its user's set
	win := p.Scenario.Run.Window.Std()
	for i, ch := range res.Scaling.Sets {
		until := p.Scenario.Run.Duration.Std()
		if i+1 < len(res.Scaling.Sets) {
			until = time.Duration(res.Scaling.Sets[i+1].Routed)
		}
		var crossed, offered int64
		for _, w := range res.Windows {
			if st := time.Duration(w.Start); st >= time.Duration(ch.CopyEnd)+time.Second && st+win <= until {
				crossed += w.CrossSet
				offered += w.Counts.Offered
			}
		}
		if offered == 0 || crossed != 0 {
			t.Errorf("after %s's copy: %d of %d requests crossed sets", ch.Set, crossed, offered)
		}
	}
}

// copyTickBound is how early a copy may look done: its last key's moment
// falls within the copy, not at its end.
const copyTickBound = 200 * time.Millisecond
