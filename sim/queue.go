package sim

import (
	"math/bits"
	"slices"
)

// event is one scheduled occurrence. It is a plain value (no pointers,
// no closures) so the queue holds it without allocation or GC scanning.
type event struct {
	t    int64
	seq  uint64
	kind evKind
	b    uint8 // small argument: status, flag
	a    int32 // main argument: a request, instance, shard, city or fault
	c    int32 // second argument: a depth, an instance
	gen  uint32
}

func (e *event) before(o *event) bool {
	return e.t < o.t || (e.t == o.t && e.seq < o.seq)
}

func cmpEvent(x, y event) int {
	switch {
	case x.t < y.t:
		return -1
	case x.t > y.t:
		return 1
	case x.seq < y.seq:
		return -1
	case x.seq > y.seq:
		return 1
	}
	return 0
}

// queue is a calendar queue ordered by (time, sequence): a wheel of
// buckets of 2^shift ns covering the near future, each bucket unsorted
// until the clock reaches it, and a 4-ary heap for events beyond the
// wheel. Events are never scheduled in the past, so pushing is O(1) and
// popping is amortized O(events per bucket); cost stays flat as the number
// of pending events grows, unlike a binary heap.
type queue struct {
	shift   uint
	mask    int64
	buckets [][]event
	nonzero []uint64 // bitmap of non-empty buckets
	cur     int64    // absolute index of the bucket being consumed
	head    []event  // the current bucket, sorted; consumed from pos
	pos     int
	far     farHeap
	seq     uint64
	n       int
}

const wheelBits = 16

func newQueue(shift uint) *queue {
	nb := 1 << wheelBits
	return &queue{
		shift:   shift,
		mask:    int64(nb - 1),
		buckets: make([][]event, nb),
		nonzero: make([]uint64, nb/64),
	}
}

// push schedules e; e.t must not be before the last popped event.
func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.n++
	b := e.t >> q.shift
	switch {
	case b <= q.cur:
		// the bucket being consumed: insert in order after pos
		i := len(q.head)
		q.head = append(q.head, e)
		for i > q.pos && e.before(&q.head[i-1]) {
			q.head[i] = q.head[i-1]
			i--
		}
		q.head[i] = e
	case b < q.cur+q.mask+1:
		s := b & q.mask
		q.buckets[s] = append(q.buckets[s], e)
		q.nonzero[s>>6] |= 1 << (s & 63)
	default:
		q.far.push(e)
	}
}

// pop removes and returns the earliest event; ok is false when empty.
func (q *queue) pop() (e event, ok bool) {
	if q.pos == len(q.head) && !q.advance() {
		return event{}, false
	}
	e = q.head[q.pos]
	q.pos++
	q.n--
	return e, true
}

// peekTime returns the time of the earliest event, or false when empty.
func (q *queue) peekTime() (int64, bool) {
	if q.pos == len(q.head) && !q.advance() {
		return 0, false
	}
	return q.head[q.pos].t, true
}

// advance moves the wheel to the next non-empty bucket, merging in far
// events that fall into it, and sorts that bucket.
func (q *queue) advance() bool {
	if q.n == 0 {
		return false
	}
	next, found := q.nextWheel()
	if q.far.len() > 0 {
		if fb := q.far.min().t >> q.shift; !found || fb < next {
			next, found = fb, true
		}
	}
	// recycle the consumed bucket's storage
	old := q.head[:0]
	q.cur = next
	s := next & q.mask
	q.head = q.buckets[s]
	q.buckets[s] = old
	q.nonzero[s>>6] &^= 1 << (s & 63)
	for q.far.len() > 0 && q.far.min().t>>q.shift == next {
		q.head = append(q.head, q.far.pop())
	}
	q.pos = 0
	if len(q.head) > 1 {
		slices.SortFunc(q.head, cmpEvent)
	}
	return true
}

// nextWheel finds the first non-empty bucket after cur within the wheel.
func (q *queue) nextWheel() (int64, bool) {
	nb := q.mask + 1
	start := q.cur + 1
	for off := int64(0); off < nb; {
		s := (start + off) & q.mask
		word := q.nonzero[s>>6] >> (s & 63)
		if word != 0 {
			tz := int64(bits.TrailingZeros64(word))
			if off+tz < nb {
				return start + off + tz, true
			}
			return 0, false
		}
		off += 64 - (s & 63)
	}
	return 0, false
}

// farHeap is a 4-ary min-heap of events beyond the wheel.
type farHeap struct{ h []event }

func (f *farHeap) len() int    { return len(f.h) }
func (f *farHeap) min() *event { return &f.h[0] }

func (f *farHeap) push(e event) {
	f.h = append(f.h, e)
	i := len(f.h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !e.before(&f.h[p]) {
			break
		}
		f.h[i] = f.h[p]
		i = p
	}
	f.h[i] = e
}

func (f *farHeap) pop() event {
	top := f.h[0]
	last := f.h[len(f.h)-1]
	f.h = f.h[:len(f.h)-1]
	n := len(f.h)
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if f.h[k].before(&f.h[m]) {
				m = k
			}
		}
		if !f.h[m].before(&last) {
			break
		}
		f.h[i] = f.h[m]
		i = m
	}
	f.h[i] = last
	return top
}
