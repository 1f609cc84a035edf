package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQueueOrder checks the calendar queue against a sorted reference on
// random schedules with ties, far events and pushes into the current bucket.
type eventQueue interface {
	push(event)
	pop() (event, bool)
}

func TestQueueOrder(t *testing.T) {
	testOrder(t, func() eventQueue { return newQueue() })
}

func testOrder(t *testing.T, mk func() eventQueue) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		q := mk()
		n := 0
		var ref []event
		var now int64
		var seq uint64
		pushes := 0
		for step := 0; step < 20000; step++ {
			if r.IntN(3) > 0 || n == 0 {
				n++
				var d int64
				switch r.IntN(5) {
				case 0:
					d = 0
				case 1:
					d = r.Int64N(1000)
				case 2:
					d = r.Int64N(1e7)
				case 3:
					d = r.Int64N(1e10)
				default:
					d = r.Int64N(1e11) // beyond the wheel
				}
				e := event{t: now + d, a: int32(pushes)}
				pushes++
				q.push(e)
				seq++
				e.seq = seq
				i, _ := slices.BinarySearchFunc(ref, e, cmpEvent)
				ref = slices.Insert(ref, i, e)
				continue
			}
			got, ok := q.pop()
			n--
			if !ok {
				t.Fatal("queue empty while the reference is not")
			}
			want := ref[0]
			ref = ref[1:]
			if got.t != want.t || got.a != want.a {
				t.Fatalf("seed %d step %d: popped t=%d a=%d, want t=%d a=%d", seed, step, got.t, got.a, want.t, want.a)
			}
			now = got.t
		}
	}
}

// delayMix draws delays shaped like the simulator's: many sub-millisecond
// hops, some milliseconds of service, some cross-city, a few timeouts.
func delayMix(r *rand.Rand) int64 {
	switch u := r.IntN(100); {
	case u < 50:
		return 20_000 + r.Int64N(300_000)
	case u < 80:
		return 1_000_000 + r.Int64N(4_000_000)
	case u < 95:
		return 10_000_000 + r.Int64N(20_000_000)
	default:
		return 200_000_000 + r.Int64N(800_000_000)
	}
}

// BenchmarkQueueHold measures one pop plus one push with n events
// pending (the classic hold model), with delays shaped like the
// simulator's; the cost of drawing a delay is BenchmarkDelayMix.
func BenchmarkQueueHold(b *testing.B) {
	for _, n := range []int{200, 1000, 5000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			q := newQueue()
			for i := 0; i < n; i++ {
				q.push(event{t: delayMix(r)})
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e, _ := q.pop()
				q.push(event{t: e.t + delayMix(r)})
			}
		})
	}
}

func BenchmarkDelayMix(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var s int64
	for i := 0; i < b.N; i++ {
		s += delayMix(r)
	}
	_ = s
}

// cmpEvent orders events like the queue: by time, then sequence.
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
