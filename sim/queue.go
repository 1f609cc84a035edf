package sim

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
