package sim

import "github.com/stripelab/stripelab/faults"

// A message's fate on the network.
const (
	fateDeliver = iota
	fateDrop
	fateReject
)

// linkFault is an active partition, latency or loss fault between two
// groups of endpoints (machines, and the users of whole cities); with no
// peer given it also covers the access hop of the target's own users
// (ownAccess).
type linkFault struct {
	fault   int32
	kind    faults.Kind
	oneWay  bool
	reject  bool
	delay   int64
	jitter  int64
	rate    float64
	start   int64
	tMach   []bool
	tCity   []bool
	peerAll bool
	pMach   []bool
	pCity   []bool
}

func (l *linkFault) inTarget(ep int32) bool {
	if ep < 0 {
		return l.tCity[-1-ep]
	}
	return l.tMach[ep]
}

func (l *linkFault) inPeer(ep int32) bool {
	if l.peerAll {
		return !l.inTarget(ep)
	}
	if ep < 0 {
		return l.pCity[-1-ep]
	}
	return l.pMach[ep]
}

// hits reports whether a message from src to dst crosses the fault.
func (l *linkFault) hits(src, dst int32) bool {
	if l.inTarget(src) && l.inPeer(dst) {
		return true
	}
	if !l.oneWay && l.inPeer(src) && l.inTarget(dst) {
		return true
	}
	return l.peerAll && l.ownAccess(src, dst)
}

// ownAccess reports whether a message from src to dst is on the access hop
// between the users of a city inside the target and a machine inside it.
// A fault on a scope with no peer covers that hop too: a lossy, slow or
// cut-off city is so for its own users. The users are the outside end of
// their hop, so one-way (target -> everything else) takes only answers.
func (l *linkFault) ownAccess(src, dst int32) bool {
	switch {
	case src >= 0 && dst < 0:
		return l.tMach[src] && l.tCity[-1-dst]
	case src < 0 && dst >= 0:
		return !l.oneWay && l.tCity[-1-src] && l.tMach[dst]
	}
	return false
}

// baseDelay is the one-way delay between two endpoints before jitter and
// faults; a negative endpoint is the users of a city. It is Plan.Delay and
// Plan.ClientDelay on flat integer tables for the hot path
// (TestBaseDelayMatchesPlan keeps them equal).
func (w *World) baseDelay(a, b int32) int64 {
	l := &w.lat
	switch {
	case a < 0 && b < 0:
		return 0
	case a < 0:
		return l.client + l.city[int(-1-a)*l.nCity+int(l.loc[b].city)]
	case b < 0:
		return l.client + l.city[int(-1-b)*l.nCity+int(l.loc[a].city)]
	}
	la, lb := &l.loc[a], &l.loc[b]
	switch {
	case a == b:
		return l.machine
	case la.rack == lb.rack:
		return l.rack
	case la.az == lb.az:
		return l.az
	case la.city == lb.city:
		return l.crossAZ
	}
	return l.city[int(la.city)*l.nCity+int(lb.city)]
}

// latencies are the topology's base delays in ns, copied out of the
// scenario so the hot path reads plain integers.
type latencies struct {
	machine, rack, az, crossAZ, client int64
	nCity                              int
	city                               []int64 // [a*nCity+b]
	loc                                []location
}

// location is where a machine is, in a table small enough to stay in the
// cache (a delay is looked up for every message).
type location struct{ rack, az, city int32 }

func (w *World) buildLatencies() {
	lat := &w.sc.Topology.Latency
	n := len(w.plan.Cities)
	w.lat = latencies{
		machine: int64(lat.SameMachine), rack: int64(lat.SameRack), az: int64(lat.SameAZ),
		crossAZ: int64(lat.CrossAZ), client: int64(lat.Client), nCity: n, city: make([]int64, n*n),
	}
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			w.lat.city[a*n+b] = int64(w.plan.CityDelay(a, b))
		}
	}
	w.lat.loc = make([]location, len(w.plan.Machines))
	for i, m := range w.plan.Machines {
		w.lat.loc[i] = location{rack: int32(m.Rack), az: int32(m.AZ), city: int32(m.City)}
	}
}

// transit is the delay and fate of one message from src to dst.
func (w *World) transit(src, dst int32) (int64, int) {
	d := w.baseDelay(src, dst)
	if w.jitter > 0 && d > 0 {
		d += int64(float64(d) * w.jitter * w.netRand.Float64())
	}
	return w.linkFate(src, dst, d)
}

// transitJit is transit with the jitter drawn beforehand, as a fraction
// of 2^32.
func (w *World) transitJit(src, dst int32, jit uint32) (int64, int) {
	d := w.baseDelay(src, dst)
	if w.jitter > 0 && d > 0 {
		d += int64(float64(d) * w.jitter * (float64(jit) / (1 << 32)))
	}
	return w.linkFate(src, dst, d)
}

// linkFate applies the link faults on the way from src to dst to a
// message that takes d without them.
func (w *World) linkFate(src, dst int32, d int64) (int64, int) {
	for _, l := range w.links {
		if !l.hits(src, dst) {
			continue
		}
		switch l.kind {
		case faults.Partition:
			if l.reject {
				return d, fateReject
			}
			return d, fateDrop
		case faults.Latency:
			d += l.delay
			if l.jitter > 0 {
				d += int64(w.netRand.Float64() * float64(l.jitter))
			}
		case faults.Loss:
			if w.netRand.Float64() < l.rate {
				return d, fateDrop
			}
		}
	}
	return d, fateDeliver
}

// reachable reports whether a partition cuts messages from a to b.
func (w *World) reachable(a, b int32) bool {
	for _, l := range w.links {
		if l.kind == faults.Partition && l.hits(a, b) {
			return false
		}
	}
	return true
}

// cutSince is when the partition cutting a from b began (now if none).
func (w *World) cutSince(a, b int32) int64 {
	t := w.now
	for _, l := range w.links {
		if l.kind == faults.Partition && (l.hits(a, b) || l.hits(b, a)) {
			t = min(t, l.start)
		}
	}
	return t
}

func (w *World) newLinkFault(i int) *linkFault {
	pf := &w.plan.Faults[i]
	l := &linkFault{
		fault: int32(i), kind: pf.Kind, oneWay: pf.OneWay(), reject: pf.Params.Action == "reject",
		delay: int64(pf.Params.Delay), jitter: int64(pf.Params.Jitter), rate: pf.Params.Rate, start: w.now,
		tMach: make([]bool, len(w.machines)), tCity: make([]bool, len(w.cities)), peerAll: pf.PeerAll,
		pMach: make([]bool, len(w.machines)), pCity: make([]bool, len(w.cities)),
	}
	for _, m := range pf.Machines {
		l.tMach[m] = true
	}
	for _, c := range pf.Cities {
		l.tCity[c] = true
	}
	for _, m := range pf.PeerMachines {
		l.pMach[m] = true
	}
	for _, c := range pf.PeerCities {
		l.pCity[c] = true
	}
	return l
}
