package sim

import (
	"math"
	"math/bits"
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

// queue is the event queue: a hierarchical timing wheel ordered by
// (time, sequence).
// Level 0 has 4096 slots of 1.024 us (a 4.2 ms block), level 1 4096
// slots of one block (17 s); later events wait in a 4-ary heap. A slot is
// a linked list of pooled nodes kept sorted, usually of length 0 or 1, and
// bitmaps find the next non-empty slot in a few instructions. An event is
// moved at most twice (heap to level 1, level 1 to level 0); nothing is
// allocated once the node pool has grown to the peak of pending events.
type queue struct {
	evs  []event // node i's event
	next []int32 // node i's successor in its list
	free int32   // free list of nodes, -1 when empty

	l0, l1   [1 << wBits]int32 // list heads, -1 when empty
	l0b, l1b [1 << wBits / 64]uint64
	cur      int64 // absolute level-0 slot of the last popped event
	block    int64 // absolute level-1 slot (block) level 0 holds
	super    int64 // absolute super-block level 1 holds
	far      farHeap
	n        int
	seq      uint64
}

const (
	wBits  = 12
	wMask  = 1<<wBits - 1
	s0     = 10         // level-0 slot: 2^10 ns
	s1     = s0 + wBits // level-1 slot: 2^22 ns
	sSuper = s1 + wBits // super-block: 2^34 ns
)

func newQueue() *queue {
	q := &queue{free: -1}
	for i := range q.l0 {
		q.l0[i], q.l1[i] = -1, -1
	}
	return q
}

func (q *queue) alloc(e event) int32 {
	if q.free >= 0 {
		i := q.free
		q.free = q.next[i]
		q.evs[i] = e
		q.next[i] = -1
		return i
	}
	q.evs = append(q.evs, e)
	q.next = append(q.next, -1)
	return int32(len(q.evs) - 1)
}

func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.n++
	q.place(q.alloc(e))
}

// reserve takes the next sequence number for an event pushed later with
// pushSeq: it sorts among events of the same time as if pushed now.
func (q *queue) reserve() uint64 {
	q.seq++
	return q.seq
}

// reserveN takes n consecutive sequence numbers and returns the first.
func (q *queue) reserveN(n uint64) uint64 {
	q.seq += n
	return q.seq - n + 1
}

// pushSeq adds an event with a sequence number from reserve.
func (q *queue) pushSeq(e event) {
	q.n++
	q.place(q.alloc(e))
}

// place files node i on the level its time belongs to.
func (q *queue) place(i int32) {
	t := q.evs[i].t
	switch {
	case t>>s1 == q.block:
		q.insert0(i, int(t>>s0&wMask))
	case t>>sSuper == q.super:
		s := int(t >> s1 & wMask)
		q.next[i] = q.l1[s]
		q.l1[s] = i
		q.l1b[s>>6] |= 1 << (s & 63)
	default:
		q.far.push(q.evs[i])
		q.next[i] = q.free
		q.free = i
	}
}

// insert0 adds node i to level-0 slot s, keeping the slot sorted.
func (q *queue) insert0(i int32, s int) {
	e := &q.evs[i]
	p := &q.l0[s]
	for *p >= 0 && !e.before(&q.evs[*p]) {
		p = &q.next[*p]
	}
	q.next[i] = *p
	*p = i
	q.l0b[s>>6] |= 1 << (s & 63)
}

func (q *queue) pop() (event, bool) { return q.popUntil(math.MaxInt64) }

// popUntil removes and returns the earliest event if it is due at or
// before limit.
func (q *queue) popUntil(limit int64) (event, bool) {
	s, ok := q.next0()
	if !ok {
		return event{}, false
	}
	i := q.l0[s]
	if q.evs[i].t > limit {
		return event{}, false
	}
	nx := q.next[i]
	q.l0[s] = nx
	if nx < 0 {
		q.l0b[s>>6] &^= 1 << (s & 63)
	}
	e := q.evs[i]
	q.next[i] = q.free
	q.free = i
	q.n--
	q.cur = q.block<<wBits | int64(s)
	return e, true
}

// next0 finds the first non-empty level-0 slot, cascading later blocks
// and super-blocks into level 0 as needed.
func (q *queue) next0() (int, bool) {
	for {
		if s, ok := findBit(&q.l0b, int(q.cur&wMask)); ok && q.cur>>wBits == q.block {
			return s, true
		}
		if q.n == 0 {
			return 0, false
		}
		if !q.nextBlock() {
			q.nextSuper()
		}
	}
}

// nextBlock moves the next non-empty level-1 slot of this super-block
// into level 0; false when there is none.
func (q *queue) nextBlock() bool {
	from := int(q.block&wMask) + 1
	if q.block>>wBits != q.super {
		from = 0
	}
	if from > wMask {
		return false
	}
	s, ok := findBit(&q.l1b, from)
	if !ok {
		return false
	}
	q.block = q.super<<wBits | int64(s)
	q.cur = q.block << wBits
	list := q.l1[s]
	q.l1[s] = -1
	q.l1b[s>>6] &^= 1 << (s & 63)
	for list >= 0 {
		next := q.next[list]
		q.insert0(list, int(q.evs[list].t>>s0&wMask))
		list = next
	}
	return true
}

// nextSuper moves to the super-block of the earliest far event.
func (q *queue) nextSuper() {
	if q.far.len() == 0 {
		panic("sim: queue lost events")
	}
	q.super = q.far.min().t >> sSuper
	q.block = -1
	for q.far.len() > 0 && q.far.min().t>>sSuper == q.super {
		e := q.far.pop()
		i := q.alloc(e)
		s := int(e.t >> s1 & wMask)
		q.next[i] = q.l1[s]
		q.l1[s] = i
		q.l1b[s>>6] |= 1 << (s & 63)
	}
}

// findBit returns the first set bit at or after from.
func findBit(b *[1 << wBits / 64]uint64, from int) (int, bool) {
	w := from >> 6
	word := b[w] >> (from & 63) << (from & 63)
	for {
		if word != 0 {
			return w<<6 | bits.TrailingZeros64(word), true
		}
		w++
		if w == len(b) {
			return 0, false
		}
		word = b[w]
	}
}

// farHeap is a 4-ary min-heap of events beyond level 1.
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
