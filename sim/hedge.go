package sim

import (
	"github.com/stripelab/stripelab/reports"
)

// hedgeGroup is one client request under hedging: its attempts (the first,
// hedges and retries), how many the client still waits on, and whether an
// answer already won.
type hedgeGroup struct {
	gen      uint32
	attempts uint8 // attempts started or scheduled
	live     uint8 // attempts the client waits on
	members  [16]struct {
		req int32
		gen uint32
	}
	n       uint8
	retried uint8 // retries after every attempt failed
	next    int32 // free list
}

// hedgeGroups is a pool of groups; recGroup maps a request record to its
// group (index + 1; 0 none).
type hedgeGroups struct {
	groups   []hedgeGroup
	free     int32
	recGroup []int32
}

func (h *hedgeGroups) get() int32 {
	if len(h.groups) == 0 {
		h.groups = append(h.groups, hedgeGroup{})
	}
	var i int32
	if h.free != 0 {
		i = h.free
		h.free = h.groups[i].next
	} else {
		h.groups = append(h.groups, hedgeGroup{})
		i = int32(len(h.groups) - 1)
	}
	g := &h.groups[i]
	gen := g.gen + 1
	*g = hedgeGroup{gen: gen}
	return i
}

func (h *hedgeGroups) put(i int32) {
	g := &h.groups[i]
	g.gen++
	g.next = h.free
	h.free = i
}

// join makes record ri an attempt of group gi.
func (w *World) join(gi, ri int32) {
	h := &w.hedges
	for int(ri) >= len(h.recGroup) {
		h.recGroup = append(h.recGroup, 0)
	}
	h.recGroup[ri] = gi + 1
	g := &h.groups[gi]
	if int(g.n) < len(g.members) {
		g.members[g.n].req, g.members[g.n].gen = ri, w.reqs.recs[ri].gen
		g.n++
	}
}

func (w *World) groupOf(ri int32) int32 {
	if w.res == nil || w.res.hedgeMax == 0 || int(ri) >= len(w.hedges.recGroup) {
		return -1
	}
	return w.hedges.recGroup[ri] - 1
}

// hedgeStarted notes that attempt ri started and schedules the next
// hedge delay later, while the group has attempts left.
func (w *World) hedgeStarted(ri int32) {
	gi := w.groupOf(ri)
	if gi < 0 {
		return
	}
	g := &w.hedges.groups[gi]
	g.live++
	if int(g.attempts) < w.res.hedgeMax {
		w.at(w.now+w.res.hedgeDelay, evHedge, gi, int32(g.attempts), g.gen, 0)
	}
}

// onHedge sends a hedge if the attempt it follows is still outstanding
// (no other attempt started since, no answer won) and a retry token is
// left: the same bucket throttles retries and hedges.
func (w *World) onHedge(gi int32, gen uint32, attempts int32) {
	g := &w.hedges.groups[gi]
	if g.gen != gen || g.live == 0 || int32(g.attempts) != attempts || int(g.attempts) >= w.res.hedgeMax {
		return
	}
	var first int32 = -1
	for i := 0; i < int(g.n); i++ {
		m := g.members[i]
		if r := &w.reqs.recs[m.req]; r.gen == m.gen && r.frames[0].waiting {
			first = m.req
			break
		}
	}
	if first < 0 || !w.takeToken(int32(w.reqs.recs[first].city)) {
		return
	}
	next := w.reqs.get()
	r := &w.reqs.recs[first]
	n := &w.reqs.recs[next]
	n.city, n.user, n.prio, n.write, n.cmd = r.city, r.user, r.prio, r.write, r.cmd
	n.home, n.shard, n.send = r.home, r.shard, r.send
	g.attempts++
	n.attempt = g.attempts
	n.refs = 1
	w.join(gi, next)
	w.startAttempt(next)
}

// hedgedFinish handles the end of an attempt of a hedged request at t; it
// returns true when the request goes on (another attempt is still out) or
// ended here, false when the ordinary end (retry or record) applies.
func (w *World) hedgedFinish(ri int32, st status, t int64) bool {
	gi := w.groupOf(ri)
	if gi < 0 {
		return false
	}
	g := &w.hedges.groups[gi]
	g.live--
	if st != stOK {
		if g.live > 0 {
			w.maybeFree(ri) // the others may still win
			return true
		}
		return false // every attempt failed: retry or record
	}
	// the first OK answer wins: the client stops waiting for the others
	for i := 0; i < int(g.n); i++ {
		m := g.members[i]
		if m.req == ri {
			continue
		}
		if o := &w.reqs.recs[m.req]; o.gen == m.gen && o.frames[0].waiting {
			o.frames[0].waiting = false
			w.insts[o.frames[1].inst].outstanding--
			w.maybeFree(m.req)
		}
	}
	r := &w.reqs.recs[ri]
	w.rec.Record(&reports.Request{
		Send: r.send, Latency: t - r.send, User: r.user, Set: r.home, City: r.city,
		Priority: r.prio, Command: r.cmd, Outcome: st, Attempts: g.attempts, Cross: r.did&didCross != 0, CrossSet: r.did&didCrossSet != 0, Write: r.did&didWrite != 0,
	})
	w.hedges.put(gi)
	w.maybeFree(ri)
	return true
}

// onClientAnswer is an answer reaching a hedging client: as answerClient,
// but as an event, so that a hedge due before it still goes.
func (w *World) onClientAnswer(ri int32, st status) {
	r := &w.reqs.recs[ri]
	f := &r.frames[0]
	if !f.waiting {
		w.chainEnd(ri)
		return
	}
	f.waiting = false
	w.insts[r.frames[1].inst].outstanding--
	r.refs--
	w.finishAttemptAt(ri, st, w.now)
}
