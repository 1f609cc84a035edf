package sim

import (
	"fmt"
	"math"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// overloaded is one set with gateways instances and concurrency threads
// each in front of a service that serves about 1.6k/s, offered 1k/s that
// an overload multiplies by 2.4 for 20 s: high and normal priority (half
// the traffic) fit in what the service serves, low priority must be shed
// by about two thirds.
// Every machine is as near as every other, so adding gateways changes
// nothing but the gateway's capacity.
func overloaded(gateways, concurrency int, policy string) string {
	return fmt.Sprintf(`
run: {duration: 50s, warmup: 5s, seed: 4}
topology:
  cities: [{name: a, azs: 1, racks: 1, machines: 4}]
  latency: {same_machine: 100us, same_rack: 100us}
striping: {granularity: city}
stack:
  gateway:
    instances: %d
    concurrency: %d
    queue: {capacity: 200, timeout: 300ms}
    shedding: {policy: %s}
  discovery: {mode: mesh}
  services:
    - {name: s, instances: 1, concurrency: 8, service_time: {dist: lognormal, mean: 5ms, sigma: 0.5}}
  data: {mode: none}
workload:
  rate: 1k/s
  users: {count: 10k}
  priorities: {high: 10%%, normal: 40%%, low: 50%%}
  client: {timeout: 1s, retries: 0}
faults:
  - {at: 20s, for: 20s, kind: overload, factor: 2.4}
`, gateways, concurrency, policy)
}

// TestGatewayCapacityKeepsPriorities: under priority shedding, adding
// gateway capacity (instances, or threads per instance) at the same
// offered load never lowers a class's availability beyond noise (three
// standard errors of the difference), and high priority stays whole.
// With -short, from 2 to 4 gateways only.
func TestGatewayCapacityKeepsPriorities(t *testing.T) {
	configs := [][2]int{{2, 8}, {3, 8}, {4, 8}, {6, 8}, {8, 8}, {8, 16}}
	if testing.Short() {
		configs = [][2]int{{2, 8}, {4, 8}} // the race run: the step that broke high priority
	}
	var prev *reports.Result
	for _, c := range configs {
		_, res := runWorld(t, overloaded(c[0], c[1], "priority"))
		bp := &res.Totals.ByPriority
		t.Logf("%d gateways x %d threads: high %s normal %s low %s", c[0], c[1],
			reports.FormatPercent(bp[0].Availability()), reports.FormatPercent(bp[1].Availability()), reports.FormatPercent(bp[2].Availability()))
		if a := bp[0].Availability(); a < 0.999 {
			t.Errorf("%d gateways x %d threads: high priority at %s; want whole", c[0], c[1], reports.FormatPercent(a))
		}
		if prev != nil {
			for k := range bp {
				was, now := &prev.Totals.ByPriority[k], &bp[k]
				pa, na := was.Availability(), now.Availability()
				se := math.Sqrt(pa*(1-pa)/float64(was.Offered) + na*(1-na)/float64(now.Offered))
				if na < pa-3*se-1e-9 {
					t.Errorf("%d gateways x %d threads: %s priority fell from %s to %s",
						c[0], c[1], scenarios.PriorityNames[k], reports.FormatPercent(pa), reports.FormatPercent(na))
				}
			}
		}
		prev = res
	}
}

// TestWaitQueueByClass: a gateway's queue under priority shedding serves
// the highest class first (oldest first within it), counts for each class
// only what it waits behind, finds the longest waiter across classes and
// makes room for a higher class by pushing out the newest of the lowest.
func TestWaitQueueByClass(t *testing.T) {
	q := waitQueue{byCls: make([]ring, 3)}
	for i, cls := range []uint8{2, 1, 2, 0, 1, 2} {
		q.push(work{req: int32(i), enq: int64(i)}, cls)
	}
	if got := [3]int{q.ahead(0), q.ahead(1), q.ahead(2)}; got != [3]int{1, 3, 6} {
		t.Errorf("ahead by class %v, want [1 3 6]", got)
	}
	if k := q.oldest(); k != 2 {
		t.Errorf("oldest waiter in class %d, want 2 (request 0)", k)
	}
	if x, ok := q.evictBelow(0); !ok || x.req != 5 {
		t.Errorf("evicted %+v %v, want request 5 (the newest low)", x, ok)
	}
	if _, ok := q.evictBelow(2); ok {
		t.Error("a low request evicted a low one")
	}
	var order []int32
	for q.len() > 0 {
		order = append(order, q.pop().req)
	}
	if fmt.Sprint(order) != "[3 1 4 0 2]" {
		t.Errorf("served %v, want [3 1 4 0 2]: high, then normal, then low, oldest first", order)
	}
}
