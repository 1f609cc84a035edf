package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stripelab/stripelab/components/network"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// action is one step of the fault timeline.
type action struct {
	at     time.Duration
	fault  int
	revert bool
}

// undo is how one injected fault is reverted and the revert verified.
type undo struct {
	revert func() (string, error)
	verify func(ctx context.Context) error
}

// timeline injects every fault at its start and reverts it at its end,
// at real times from the start of the run.
func (r *runner) timeline(ctx context.Context) {
	var acts []action
	for i, f := range r.plan.Faults {
		acts = append(acts, action{at: time.Duration(f.Start), fault: i}, action{at: time.Duration(f.End), fault: i, revert: true})
	}
	sort.SliceStable(acts, func(a, b int) bool {
		if acts[a].at != acts[b].at {
			return acts[a].at < acts[b].at
		}
		return acts[a].revert && !acts[b].revert // a revert before an injection at the same time
	})
	dur := r.plan.Scenario.Run.Duration.Std()
	for _, a := range acts {
		if a.revert && a.at >= dur {
			continue // reverted by revertAll after the load stops
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(r.t0.Add(a.at))):
		}
		if a.revert {
			r.revertFault(a.fault)
		} else {
			r.inject(ctx, a.fault)
		}
	}
}

// revertAll reverts every fault still active (those lasting to the end,
// and all of them after an interrupt), in reverse order.
func (r *runner) revertAll() {
	for i := len(r.plan.Faults) - 1; i >= 0; i-- {
		r.revertFault(i)
	}
}

func (r *runner) inject(ctx context.Context, f int) {
	pf := &r.plan.Faults[f]
	at := r.now()
	u, detail, err := r.apply(ctx, pf)
	e := LedgerEntry{Fault: f, Name: pf.Name, Action: "inject", At: at, Took: r.now() - at, Detail: detail}
	if err != nil {
		e.Err = err.Error()
	}
	r.ledger.add(e)
	r.rec.Event(int64(at), reports.EvFaultStart, f, "%s starts: %s", pf.Name, detail)
	if err != nil {
		r.rec.Event(int64(at), "fault-error", f, "%s: %v", pf.Name, err)
	}
	r.log("%s", e)
	r.mu.Lock()
	r.fstate[f].active = true
	r.fstate[f].started = r.t0.Add(at)
	r.undo(f, u)
	r.mu.Unlock()
}

// undo stores or takes (u == nil) fault f's undo; r.mu is held.
func (r *runner) undo(f int, u *undo) *undo {
	if r.undos == nil {
		r.undos = make([]*undo, len(r.plan.Faults))
	}
	old := r.undos[f]
	r.undos[f] = u
	return old
}

func (r *runner) revertFault(f int) {
	r.mu.Lock()
	if !r.fstate[f].active {
		r.mu.Unlock()
		return
	}
	r.fstate[f].active = false
	r.fstate[f].ended = time.Now()
	u := r.undo(f, nil)
	r.mu.Unlock()
	pf := &r.plan.Faults[f]
	at := r.now()
	detail, err := "nothing to undo", error(nil)
	if u != nil && u.revert != nil {
		detail, err = u.revert()
	}
	e := LedgerEntry{Fault: f, Name: pf.Name, Action: "revert", At: at, Took: r.now() - at, Detail: detail}
	if err != nil {
		e.Err = err.Error()
	} else {
		// the check that the revert took: toxics gone, links up, instances healthy
		vctx, cancel := context.WithTimeout(context.Background(), r.opts.HealthTimeout)
		if u != nil && u.verify != nil {
			err = u.verify(vctx)
		}
		cancel()
		if err != nil {
			e.Err = err.Error()
		} else {
			e.Verified, e.VerifiedAt = true, r.now()
		}
	}
	r.ledger.add(e)
	r.rec.Event(int64(at), reports.EvFaultEnd, f, "%s ends: %s", pf.Name, detail)
	if e.Verified {
		r.rec.Event(int64(e.VerifiedAt), "revert-verified", f, "%s: revert verified %s after it", pf.Name, (e.VerifiedAt - at).Truncate(time.Millisecond))
	} else {
		r.rec.Event(int64(r.now()), "revert-failed", f, "%s: revert not verified: %s", pf.Name, e.Err)
	}
	r.log("%s", e)
}

// apply injects one fault and says how to undo it.
func (r *runner) apply(ctx context.Context, pf *faults.Planned) (*undo, string, error) {
	p := r.plan
	switch pf.Kind {
	case faults.MachineDown, faults.RackDown, faults.AZDown, faults.CityDown:
		return r.machinesDown(pf)
	case faults.GatewayDown:
		return r.instancesDown(pf, r.instancesOn(pf.Machines, scenarios.RoleGateway))
	case faults.ServiceDown:
		var ids []int
		for _, s := range pf.Services {
			ids = append(ids, p.Services[s].Instances...)
		}
		return r.instancesDown(pf, ids)
	case faults.RegistryDown:
		var ids []int
		for _, reg := range p.Registries {
			hit := pf.Target.Kind == faults.ScopeAll
			for _, in := range reg.Instances {
				hit = hit || contains(pf.Machines, p.Instances[in].Machine)
			}
			if hit {
				ids = append(ids, reg.Instances...)
			}
		}
		return r.instancesDown(pf, ids)
	case faults.ShardPrimaryDown:
		var ids []int
		for _, s := range pf.Shards {
			ids = append(ids, r.primaryOf(ctx, s))
		}
		return r.instancesDown(pf, ids)
	case faults.SlowMachine:
		return r.slowDown(pf)
	case faults.Overload:
		cities := pf.Cities
		if pf.Target.Kind == faults.ScopeAll {
			cities = nil
			for c := range p.Cities {
				cities = append(cities, c)
			}
		}
		for _, c := range cities {
			r.load.Scale(c, pf.Params.Factor)
		}
		detail := fmt.Sprintf("load of %s x%g", names(cities, func(c int) string { return p.Cities[c].Name }), pf.Params.Factor)
		return &undo{revert: func() (string, error) {
			for _, c := range cities {
				r.load.Scale(c, 1/pf.Params.Factor)
			}
			return detail + " undone", nil
		}}, detail, nil
	case faults.Partition, faults.Latency, faults.Loss:
		inj, err := r.net.Inject(p, pf)
		if err != nil {
			return nil, "", err
		}
		detail := fmt.Sprintf("%s toxics on %d links", pf.Kind, len(inj.Links))
		return &undo{
			revert: func() (string, error) {
				return fmt.Sprintf("toxics removed from %d links", len(inj.Links)), inj.Revert()
			},
			verify: func(context.Context) error {
				var errs []error
				errs = append(errs, inj.Verify())
				for _, l := range inj.Links {
					if !r.linkHeldDown(l) {
						errs = append(errs, l.Verify())
					}
				}
				return errors.Join(errs...)
			},
		}, detail, nil
	}
	return nil, "", fmt.Errorf("the process backend has no effect for %s", pf.Kind)
}

func (r *runner) instancesOn(ms []int, role scenarios.Role) []int {
	var out []int
	for i, in := range r.plan.Instances {
		if in.Role == role && contains(ms, in.Machine) {
			out = append(out, i)
		}
	}
	return out
}

// linksTo lists the links reaching any of the instances.
func (r *runner) linksTo(ids map[int]bool) []*network.Link {
	var out []*network.Link
	for _, l := range r.net.Links() {
		if ids[l.To] {
			out = append(out, l)
		}
	}
	return out
}

// linkHeldDown reports whether another fault still holds the link's instance down.
func (r *runner) linkHeldDown(l *network.Link) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instDown[l.To] > 0 || r.machDown[r.plan.Instances[l.To].Machine] > 0
}

// machinesDown makes the links towards the fault's machines play a dead
// host (Link.Dead: open connections fall silent, new ones are never
// answered, so callers wait for their timeouts, as the simulator's dead
// machine) and kills every instance there; the revert starts the machines
// again with the same configs and data and brings the links back.
func (r *runner) machinesDown(pf *faults.Planned) (*undo, string, error) {
	p := r.plan
	killed := map[int]bool{}
	var errs []error
	r.mu.Lock()
	for _, m := range pf.Machines {
		r.machDown[m]++
	}
	r.mu.Unlock()
	for _, m := range pf.Machines {
		for i, in := range p.Instances {
			if in.Machine == m {
				killed[i] = true
			}
		}
	}
	links := r.linksTo(killed)
	for _, l := range links {
		errs = append(errs, l.Dead())
	}
	for _, m := range pf.Machines {
		errs = append(errs, r.host.KillMachine(m))
	}
	r.markKilled(pf.Index, killed)
	running := 0 // what the plan runs there now: parked slots are not killed, being stopped
	r.mu.Lock()
	for i := range killed {
		if !r.parked[i] {
			running++
		}
	}
	r.mu.Unlock()
	detail := fmt.Sprintf("killed %s on %s", quantity(running, "instance"), names(pf.Machines, func(m int) string { return p.Machines[m].Name }))
	u := &undo{}
	u.revert = func() (string, error) {
		var errs []error
		var restarted []int
		for _, m := range pf.Machines {
			r.mu.Lock()
			r.machDown[m]--
			up := r.machDown[m] == 0
			r.mu.Unlock()
			if !up {
				continue
			}
			var cfgs []*node.Config
			for i, in := range p.Instances {
				if in.Machine == m && r.instUp(i) {
					cfgs = append(cfgs, r.cfgs[i])
					restarted = append(restarted, i)
				}
			}
			r.resetEvents(restarted)
			errs = append(errs, r.host.StartMachine(context.Background(), m, cfgs))
		}
		for _, l := range links {
			if !r.linkHeldDown(l) {
				errs = append(errs, l.Alive())
			}
		}
		u.verify = r.verifier(restarted, links)
		return fmt.Sprintf("restarted %s on %s", quantity(len(restarted), "instance"), names(pf.Machines, func(m int) string { return p.Machines[m].Name })), errors.Join(errs...)
	}
	return u, detail, errors.Join(errs...)
}

// instancesDown kills instances (SIGKILL) and takes the links to them
// down, so callers are refused at once as by a dead process on a live
// host (the simulator's process-level fault); the revert restarts them.
func (r *runner) instancesDown(pf *faults.Planned, ids []int) (*undo, string, error) {
	killed := map[int]bool{}
	r.mu.Lock()
	for _, i := range ids {
		killed[i] = true
		r.instDown[i]++
	}
	r.mu.Unlock()
	links := r.linksTo(killed)
	for _, l := range links {
		l.Down()
	}
	var errs []error
	for _, i := range sortedKeys(killed) {
		r.mu.Lock()
		parked := r.parked[i]
		r.mu.Unlock()
		if !parked {
			errs = append(errs, r.host.Kill(i))
		}
	}
	r.markKilled(pf.Index, killed)
	detail := "killed " + r.instNames(sortedKeys(killed))
	u := &undo{}
	u.revert = func() (string, error) {
		var errs []error
		var restarted []int
		for _, i := range sortedKeys(killed) {
			r.mu.Lock()
			r.instDown[i]--
			up := r.instDown[i] == 0 && r.machDown[r.plan.Instances[i].Machine] == 0 && !r.parked[i]
			r.mu.Unlock()
			if up {
				restarted = append(restarted, i)
			}
		}
		r.resetEvents(restarted)
		for _, i := range restarted {
			errs = append(errs, r.host.Start(context.Background(), r.cfgs[i]))
		}
		for _, l := range links {
			if !r.linkHeldDown(l) {
				errs = append(errs, l.Up())
			}
		}
		u.verify = r.verifier(restarted, links)
		return "restarted " + r.instNames(restarted), errors.Join(errs...)
	}
	return u, detail, errors.Join(errs...)
}

// instUp reports whether instance i should run once its machine is up:
// no fault holds it down and the plan runs it.
func (r *runner) instUp(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instDown[i] == 0 && !r.parked[i]
}

// verifier checks that the restarted instances are healthy and the links
// not held down by another fault are back to their base state.
func (r *runner) verifier(ids []int, links []*network.Link) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := r.waitHealthy(ctx, ids, r.opts.HealthTimeout); err != nil {
			return err
		}
		var errs []error
		for _, l := range links {
			if !r.linkHeldDown(l) {
				errs = append(errs, l.Verify())
			}
		}
		return errors.Join(errs...)
	}
}

// slowDown multiplies the service times of every instance on the
// fault's machines (POST /admin/slow); the revert divides them back.
func (r *runner) slowDown(pf *faults.Planned) (*undo, string, error) {
	var ids []int
	for i, in := range r.plan.Instances {
		// a registry does no timed work: it has no slow factor
		if contains(pf.Machines, in.Machine) && in.Role != scenarios.RoleRegistry {
			ids = append(ids, i)
		}
	}
	set := func(mult float64) error {
		var errs []error
		r.mu.Lock()
		for _, m := range pf.Machines {
			r.slow[m] *= mult
		}
		r.mu.Unlock()
		for _, i := range ids {
			r.mu.Lock()
			f := r.slow[r.plan.Instances[i].Machine]
			down := r.instDown[i] > 0 || r.machDown[r.plan.Instances[i].Machine] > 0
			r.mu.Unlock()
			if !down {
				errs = append(errs, r.adminPost(i, fmt.Sprintf("/admin/slow?factor=%g", f)))
			}
		}
		return errors.Join(errs...)
	}
	err := set(pf.Params.Factor)
	detail := fmt.Sprintf("service times x%g on %s", pf.Params.Factor, r.instNames(ids))
	return &undo{revert: func() (string, error) { return "service times back", set(1 / pf.Params.Factor) }}, detail, err
}

// primaryOf asks the copies of shard s which is primary (GET /v1/role);
// the initial primary when none answers.
func (r *runner) primaryOf(ctx context.Context, s int) int {
	best, epoch := r.plan.Shards[s].Replicas[0], uint64(0)
	for _, i := range r.plan.Shards[s].Replicas {
		var role struct {
			Primary bool   `json:"primary"`
			Epoch   uint64 `json:"epoch"`
		}
		if err := r.getJSON(ctx, i, "/v1/role", &role); err == nil && role.Primary && role.Epoch >= epoch {
			best, epoch = i, role.Epoch
		}
	}
	return best
}

func (r *runner) markKilled(f int, killed map[int]bool) {
	r.mu.Lock()
	r.fstate[f].killed = killed
	r.mu.Unlock()
}

func (r *runner) instNames(ids []int) string {
	if len(ids) == 0 {
		return "no instance"
	}
	var parts []string
	for _, i := range ids {
		parts = append(parts, r.instName(i))
	}
	if len(parts) > 6 {
		parts = append(parts[:6], fmt.Sprintf("and %d more", len(parts)-6))
	}
	return strings.Join(parts, ", ")
}

func (r *runner) instName(i int) string {
	in := r.plan.Instances[i]
	return fmt.Sprintf("%s %d on %s", in.Role, i, r.plan.Machines[in.Machine].Name)
}

func names(xs []int, name func(int) string) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, name(x))
	}
	if len(parts) > 6 {
		parts = append(parts[:6], fmt.Sprintf("and %d more", len(parts)-6))
	}
	return strings.Join(parts, ", ")
}

func quantity(n int, what string) string { return scenarios.Quantity(n, what) }

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
