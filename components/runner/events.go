package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/scenarios"
)

// pollEvery is how often the components' event logs are read.
const pollEvery = 500 * time.Millisecond

// poll reads every instance's /admin/events until ctx ends and turns the
// events into fault milestones.
func (r *runner) poll(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.pollOnce(ctx)
	}
}

// drainEvents reads what the logs hold once more at the end.
func (r *runner) drainEvents() { r.pollOnce(context.Background()) }

func (r *runner) pollOnce(ctx context.Context) {
	for i := range r.plan.Instances {
		if !r.host.Alive(i) {
			continue
		}
		r.mu.Lock()
		after := r.after[i]
		r.mu.Unlock()
		var evs []node.Event
		if err := r.getJSON(ctx, i, fmt.Sprintf("/admin/events?after=%d", after), &evs); err != nil {
			continue
		}
		for _, ev := range evs {
			r.mu.Lock()
			if ev.Seq <= r.after[i] {
				r.mu.Unlock()
				continue
			}
			r.after[i] = ev.Seq
			r.mu.Unlock()
			r.milestone(ev)
		}
	}
}

// resetEvents forgets the seqs of restarted instances (a new process
// counts from 1 again).
func (r *runner) resetEvents(ids []int) {
	r.mu.Lock()
	for _, i := range ids {
		r.after[i] = 0
	}
	r.mu.Unlock()
}

func (r *runner) getJSON(ctx context.Context, i int, path string, out any) error {
	if r.getHook != nil {
		return r.getHook(i, path, out)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.host.InstanceAddr(i)+path, nil)
	req.Header.Set("Authorization", "Bearer "+r.run.Secret)
	resp, err := r.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// milestone maps one component event to the faults it is about:
//   - a registry expiring, or the mesh declaring dead, an instance a fault
//     killed: the fault is detected; a cache refresh that drops it, or the
//     mesh (whose members stop routing to it at once): re-routed;
//   - a shard copy detecting its primary lost: detected; a promotion:
//     failover done (and re-routed: the shard's writes go to the new primary);
//   - a gateway or the access layer moving traffic off a set the fault
//     touches: re-routed.
//
// Only faults active when the event happened count (or ended less than
// a second before, for events about their end).
func (r *runner) milestone(ev node.Event) {
	t := ev.Time - r.t0.UnixNano()
	if t < 0 {
		return
	}
	p := r.plan
	if (ev.Kind == node.EvRefreshed && ev.Detail == "added") || ev.Kind == node.EvMemberUp {
		r.scale.seen(ev.Subject, t)
	}
	who := r.instName(ev.Instance)
	for f := range p.Faults {
		pf := &p.Faults[f]
		if t < pf.Start || t > pf.End+int64(time.Second) {
			continue
		}
		r.mu.Lock()
		killed := r.fstate[f].killed
		r.mu.Unlock()
		subj := ev.Subject
		switch ev.Kind {
		case node.EvExpired:
			if killed[subj] {
				r.rec.Detected(f, t, fmt.Sprintf("registry %d expired %s", ev.Instance, r.instName(subj)))
			}
		case node.EvMemberDown:
			if killed[subj] {
				r.rec.Detected(f, t, fmt.Sprintf("%s: mesh declared %s dead", who, r.instName(subj)))
				r.rec.Rerouted(f, t, fmt.Sprintf("%s stopped routing to %s", who, r.instName(subj)))
			}
		case node.EvRefreshed:
			if killed[subj] && ev.Detail != "added" {
				r.rec.Rerouted(f, t, fmt.Sprintf("%s: cache dropped %s", who, r.instName(subj)))
			}
		case node.EvPrimaryLost:
			if r.shardHit(pf, killed, ev) {
				r.rec.Detected(f, t, fmt.Sprintf("%s detected its primary lost", who))
			}
		case node.EvPromoted:
			if r.shardHit(pf, killed, ev) {
				r.rec.FailoverDone(f, t, fmt.Sprintf("shard %d: %s promoted (epoch %d)", p.Instances[ev.Instance].Shard, who, ev.Epoch))
				r.rec.Rerouted(f, t, fmt.Sprintf("shard %d: writes go to %s", p.Instances[ev.Instance].Shard, who))
			}
		case node.EvRoute:
			if contains(pf.Sets, subj) || killed[subj] {
				r.rec.Rerouted(f, t, fmt.Sprintf("%s moved traffic: %s", who, ev.Detail))
			}
		}
	}
}

// shardHit reports whether a shard event of copy ev.Instance is about a
// shard whose primary fault pf killed or cut off.
func (r *runner) shardHit(pf *faults.Planned, killed map[int]bool, ev node.Event) bool {
	in := r.plan.Instances[ev.Instance]
	if in.Role != scenarios.RoleShard {
		return false
	}
	for _, x := range r.plan.Shards[in.Shard].Replicas {
		if killed[x] {
			return true
		}
	}
	return pf.Kind.IsLink() && contains(pf.Shards, in.Shard)
}
