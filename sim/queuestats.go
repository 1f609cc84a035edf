package sim

import (
	"math"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// queueCounters are an instance's queue figures over the measured part of
// the run ([warm-up, end)): the calls that reached it, those that waited
// for a thread and their time in the queue, those turned away by a full
// queue, those that waited past the gateway's wait limit or that its
// policy shed, and the thread time in use (ns x threads). A call counts by
// the time it arrived; thread time is the part of each hold of a thread
// inside the measured span. They are sim counters only, deterministic, and
// the same whether work is settled ahead or not.
type queueCounters struct {
	calls, waited, waitNS, rejected, expired, shed int64
	// busyNS adds each thread release's time and takes each take's
	// (clipped to the span): the running sum is the thread time of the
	// holds that ended, less the open holds' start times.
	busyNS int64
	// busyAll is the same over the whole run, unclipped (the autoscaler's
	// utilization).
	busyAll int64
}

// measured reports whether t is inside the measured span.
func (w *World) measured(t int64) bool { return t >= w.warmup && t < w.end }

// clip bounds t to the measured span.
func (w *World) clip(t int64) int64 { return min(max(t, w.warmup), w.end) }

// countCall counts n calls (-1: one taken back) reaching in at t.
func (w *World) countCall(in *instance, t int64, n int64) {
	if w.measured(t) {
		in.qc.calls += n
	}
}

// takeThread and releaseThread account a thread of in taken or given back
// at t (the time of the event it stands for, not of the code that notes it).
func (w *World) takeThread(in *instance, t int64) {
	in.qc.busyNS -= w.clip(t)
	in.qc.busyAll -= t
}

func (w *World) releaseThread(in *instance, t int64) {
	in.qc.busyNS += w.clip(t)
	in.qc.busyAll += t
}

// queueRows sums the instances' counters by what they run: the gateway,
// each service, the data proxy and the shard nodes. The threads still held
// now count as held until now; holds that ended are released first.
func (w *World) queueRows() []reports.QueueCounts {
	seq := w.seqNow
	w.seqNow = math.MaxUint64 // every hold ending by now has ended
	for i := range w.machines {
		if len(w.machines[i].holds) > 0 {
			w.settle(&w.machines[i])
		}
	}
	w.seqNow = seq
	rows := []reports.QueueCounts{{Name: "gateway", Role: scenarios.RoleGateway.String()}}
	for _, sv := range w.plan.Services {
		rows = append(rows, reports.QueueCounts{Name: sv.Name, Role: scenarios.RoleService.String()})
	}
	proxy, shard := len(rows), len(rows)+1
	rows = append(rows, reports.QueueCounts{Name: "data proxy", Role: scenarios.RoleProxy.String()},
		reports.QueueCounts{Name: "shard node", Role: scenarios.RoleShard.String()})
	for i := range w.insts {
		in := &w.insts[i]
		k := -1
		switch in.role {
		case scenarios.RoleGateway:
			k = 0
		case scenarios.RoleService:
			k = 1 + int(in.svc)
		case scenarios.RoleProxy:
			k = proxy
		case scenarios.RoleShard:
			k = shard
		}
		if k >= 0 && in.ran {
			addQueue(&rows[k], in, in.qc.busyNS+int64(in.busy)*w.clip(w.now))
		}
	}
	out := rows[:0]
	for _, r := range rows {
		if r.Instances > 0 {
			out = append(out, r)
		}
	}
	return out
}

func addQueue(r *reports.QueueCounts, in *instance, busy int64) {
	c := &in.qc
	r.Instances++
	r.Threads += int64(in.conc)
	r.QueueCapacity += int64(in.qcap)
	r.Calls += c.calls
	r.Waited += c.waited
	r.WaitNS += c.waitNS
	r.Rejected += c.rejected
	r.Expired += c.expired
	r.Shed += c.shed
	r.BusyThreadNS += busy
}
