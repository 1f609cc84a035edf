package sim

import (
	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// faultState is what the simulator remembers of a fault while it applies it.
type faultState struct {
	doneAt int64 // the last re-route it caused (access or discovery), or -1
	// lastCall is the last time a call was sent to its machines while it
	// lasted (with resilience policies), or -1
	lastCall int64
	isolated bool    // the isolation milestone is recorded
	procs    []int32 // instances it stopped at process level
	link     *linkFault
	regs     []int32
}

func (w *World) buildFaults() {
	w.faults = make([]faultState, len(w.plan.Faults))
	for i := range w.faults {
		w.faults[i].doneAt = -1
	}
}

// faultStart applies fault i. Every kind of the fault table has a case.
func (w *World) faultStart(i int) {
	w.demoteAll()
	defer w.setFaultNext()
	pf := &w.plan.Faults[i]
	fs := &w.faults[i]
	w.rec.Event(w.now, reports.EvFaultStart, i, "%s starts", pf.Name)
	w.isolationStart(i)
	fi := int32(i)
	switch pf.Kind {
	case faults.MachineDown, faults.RackDown, faults.AZDown, faults.CityDown:
		for _, m := range pf.Machines {
			w.machineDown(int32(m), fi)
		}
	case faults.GatewayDown:
		fs.procs = w.instancesOn(pf.Machines, func(in *instance) bool { return in.role == scenarios.RoleGateway })
	case faults.ServiceDown:
		for _, in := range w.plan.Services[pf.Services[0]].Instances {
			fs.procs = append(fs.procs, int32(in))
		}
	case faults.ShardPrimaryDown:
		for _, s := range pf.Shards {
			if p := w.shards[s].primary; p >= 0 {
				fs.procs = append(fs.procs, p)
			}
		}
	case faults.SlowMachine:
		for _, m := range pf.Machines {
			w.machines[m].slow *= pf.Params.Factor
		}
	case faults.RegistryDown:
		for r := range w.regs {
			if pf.Target.Kind == faults.ScopeAll || w.registryIn(int32(r), pf.Machines) {
				fs.regs = append(fs.regs, int32(r))
				w.regs[r].down++
				w.registryChanged(int32(r))
			}
		}
	case faults.Overload:
		for _, c := range w.overloadCities(pf) {
			w.setOverload(c, w.cities[c].overload*pf.Params.Factor)
		}
	case faults.Partition, faults.Latency, faults.Loss:
		fs.link = w.newLinkFault(i)
		w.links = append(w.links, fs.link)
		if pf.Kind == faults.Partition {
			w.recheckAccess(nil, fi)
		}
	default:
		panic("sim: fault kind without an effect: " + pf.Kind.String())
	}
	for _, p := range fs.procs {
		w.procDown(p, fi)
	}
}

// faultEnd undoes fault i.
func (w *World) faultEnd(i int) {
	w.demoteAll()
	defer w.setFaultNext()
	pf := &w.plan.Faults[i]
	fs := &w.faults[i]
	w.rec.Event(w.now, reports.EvFaultEnd, i, "%s ends", pf.Name)
	w.isolationEnd(i)
	switch pf.Kind {
	case faults.MachineDown, faults.RackDown, faults.AZDown, faults.CityDown:
		for _, m := range pf.Machines {
			w.machineUp(int32(m))
		}
	case faults.SlowMachine:
		for _, m := range pf.Machines {
			w.machines[m].slow /= pf.Params.Factor
		}
	case faults.RegistryDown:
		for _, r := range fs.regs {
			w.regs[r].down--
			w.registryChanged(r)
		}
	case faults.Overload:
		for _, c := range w.overloadCities(pf) {
			w.setOverload(c, w.cities[c].overload/pf.Params.Factor)
		}
	case faults.Partition, faults.Latency, faults.Loss:
		for k, l := range w.links {
			if l == fs.link {
				w.links = append(w.links[:k], w.links[k+1:]...)
				break
			}
		}
		if pf.Kind == faults.Partition {
			w.recheckAccess(nil, -1)
		}
	}
	for _, p := range fs.procs {
		w.procUp(p)
	}
}

func (w *World) overloadCities(pf *faults.Planned) []int {
	if pf.Target.Kind == faults.ScopeAll {
		all := make([]int, len(w.cities))
		for i := range all {
			all[i] = i
		}
		return all
	}
	return pf.Cities
}

func (w *World) instancesOn(ms []int, keep func(*instance) bool) []int32 {
	var out []int32
	for _, m := range ms {
		for _, i := range w.machines[m].insts {
			if keep(&w.insts[i]) {
				out = append(out, i)
			}
		}
	}
	return out
}

func containsSorted(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// machineDown crashes a machine: its running and queued work vanishes and
// every instance on it stops answering.
func (w *World) machineDown(mi int32, fault int32) {
	m := &w.machines[mi]
	m.down++
	if m.down > 1 {
		return
	}
	m.epoch++
	m.fault = fault
	m.busy = 0
	m.runq.clear(func(x work) { w.chainEnd(x.req) })
	var gws []int32
	for _, i := range m.insts {
		in := &w.insts[i]
		if in.procDown == 0 && !in.off {
			in.fault = fault
			w.instDown(i)
		}
		if in.role == scenarios.RoleGateway {
			gws = append(gws, i)
		}
	}
	if gws != nil {
		w.recheckAccess(gws, fault)
	}
}

func (w *World) machineUp(mi int32) {
	m := &w.machines[mi]
	m.down--
	if m.down > 0 {
		return
	}
	var gws []int32
	for _, i := range m.insts {
		if w.insts[i].procDown == 0 && !w.insts[i].off {
			w.instUp(i)
		}
		if w.insts[i].role == scenarios.RoleGateway {
			gws = append(gws, i)
		}
	}
	if gws != nil {
		w.recheckAccess(gws, -1)
	}
}

func (w *World) procDown(i int32, fault int32) {
	in := &w.insts[i]
	was := in.alive(w)
	in.procDown++
	if !was {
		return
	}
	in.fault = fault
	w.instDown(i)
	if in.role == scenarios.RoleGateway {
		w.recheckAccess([]int32{i}, fault)
	}
}

func (w *World) procUp(i int32) {
	in := &w.insts[i]
	in.procDown--
	if !in.alive(w) {
		return
	}
	w.instUp(i)
	if in.role == scenarios.RoleGateway {
		w.recheckAccess([]int32{i}, -1)
	}
}

// instDown stops a live instance: a new incarnation, its queue dropped,
// and every layer that tracks it told.
func (w *World) instDown(i int32) {
	in := &w.insts[i]
	in.inc++
	in.qc.busyNS += int64(in.busy) * w.clip(w.now) // its threads are freed
	in.qc.busyAll += int64(in.busy) * w.now
	in.busy = 0
	in.gwTimer = false
	in.diedAt = w.now
	in.q.clear(func(x work) { w.chainEnd(x.req) })
	switch in.role {
	case scenarios.RoleShard:
		w.shardNodeDown(i)
	case scenarios.RoleRegistry:
		w.registryChanged(w.registryServedBy(i))
	default:
		w.discoveryDown(i)
	}
}

func (w *World) instUp(i int32) {
	in := &w.insts[i]
	in.inc++
	in.busy = 0
	if w.slotOf != nil && w.slotOf[i] >= 0 {
		w.slots[w.slotOf[i]].since = w.now // the autoscaler measures it from a whole period on
	}
	switch in.role {
	case scenarios.RoleShard:
		w.shardNodeUp(i)
	case scenarios.RoleRegistry:
		w.registryChanged(w.registryServedBy(i))
	default:
		w.discoveryUp(i)
	}
}

func (w *World) registryServedBy(inst int32) int32 {
	return w.registryOfInst[inst]
}

// registryIn reports whether a copy of registry r runs on one of machines.
func (w *World) registryIn(r int32, machines []int) bool {
	for _, in := range w.regs[r].insts {
		if containsSorted(machines, int(w.insts[in].machine)) {
			return true
		}
	}
	return false
}
