package mesh

import (
	"math"
	"time"

	"github.com/hashicorp/memberlist"
)

// Tuning is how discovery.detection and discovery.propagation become
// memberlist's failure detector (SWIM with Lifeguard suspicion).
//
// A death is learned in three steps: some member probes the dead one
// (each member probes one member per ProbeInterval, so with n members the
// first probe comes within about ProbeInterval/(n-1)); the probe fails,
// direct and indirect, by the end of that ProbeInterval, and the prober
// gossips "suspect"; every member that hears it declares the member dead
// Suspicion later (fixed: SuspicionMaxTimeoutMult 1, so confirmations do
// not shorten it) and gossips "dead". So
//
//	detection   = ProbeInterval + Suspicion, Suspicion = SuspicionMult * max(1, log10(n)) * ProbeInterval
//	            -> ProbeInterval = detection / (1 + SuspicionMult*max(1, log10(n))), SuspicionMult 3
//	propagation = rounds * GossipInterval, rounds = ceil(log_GossipNodes(n)), GossipNodes 3
//	            -> GossipInterval = propagation / rounds
//
// Lifeguard's local health stays on but is capped (AwarenessMaxMultiplier
// 2): a prober that misses its own acks (a starved CPU) may stretch its
// probe round to 2*ProbeInterval, rather than suspect members it simply
// failed to hear. So a member's death is learned by the others between
// Suspicion and Worst = 3*ProbeInterval + Suspicion + propagation after it
// died (the first probe within a ProbeInterval, a probe round of up to
// two, the suspicion, the gossip).
type Tuning struct {
	Ring           int // members of the ring (n)
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	SuspicionMult  int
	Suspicion      time.Duration
	GossipNodes    int
	GossipInterval time.Duration
	Detection      time.Duration
	Propagation    time.Duration
	Worst          time.Duration
}

// Tune maps detection and propagation onto a ring of n members.
func Tune(detection, propagation time.Duration, n int) Tuning {
	n = max(n, 1)
	const mult, fanout = 3, 3
	scale := math.Max(1, math.Log10(float64(n)))
	t := Tuning{Ring: n, SuspicionMult: mult, GossipNodes: fanout, Detection: detection, Propagation: propagation}
	t.ProbeInterval = max(time.Duration(float64(detection)/(1+mult*scale)), 10*time.Millisecond)
	t.ProbeTimeout = max(t.ProbeInterval/2, 5*time.Millisecond)
	// memberlist's own formula, with its millisecond rounding
	t.Suspicion = time.Duration(mult) * time.Duration(scale*1000) * t.ProbeInterval / 1000
	rounds := max(1, int(math.Ceil(math.Log(float64(n))/math.Log(fanout))))
	t.GossipInterval = max(propagation/time.Duration(rounds), 5*time.Millisecond)
	t.Worst = 3*t.ProbeInterval + t.Suspicion + propagation
	return t
}

// Apply sets the tuning on a memberlist config.
func (t Tuning) Apply(c *memberlist.Config) {
	c.ProbeInterval = t.ProbeInterval
	c.ProbeTimeout = t.ProbeTimeout
	c.SuspicionMult = t.SuspicionMult
	c.SuspicionMaxTimeoutMult = 1
	c.AwarenessMaxMultiplier = 2
	c.GossipNodes = t.GossipNodes
	c.GossipInterval = t.GossipInterval
	c.TCPTimeout = max(time.Second, 2*t.ProbeInterval)
}
