package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/stripelab/stripelab/components/shard"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Key moves on the real stack (data.mode sharded): when a set change is
// routed, the runner starts its copy on the primary of every shard keys
// leave (POST /admin/copy), and the shards hand the keys off among
// themselves at scaling.copy_rate (package shard). The runner reads how
// far they are (GET /admin/copy) until every moved key is confirmed by
// its new shard; then the copy has ended: the services and data proxies
// are told (POST /admin/moved) so they send those keys straight to their
// new shards, and a removed set stops grace later.

// copyPoll is how often the runner reads a copy's progress.
const copyPoll = 100 * time.Millisecond

// keyMove is the plan's key move of scaling.sets entry change (nil: none).
func keyMove(p *scenarios.Plan, change int) *scenarios.KeyMove {
	for _, m := range p.KeyMoves() {
		if m.Change == change {
			return &m
		}
	}
	return nil
}

// copyKeys runs the key move of a routed set change; sc.mu is held.
func (sc *scaler) copyKeys(ch *setChange, m *scenarios.KeyMove) {
	p := sc.r.plan
	rec := &sc.rec.Sets[ch.rec]
	rec.Keys, rec.CopyStart = int64(len(m.Users)), int64(sc.now())
	var from []int // the shards keys leave
	seen := map[int]bool{}
	for _, u := range m.Users {
		if s := m.From(p, u); !seen[s] {
			seen[s] = true
			from = append(from, s)
		}
	}
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		sc.runCopy(ch, m, from)
	}()
}

// runCopy starts the copy on every old shard, waits until each reports
// every key confirmed, and ends it.
func (sc *scaler) runCopy(ch *setChange, m *scenarios.KeyMove, from []int) {
	r := sc.r
	p := r.plan
	base := sc.copyCounters(m)
	started, copied := map[int]bool{}, map[int]bool{}
	for !sc.finished() && len(copied) < len(from) {
		for _, s := range from {
			if !started[s] {
				started[s] = sc.startCopy(s, m.Change)
			}
			if started[s] && !copied[s] && sc.shardCopied(s, m.Change) {
				copied[s] = true
			}
		}
		if len(copied) < len(from) {
			time.Sleep(copyPoll)
		}
	}
	now := sc.now()
	end := sc.copyCounters(m)
	sc.mu.Lock()
	if sc.done {
		sc.mu.Unlock()
		return
	}
	rec := &sc.rec.Sets[ch.rec]
	rec.CopyEnd = int64(now)
	rec.Forwarded = end.Forwarded - base.Forwarded
	r.rec.Event(int64(now), reports.EvSetAdded, -1, "set %s: every moved key copied (%d keys in %.2fs; %d requests forwarded to the old shard, %d redirected to the new one)",
		p.Sets[ch.set].Name, len(m.Users), time.Duration(rec.CopyEnd-rec.CopyStart).Seconds(), rec.Forwarded, end.Redirected-base.Redirected)
	sc.moved = append(sc.moved, m.Change)
	if ch.remove {
		sc.after(p.Scenario.Scaling.Grace.Std(), func() { sc.setStop(ch) })
	}
	sc.mu.Unlock()
	r.tellMoved(r.dataClients(), []int{m.Change})
}

// finished reports whether the scaler has stopped.
func (sc *scaler) finished() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.done
}

// startCopy asks shard s's copies to start the change's copy until one
// (its primary) takes it.
func (sc *scaler) startCopy(s, change int) bool {
	r := sc.r
	for _, in := range r.plan.Shards[s].Replicas {
		if r.host.Alive(in) && r.adminPost(in, fmt.Sprintf("/admin/copy?change=%d", change)) == nil {
			return true
		}
	}
	return false
}

// shardCopied reports whether shard s's primary says every key that
// leaves it was confirmed by its new shard.
func (sc *scaler) shardCopied(s, change int) bool {
	r := sc.r
	for _, in := range r.plan.Shards[s].Replicas {
		var st shard.CopyStatus
		if !r.host.Alive(in) || r.getJSON(context.Background(), in, fmt.Sprintf("/admin/copy?change=%d", change), &st) != nil {
			continue
		}
		if st.Primary {
			return st.Copied == st.Keys
		}
	}
	return false
}

// copyCounters sums the forwarded and redirected requests of the shard
// copies of m's city (each copy counts them over all moves since it
// started; the copies of one city never overlap).
func (sc *scaler) copyCounters(m *scenarios.KeyMove) shard.CopyStatus {
	r := sc.r
	p := r.plan
	var sum shard.CopyStatus
	for _, s := range p.Cities[m.City].Sets {
		for _, in := range p.Shards[s].Replicas {
			var st shard.CopyStatus
			if r.host.Alive(in) && r.getJSON(context.Background(), in, fmt.Sprintf("/admin/copy?change=%d", m.Change), &st) == nil {
				sum.Forwarded += st.Forwarded
				sum.Redirected += st.Redirected
			}
		}
	}
	return sum
}

// dataClients are the instances with a data path: services and data proxies.
func (r *runner) dataClients() []int {
	var out []int
	for i, in := range r.plan.Instances {
		if in.Role == scenarios.RoleService || in.Role == scenarios.RoleProxy {
			out = append(out, i)
		}
	}
	return out
}

// tellRestarted tells data clients (re)started after a key copy ended
// that it did: they start out knowing only the Plan's placement.
func (r *runner) tellRestarted(ids []int) {
	sc := r.scale
	if sc == nil {
		return
	}
	sc.mu.Lock()
	moved := append([]int(nil), sc.moved...)
	sc.mu.Unlock()
	if len(moved) == 0 {
		return
	}
	var clients []int
	for _, i := range ids {
		if role := r.plan.Instances[i].Role; role == scenarios.RoleService || role == scenarios.RoleProxy {
			clients = append(clients, i)
		}
	}
	r.tellMoved(clients, moved)
}

// tellMoved tells the running instances of ids that the copies of
// changes ended.
func (r *runner) tellMoved(ids, changes []int) {
	for _, i := range ids {
		if !r.host.Alive(i) {
			continue
		}
		for _, k := range changes {
			if err := r.adminPost(i, fmt.Sprintf("/admin/moved?change=%d", k)); err != nil {
				r.rec.Event(int64(r.now()), "scale-error", -1, "%s: %v", r.instName(i), err)
			}
		}
	}
}
