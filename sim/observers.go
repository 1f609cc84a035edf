package sim

import "github.com/stripelab/stripelab/scenarios"

// A fault's milestones (detected, rerouted, failover done) are the moments
// its failure matters to someone still alive: a change of view counts only
// when a component that is up acts on it. Sidecars, caches or copies whose
// own callers died with the failure see it too, but nobody's traffic moves
// because of what they see.

// liveCaller reports whether a caller that uses cache c is up: a gateway,
// service or data proxy of the cache's scope.
func (w *World) liveCaller(c int32) bool {
	for _, i := range w.caches[c].callers {
		if w.insts[i].alive(w) {
			return true
		}
	}
	return false
}

// seenByLive reports whether instance i is in the view of a live caller.
func (w *World) seenByLive(i int32) bool {
	for _, ref := range w.insts[i].caches {
		if w.liveCaller(ref.cache) {
			return true
		}
	}
	return false
}

// isCaller reports whether instance in picks others through discovery.
func isCaller(in *instance) bool {
	return in.role == scenarios.RoleGateway || in.role == scenarios.RoleService || in.role == scenarios.RoleProxy
}

// copyMatters reports whether marking copy inst of its shard down changes
// what a live component does: the primary, up, stops holding sync writes
// for it, or a live router would read from it as its nearest copy.
func (w *World) copyMatters(inst int32) bool {
	sh := &w.shards[w.insts[inst].shard]
	if sh.primary < 0 || sh.primary == inst || !w.insts[sh.primary].alive(w) {
		return false
	}
	if w.syncRepl {
		return true
	}
	if w.readPrimary {
		return false
	}
	for _, r := range w.dataRouters {
		if w.insts[r].alive(w) && w.nearestCopy(sh, w.insts[r].machine) == inst {
			return true
		}
	}
	return false
}

// survivingCopy reports whether a copy of the shard other than its lost
// primary is up: the failure detector that notices the loss runs there.
func (w *World) survivingCopy(sh *shardState) bool {
	for _, in := range sh.reps {
		if in != sh.oldPrim && w.insts[in].alive(w) {
			return true
		}
	}
	return false
}

// buildDataRouters lists the instances that route data operations: the
// data proxies in proxy mode, else the services that call the data layer.
func (w *World) buildDataRouters() {
	for i := range w.insts {
		in := &w.insts[i]
		switch {
		case w.dataMode == dataProxy && in.role == scenarios.RoleProxy:
			w.dataRouters = append(w.dataRouters, int32(i))
		case w.dataMode != dataProxy && in.role == scenarios.RoleService && callsData(w.svcs[in.svc].calls):
			w.dataRouters = append(w.dataRouters, int32(i))
		}
	}
}

func callsData(calls []scenarios.CallPlan) bool {
	for _, c := range calls {
		if c.Kind != scenarios.CallService {
			return true
		}
	}
	return false
}
