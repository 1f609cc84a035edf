package shard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// settings are the scenario fields a copy acts on, read once from the Plan.
type settings struct {
	sync        bool          // data.replication: sync
	acks        int           // other copies a sync write waits for (as the simulator counts data.acks)
	lag         time.Duration // data.lag: async shipping delay
	detection   time.Duration // data.detection
	promotion   time.Duration // data.promotion
	heartbeat   time.Duration // the primary's heartbeat period, a tenth of detection
	rpcTimeout  time.Duration // a replication or role call's timeout
	concurrency int           // data.concurrency
	service     scenarios.Dist
}

// nodeQueue is how many operations may wait for a slot, as in the simulator.
const nodeQueue = 1000

func settingsOf(d *scenarios.Data) settings {
	s := settings{
		sync: d.Replication == "sync", lag: d.Lag.Std(), detection: d.Detection.Std(), promotion: d.Promotion.Std(),
		concurrency: max(1, d.Concurrency), service: d.ServiceTime,
	}
	switch d.Acks {
	case "all":
		s.acks = d.Replicas - 1
	case "majority":
		s.acks = d.Replicas / 2
	default:
		s.acks = 1
	}
	if s.detection <= 0 {
		s.detection = 10 * time.Second
	}
	s.heartbeat = min(max(s.detection/10, 5*time.Millisecond), time.Second)
	s.rpcTimeout = min(max(s.detection/2, 100*time.Millisecond), 5*time.Second)
	return s
}

// sampler draws service times from a scenario distribution.
type sampler struct {
	d   scenarios.Dist
	rng *rand.Rand
}

func newSampler(d scenarios.Dist, seed uint64) *sampler {
	return &sampler{d: d, rng: rand.New(rand.NewPCG(seed, 0x5a4d))}
}

// draw is not safe for concurrent use; callers hold the shard's lock.
func (s *sampler) draw() time.Duration {
	d := s.d
	var v float64
	switch d.Dist {
	case "exponential":
		v = s.rng.ExpFloat64() * float64(d.Mean)
	case "lognormal":
		mu := math.Log(float64(d.Mean)) - d.Sigma*d.Sigma/2
		v = math.Exp(mu + d.Sigma*s.rng.NormFloat64())
	case "uniform":
		v = float64(d.Min) + s.rng.Float64()*float64(d.Max-d.Min)
	default:
		v = float64(d.Mean)
	}
	if v < 0 || math.IsNaN(v) {
		return 0
	}
	return time.Duration(min(v, float64(time.Hour)))
}

func (s settings) String() string {
	mode := "async lag " + s.lag.String()
	if s.sync {
		mode = fmt.Sprintf("sync %d acks", s.acks)
	}
	return fmt.Sprintf("%s, detection %s, promotion %s", mode, s.detection, s.promotion)
}
