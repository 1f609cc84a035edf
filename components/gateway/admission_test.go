package gateway

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

func testAdmission(policy string, conc, capacity int, timeout time.Duration) *admission {
	gs := &scenarios.Gateway{Concurrency: conc, Queue: scenarios.Queue{Capacity: capacity, Timeout: scenarios.Duration(timeout)},
		Shedding: scenarios.Shedding{Policy: policy, High: 0.9, Normal: 0.5, Low: 0.25, Start: 0.5}}
	return newAdmission(gs, node.RealClock{}, 1, 0)
}

// offer makes n requests arrive one after another, classes in a shuffled
// cycle, while every slot stays busy; it returns for each class the index
// of its first shed arrival (n when none) and its shed count.
func offer(t *testing.T, a *admission, n int) (first, shed [3]int) {
	first = [3]int{n, n, n}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		cls := rng.IntN(3)
		got := make(chan string, 1)
		wg.Go(func() { got <- a.acquire(ctx, cls) })
		synctest.Wait() // it is queued or answered
		select {
		case r := <-got:
			if r == "" {
				continue
			}
			if first[cls] == n {
				first[cls] = i
			}
			shed[cls]++
		default:
		}
	}
	cancel()
	wg.Wait()
	return first, shed
}

// Under priority shedding, low is shed first, then normal, then high, and
// over the same arrivals each class loses less than the one below it.
func TestSheddingDropsLowBeforeNormalBeforeHigh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := testAdmission("priority", 1, 60, 0)
		a.acquire(context.Background(), 0) // the one slot stays busy
		first, shed := offer(t, a, 400)
		if !(first[2] < first[1] && first[1] < first[0]) {
			t.Errorf("first shed arrival by class high/normal/low = %v, want low < normal < high", first)
		}
		if !(shed[2] > shed[1] && shed[1] > shed[0]) {
			t.Errorf("shed counts high/normal/low = %v, want low > normal > high", shed)
		}
		if a.q[0].n+a.q[1].n+a.q[2].n > a.capacity {
			t.Errorf("queue holds %d, capacity %d", a.n, a.capacity)
		}
	})
}

// Under random shedding every class is treated alike; under none only a
// full queue sheds, and a request that finds it full is shed whatever its class.
func TestSheddingRandomAndNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := testAdmission("random", 1, 60, 0)
		a.acquire(context.Background(), 0)
		first, shed := offer(t, a, 600)
		// the start is 50% of 60 = 30 waiting: no class is shed before 30 arrivals
		for k, f := range first {
			if f < 30 {
				t.Errorf("random: class %d shed at arrival %d, before the queue reached its start", k, f)
			}
		}
		lo, hi := min(shed[0], shed[1], shed[2]), max(shed[0], shed[1], shed[2])
		if lo == 0 || float64(hi)/float64(lo) > 1.5 {
			t.Errorf("random: shed counts %v differ by class", shed)
		}
		b := testAdmission("none", 1, 60, 0)
		b.acquire(context.Background(), 0)
		first, shed = offer(t, b, 200)
		if total := shed[0] + shed[1] + shed[2]; total != 200-60 {
			t.Errorf("none: %d shed of 200 with room for 60, want 140", total)
		}
		if min(first[0], first[1], first[2]) < 60 {
			t.Errorf("none: a shed (%v) before the queue was full", first)
		}
	})
}

// A request that finds a full queue pushes out the newest one of the
// lowest class below it.
func TestFullQueueEvictsNewestLowest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := testAdmission("priority", 1, 3, 0)
		a.shedAt = [3]float64{1, 1, 1} // only a full queue sheds
		a.acquire(context.Background(), 0)
		ctx, cancel := context.WithCancel(context.Background())
		res := make([]chan string, 4)
		for i, cls := range []int{2, 1, 2, 0} {
			res[i] = make(chan string, 1)
			go func() { res[i] <- a.acquire(ctx, cls) }()
			synctest.Wait()
		}
		select {
		case r := <-res[2]:
			if r != "evicted" {
				t.Errorf("newest low: %q, want evicted", r)
			}
		default:
			t.Fatal("the high arrival did not push out the newest low")
		}
		if got := a.acquire(ctx, 2); got != "overload" && got != "queue_full" {
			t.Errorf("low arriving at a full queue with nothing lower: %q, want it shed", got)
		}
		a.release() // the slot goes to the high one
		if r := <-res[3]; r != "" {
			t.Errorf("high: %q, want the slot", r)
		}
		cancel()
		<-res[0]
		<-res[1]
	})
}

// A request waiting longer than the queue's timeout is shed at that
// moment, not earlier; served in time, it gets the slot.
func TestQueueTimeoutSheds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 30 * time.Millisecond
		a := testAdmission("priority", 1, 10, timeout)
		a.acquire(context.Background(), 0)
		start := time.Now()
		if got := a.acquire(context.Background(), 1); got != "queue_timeout" {
			t.Errorf("waited past the timeout: %q, want queue_timeout", got)
		}
		if d := time.Since(start); d != timeout {
			t.Errorf("shed after %v, want %v", d, timeout)
		}
		go func() { time.Sleep(timeout - time.Millisecond); a.release() }()
		if got := a.acquire(context.Background(), 1); got != "" {
			t.Errorf("freed in time: %q, want the slot", got)
		}
		if a.n != 0 || a.busy != 1 {
			t.Errorf("after: %d queued, %d busy", a.n, a.busy)
		}
	})
}

// Under priority shedding the wait limit falls on the lowest class: a
// high request arriving behind low ones is served first.
func TestPriorityQueueServesHighFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := testAdmission("priority", 1, 10, 0)
		a.shedAt = [3]float64{1, 1, 1}
		a.acquire(context.Background(), 0)
		order := make(chan int, 3)
		for _, cls := range []int{2, 1, 0} {
			go func() {
				a.acquire(context.Background(), cls)
				order <- cls
				a.release()
			}()
			synctest.Wait()
		}
		a.release()
		for _, want := range []int{0, 1, 2} {
			if got := <-order; got != want {
				t.Errorf("served class %d, want %d", got, want)
			}
		}
	})
}
