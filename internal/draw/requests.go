package draw

import "github.com/stripelab/stripelab/scenarios"

// Requests draws the user, priority and operation of a city's requests.
type Requests struct {
	count        int
	zipf         *Zipf   // nil: users are equally likely
	pHigh, pHiNo float64 // cumulative priority shares
	pWrite       float64
	pCmd         []float64 // cumulative command shares (with commands)
	cmds         []scenarios.CommandPlan
}

// NewRequests prepares the draws of a city of count users under workload
// w; cmds are the Plan's commands (none: priorities and mix decide).
func NewRequests(w *scenarios.Workload, count int, cmds []scenarios.CommandPlan) Requests {
	q := Requests{count: count, cmds: cmds}
	sum := 0.0
	for _, cp := range cmds {
		sum += cp.Share
		q.pCmd = append(q.pCmd, sum)
	}
	if w.Keys.Distribution == "zipf" && count > 1 {
		q.zipf = NewZipf(w.Keys.S, uint64(count))
	}
	pr := &w.Priorities
	q.pHigh, q.pHiNo = pr.High.Fraction(), pr.High.Fraction()+pr.Normal.Fraction()
	q.pWrite = w.Mix.Write.Fraction()
	return q
}

// Next draws, in this order from r, a request's user (an index among the
// city's users, count > 0), its command (with commands; it sets the
// priority and the write share) or priority (0 high, 1 normal, 2 low),
// and whether it writes.
func (q *Requests) Next(r Source) (local, prio int, write bool, cmd int) {
	if q.zipf != nil {
		// rank r is user (r * stride) so hot users are spread, not adjacent
		local = int(((q.zipf.Draw(r) - 1) * 2654435761) % uint64(q.count))
	} else {
		local = r.IntN(q.count)
	}
	u := r.Float64()
	prio = 2
	pWrite := q.pWrite
	switch {
	case len(q.pCmd) > 0:
		cmd = len(q.pCmd) - 1
		for k, p := range q.pCmd {
			if u < p {
				cmd = k
				break
			}
		}
		prio, pWrite = q.cmds[cmd].Priority, q.cmds[cmd].Write
	case u < q.pHigh:
		prio = 0
	case u < q.pHiNo:
		prio = 1
	}
	write = r.Float64() < pWrite
	return local, prio, write, cmd
}
