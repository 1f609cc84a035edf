package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// TestScripts runs the scripts in testdata: each builds a scenario, moves
// virtual time forward and prints what the model holds (shards, the access
// layer's view, discovery caches, instances) or measured (windows, faults,
// events), so that a reader can follow a fault through the layers. Rewrite
// the expected output with -rewrite after a deliberate change.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var w *World
		var res *reports.Result
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "scenario":
				f, err := scenarios.Parse(path, []byte(d.Input))
				if err != nil {
					return err.Error()
				}
				p := scenarios.NewPlan(f)
				rec := reports.NewRecorder(p, p.Scenario.Run.Seed, Backend, Horizon(p.Scenario))
				w, res = NewWorld(p, p.Scenario.Run.Seed, rec), nil
				return p.Summary()
			case "run":
				until := arg(t, d, "until")
				w.RunUntil(until)
				return fmt.Sprintf("t=%s events=%d in flight=%d", dur(w.Now()), w.Events(), w.reqs.live)
			case "finish":
				w.RunUntil(w.stop)
				res = w.Finish(false)
				reports.Analyze(res)
				return fmt.Sprintf("%d requests, availability %s", res.Totals.Counts.Offered, reports.FormatPercent(res.Measures.Availability))
			case "shards":
				return w.dumpShards()
			case "access":
				return w.dumpAccess(cityArg(t, w, d))
			case "discovery":
				return w.dumpDiscovery(setArg(t, w, d))
			case "instances":
				return w.dumpInstances(setArg(t, w, d))
			case "windows":
				return dumpWindows(res, arg(t, d, "from"), arg(t, d, "to"))
			case "faults":
				return dumpFaults(res)
			case "events":
				return dumpEvents(res)
			}
			return "unknown command " + d.Cmd
		})
	})
}

func arg(t *testing.T, d *datadriven.TestData, key string) int64 {
	var s string
	d.ScanArgs(t, key, &s)
	v, err := scenarios.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return int64(v)
}

func cityArg(t *testing.T, w *World, d *datadriven.TestData) int {
	return nameArg(t, d, "city", len(w.plan.Cities), func(i int) string { return w.plan.Cities[i].Name })
}

func setArg(t *testing.T, w *World, d *datadriven.TestData) int {
	return nameArg(t, d, "set", len(w.plan.Sets), func(i int) string { return w.plan.Sets[i].Name })
}

// nameArg reads argument key and returns the index of the name it gives.
func nameArg(t *testing.T, d *datadriven.TestData, key string, n int, name func(int) string) int {
	var s string
	d.ScanArgs(t, key, &s)
	for i := 0; i < n; i++ {
		if name(i) == s {
			return i
		}
	}
	t.Fatalf("no %s %q", key, s)
	return 0
}

func (w *World) machineName(m int32) string { return w.plan.Machines[m].Name }

func (w *World) dumpShards() string {
	var b strings.Builder
	for i := range w.shards {
		sh := &w.shards[i]
		state := "ok"
		switch {
		case sh.lost && sh.detected:
			state = "primary lost, detected, promoting"
		case sh.lost:
			state = "primary lost, not yet detected"
		}
		prim := "none"
		if sh.primary >= 0 {
			prim = w.machineName(w.insts[sh.primary].machine)
		}
		var copies []string
		for k, in := range sh.reps {
			mark := ""
			if !sh.believed[k] {
				mark = " (believed down)"
			}
			if !w.insts[in].alive(w) {
				mark += " (down)"
			}
			copies = append(copies, w.machineName(w.insts[in].machine)+mark)
		}
		fmt.Fprintf(&b, "shard %d: primary %s, %s; copies %s\n", i, prim, state, strings.Join(copies, ", "))
	}
	return b.String()
}

func (w *World) dumpAccess(c int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "users of %s see:\n", w.plan.Cities[c].Name)
	for s := range w.sets {
		up, total := w.access.up[c*len(w.sets)+s], len(w.sets[s].gws)
		fmt.Fprintf(&b, "  %s: %d of %d gateways up\n", w.plan.Sets[s].Name, up, total)
	}
	return b.String()
}

func (w *World) dumpDiscovery(set int) string {
	c := &w.caches[w.viewerCache[set]]
	var b strings.Builder
	for k, l := range c.lists {
		name := "proxy"
		if k < len(w.plan.Services) {
			name = w.plan.Services[k].Name
		}
		if k == len(w.plan.Services) && len(l) == 0 {
			continue
		}
		var on []string
		for _, in := range l {
			mark := ""
			if !w.insts[in].alive(w) {
				mark = " (dead)"
			}
			on = append(on, w.machineName(w.insts[in].machine)+mark)
		}
		fmt.Fprintf(&b, "%s callers of %s see: %s\n", w.plan.Sets[set].Name, name, strings.Join(on, ", "))
	}
	return b.String()
}

func (w *World) dumpInstances(set int) string {
	var b strings.Builder
	for i := range w.insts {
		in := &w.insts[i]
		if in.set != int32(set) {
			continue
		}
		state := "up"
		switch {
		case in.off && w.slotOf != nil && w.slotOf[i] >= 0 && w.slots[w.slotOf[i]].starting:
			state = "starting"
		case in.off:
			state = "off"
		case !in.alive(w):
			state = "down"
		case in.draining:
			state = "draining"
		}
		fmt.Fprintf(&b, "%-10s %-14s %-4s busy %d/%d queued %d\n", w.instName(int32(i)), w.machineName(in.machine), state, in.busy, in.conc, in.q.len())
	}
	return b.String()
}

func dumpWindows(res *reports.Result, from, to int64) string {
	if res == nil {
		return "finish the run first"
	}
	var b strings.Builder
	for _, win := range res.Windows {
		if win.Start < from || win.Start >= to {
			continue
		}
		c := win.Counts
		fmt.Fprintf(&b, "%4s offered %4d ok %4d shed %d limited %d timeout %d error %d unavailable %d p99 %s",
			time.Duration(win.Start), c.Offered, c.Outcomes[reports.OK], c.Outcomes[reports.Shed], c.Outcomes[reports.RateLimited],
			c.Outcomes[reports.Timeout], c.Outcomes[reports.Failed], c.Outcomes[reports.Unavailable], reports.FormatLatency(win.Latency.P99))
		for _, s := range win.SetsFailed {
			fmt.Fprintf(&b, " %s:%d", res.Sets[s.Set].Name, s.Failed)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func dumpFaults(res *reports.Result) string {
	var b strings.Builder
	at := func(t, start int64) string {
		if t < 0 {
			return "never"
		}
		return "+" + time.Duration(t-start).Round(time.Millisecond).String()
	}
	for _, f := range res.Faults {
		fmt.Fprintf(&b, "%s: detected %s, rerouted %s, failover done %s, lost writes %d, users failed %d of %d\n",
			f.Name, at(f.Detected, f.Start), at(f.Rerouted, f.Start), at(f.FailoverDone, f.Start), f.LostWrites, f.UsersFailed, f.UsersActive)
	}
	for _, v := range res.Verdicts {
		fmt.Fprintf(&b, "%s %s: %s (target %s)\n", map[bool]string{true: "ok  ", false: "FAIL"}[v.Pass], v.Name(), v.Measured, v.Target)
	}
	return b.String()
}

func dumpEvents(res *reports.Result) string {
	var b strings.Builder
	for _, e := range res.Events {
		fmt.Fprintf(&b, "%s %s %s\n", dur(e.T), e.Kind, e.Detail)
	}
	return b.String()
}
