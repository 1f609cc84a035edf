package sim

import (
	"math"

	"github.com/stripelab/stripelab/internal/draw"
	"github.com/stripelab/stripelab/reports"
)

// cityState is the users of one city: their arrival process, retry
// budget and the order in which other cities serve them.
type cityState struct {
	first, count int32
	share        float64
	rate         float64       // workload rate x share, per second
	reqs         draw.Requests // user, priority and operation
	budget       float64       // retry tokens earned per first attempt
	overload     float64
	clock        arrivalClock
	arr          *rng
	users        *rng
	client       *rng
	tokens       float64
	tokenCap     float64
	byDelay      []int32 // other cities, nearest first
}

func (w *World) buildCities() {
	p := w.plan
	s := w.sc
	w.cities = make([]cityState, len(p.Cities))
	for i := range p.Cities {
		ur := p.UserCities[i]
		c := &w.cities[i]
		*c = cityState{first: int32(ur.First), count: int32(ur.Count), share: p.Cities[i].Share, overload: 1,
			arr:    newStream(w.seed, draw.StreamArrivals+uint64(i)),
			users:  newStream(w.seed, draw.StreamUsers+uint64(i)),
			client: newStream(w.seed, draw.StreamClient+uint64(i)),
		}
		c.reqs = draw.NewRequests(&s.Workload, ur.Count, p.Commands)
		c.rate = float64(s.Workload.Rate) * c.share
		budget := s.Workload.Client.RetryBudget.Fraction()
		c.budget = budget
		c.tokenCap = 10 + budget*float64(s.Workload.Rate)*c.share*10
		c.tokens = c.tokenCap
		for j := range p.Cities {
			if j != i {
				c.byDelay = append(c.byDelay, int32(j))
			}
		}
		sortByDelay(c.byDelay, func(j int32) int64 { return int64(p.CityDelay(i, int(j))) })
	}
}

func sortByDelay(xs []int32, d func(int32) int64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && (d(xs[j]) < d(xs[j-1]) || (d(xs[j]) == d(xs[j-1]) && xs[j] < xs[j-1])); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

func (w *World) newRequest(ci int32) {
	c := &w.cities[ci]
	local, prio, write, cmd := c.reqs.Next(c.users)
	user := c.first + int32(local)
	ri := w.reqs.get()
	r := &w.reqs.recs[ri]
	r.city, r.user, r.prio, r.write, r.cmd = int16(ci), user, uint8(prio), write, uint8(cmd)
	r.home = w.homeOf(ci, user)
	switch {
	case w.sharded:
		r.shard = w.dataSet(ci, user, r.home)
	case len(w.shards) > 0:
		r.shard = int32(w.plan.ShardOf(int(ci), int(user)))
	}
	r.send, r.attempt, r.refs = w.now, 1, 1
	c.tokens = math.Min(c.tokenCap, c.tokens+c.budget)
	if w.res != nil && w.res.hedgeMax > 0 {
		gi := w.hedges.get()
		w.hedges.groups[gi].attempts = 1
		w.join(gi, ri)
	}
	w.startAttempt(ri)
}

// startAttempt routes an attempt through the access layer to a gateway.
func (w *World) startAttempt(ri int32) {
	r := &w.reqs.recs[ri]
	r.start = w.now
	w.hedgeStarted(ri)
	set, gw := w.route(int32(r.city), r.user, r.home)
	if gw < 0 {
		r.refs--
		w.finishAttempt(ri, stUnavailable)
		return
	}
	if w.machines[w.insts[gw].machine].city != int32(r.city) {
		r.did |= didCross
	}
	if set != r.home {
		r.did |= didCrossSet
	}
	f := &r.frames[0]
	f.waiting = true
	f.token++
	f.edge = 0
	w.edges[w.cmds[r.cmd].edge].add(w, w.now, ri, r.gen, 0, f.token)
	r.frames[1] = frame{inst: gw}
	w.insts[gw].outstanding++
	w.sendDown(ri, 0)
}

// finishAttempt ends an attempt as the client sees it: retry after a
// backoff, or record the request's final outcome.
func (w *World) finishAttempt(ri int32, st status) { w.finishAttemptAt(ri, st, w.now) }

// finishAttemptAt ends an attempt whose outcome reaches the client at t
// (not before now): the client does nothing else in between, so its
// reaction can be computed as soon as the outcome is known.
func (w *World) finishAttemptAt(ri int32, st status, t int64) {
	r := &w.reqs.recs[ri]
	r.frames[0].waiting = false
	if w.hedgedFinish(ri, st, t) {
		return
	}
	gi := w.groupOf(ri)
	retried := int(r.attempt) - 1
	if gi >= 0 {
		retried = int(w.hedges.groups[gi].retried)
	}
	if st != stOK && retried < w.cmds[r.cmd].retries && w.retryable(st) && w.takeToken(int32(r.city)) {
		next := w.reqs.get()
		r = &w.reqs.recs[ri] // the slab may have moved
		n := &w.reqs.recs[next]
		n.city, n.user, n.prio, n.write, n.cmd = r.city, r.user, r.prio, r.write, r.cmd
		n.home, n.shard, n.send = r.home, r.shard, r.send
		n.attempt = r.attempt + 1
		n.refs = 1
		n.start = -1 // waiting for its backoff: still in flight for recordInFlight
		if gi >= 0 {
			g := &w.hedges.groups[gi]
			g.retried++
			g.attempts++
			n.attempt = g.attempts
			w.join(gi, next)
		}
		w.at(t+w.backoff(int32(r.city), retried+1), evAttempt, next, 0, 0, 0)
	} else {
		attempts := r.attempt
		if gi >= 0 {
			attempts = w.hedges.groups[gi].attempts
			w.hedges.put(gi)
		}
		w.rec.Record(&reports.Request{
			Send: r.send, Latency: t - r.send, User: r.user, Set: r.home, City: r.city,
			Priority: r.prio, Command: r.cmd, Outcome: st, Attempts: attempts, Cross: r.did&didCross != 0, CrossSet: r.did&didCrossSet != 0, Write: r.did&didWrite != 0,
		})
	}
	w.maybeFree(ri)
}

func (w *World) retryable(st status) bool {
	for _, o := range w.sc.Workload.Client.RetryOn {
		switch {
		case o == "timeout" && st == stTimeout,
			o == "error" && st == stError,
			o == "unavailable" && st == stUnavailable,
			o == "shed" && st == stShed,
			o == "rate-limited" && st == stRateLimited:
			return true
		}
	}
	return false
}

// takeToken spends one retry token of the city's budget; each first
// attempt earns budget tokens, up to ten seconds' worth plus ten.
func (w *World) takeToken(ci int32) bool {
	if w.sc.Workload.Client.RetryBudget == 0 {
		return true
	}
	c := &w.cities[ci]
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// backoff is the wait before attempt n+1: base doubled per attempt, capped,
// with the configured jitter.
func (w *World) backoff(ci int32, n int) int64 {
	b := w.sc.Workload.Client.Backoff
	wait := float64(b.Base) * math.Pow(2, float64(n-1))
	wait = math.Min(wait, float64(b.Max))
	switch b.Jitter {
	case "full":
		wait *= w.cities[ci].client.Float64()
	case "equal":
		wait = wait/2 + wait/2*w.cities[ci].client.Float64()
	}
	return int64(wait)
}

// chainEnd ends one chain of a record; the record is freed when no chain
// is left and the client no longer waits on it.
func (w *World) chainEnd(ri int32) {
	w.reqs.recs[ri].refs--
	w.maybeFree(ri)
}

func (w *World) maybeFree(ri int32) {
	r := &w.reqs.recs[ri]
	if r.refs == 0 && !r.frames[0].waiting {
		w.reqs.put(ri)
	} else if r.refs < 0 {
		panic("sim: request chain count below zero")
	}
}
