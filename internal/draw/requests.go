package draw

import "github.com/stripelab/stripelab/scenarios"

// Requests draws the user, priority and operation of a city's requests.
type Requests struct {
	count        int
	zipf         *Zipf   // nil: users are equally likely
	pHigh, pHiNo float64 // cumulative priority shares
	pWrite       float64
}

// NewRequests prepares the draws of a city of count users under workload w.
func NewRequests(w *scenarios.Workload, count int) Requests {
	q := Requests{count: count}
	if w.Keys.Distribution == "zipf" && count > 1 {
		q.zipf = NewZipf(w.Keys.S, uint64(count))
	}
	pr := &w.Priorities
	q.pHigh, q.pHiNo = pr.High.Fraction(), pr.High.Fraction()+pr.Normal.Fraction()
	q.pWrite = w.Mix.Write.Fraction()
	return q
}

// Next draws, in this order from r, a request's user (an index among the
// city's users, count > 0), its priority (0 high, 1 normal, 2 low) and
// whether it writes.
func (q *Requests) Next(r Source) (local, prio int, write bool) {
	if q.zipf != nil {
		// rank r is user (r * stride) so hot users are spread, not adjacent
		local = int(((q.zipf.Draw(r) - 1) * 2654435761) % uint64(q.count))
	} else {
		local = r.IntN(q.count)
	}
	u := r.Float64()
	prio = 2
	switch {
	case u < q.pHigh:
		prio = 0
	case u < q.pHiNo:
		prio = 1
	}
	write = r.Float64() < q.pWrite
	return local, prio, write
}
