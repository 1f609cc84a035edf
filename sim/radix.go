package sim

import (
	"math"
	"math/bits"
	"slices"
)

// queue is the event queue: a monotone priority queue (a radix heap)
// ordered by (time, sequence). Events are never scheduled before the last
// popped one, so an event is filed in bucket bits.Len(key XOR last), with
// key its time in units of 2^keyShift ns: push is O(1) and an event moves
// down a few buckets in its life. Bucket 0 holds the events of the current
// unit, kept sorted by (time, sequence). Cost stays flat as the number of
// pending events grows, unlike a binary heap's.
type queue struct {
	last    uint64 // key of the current unit
	b       [65][]event
	head    int // consumed prefix of b[0]
	n       int
	seq     uint64
	nonzero uint64 // bit i-1 set when b[i] (i >= 1) is non-empty
}

const keyShift = 10

func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.n++
	i := bits.Len64(uint64(e.t)>>keyShift ^ q.last)
	if i == 0 {
		// the current unit: insert in order after the consumed prefix
		b := append(q.b[0], e)
		k := len(b) - 1
		for k > q.head && e.before(&b[k-1]) {
			b[k] = b[k-1]
			k--
		}
		b[k] = e
		q.b[0] = b
		return
	}
	q.b[i] = append(q.b[i], e)
	q.nonzero |= 1 << (i - 1)
}

func (q *queue) pop() (event, bool) { return q.popUntil(math.MaxInt64) }

// popUntil removes and returns the earliest event if it is due at or
// before limit.
func (q *queue) popUntil(limit int64) (event, bool) {
	if q.head == len(q.b[0]) && !q.refill() {
		return event{}, false
	}
	if q.b[0][q.head].t > limit {
		return event{}, false
	}
	e := q.b[0][q.head]
	q.head++
	q.n--
	return e, true
}

func (q *queue) peekTime() (int64, bool) {
	if q.head == len(q.b[0]) && !q.refill() {
		return 0, false
	}
	return q.b[0][q.head].t, true
}

// refill empties the lowest non-empty bucket into lower ones around its
// minimum key, which becomes the new current unit.
func (q *queue) refill() bool {
	q.b[0] = q.b[0][:0]
	q.head = 0
	if q.nonzero == 0 {
		return false
	}
	i := bits.TrailingZeros64(q.nonzero) + 1
	src := q.b[i]
	m := src[0].t
	for k := 1; k < len(src); k++ {
		m = min(m, src[k].t)
	}
	q.last = uint64(m) >> keyShift
	for k := range src {
		j := bits.Len64(uint64(src[k].t)>>keyShift ^ q.last)
		q.b[j] = append(q.b[j], src[k])
		if j > 0 {
			q.nonzero |= 1 << (j - 1)
		}
	}
	q.b[i] = src[:0]
	q.nonzero &^= 1 << (i - 1)
	if len(q.b[0]) > 1 {
		slices.SortFunc(q.b[0], cmpEvent)
	}
	return true
}
