package network

import (
	"errors"
	"fmt"

	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/scenarios"
)

// Cut is which messages a link fault hits: those from an endpoint of the
// target to one of the peer (and back unless one-way). An endpoint is a
// machine (>= 0) or the users of a city (-1-city). It is the simulator's
// rule (sim/network.go), so both backends cut the same messages.
type Cut struct {
	oneWay  bool
	peerAll bool
	tMach   map[int]bool
	tCity   map[int]bool
	pMach   map[int]bool
	pCity   map[int]bool
}

// NewCut builds the cut of a planned link fault.
func NewCut(f *faults.Planned) *Cut {
	c := &Cut{oneWay: f.OneWay(), peerAll: f.PeerAll, tMach: set(f.Machines), tCity: set(f.Cities), pMach: set(f.PeerMachines), pCity: set(f.PeerCities)}
	return c
}

func set(xs []int) map[int]bool {
	m := make(map[int]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (c *Cut) inTarget(ep int) bool {
	if ep < 0 {
		return c.tCity[-1-ep]
	}
	return c.tMach[ep]
}

func (c *Cut) inPeer(ep int) bool {
	if c.peerAll {
		return !c.inTarget(ep)
	}
	if ep < 0 {
		return c.pCity[-1-ep]
	}
	return c.pMach[ep]
}

// Hits reports whether a message from endpoint src to endpoint dst crosses the cut.
func (c *Cut) Hits(src, dst int) bool {
	if c.inTarget(src) && c.inPeer(dst) {
		return true
	}
	if !c.oneWay && c.inPeer(src) && c.inTarget(dst) {
		return true
	}
	return c.peerAll && c.ownAccess(src, dst)
}

// ownAccess: with no peer, a city in the target is cut off (slowed, lossy)
// for its own users too; one-way takes only the answers to them.
func (c *Cut) ownAccess(src, dst int) bool {
	switch {
	case src >= 0 && dst < 0:
		return c.tMach[src] && c.tCity[-1-dst]
	case src < 0 && dst >= 0:
		return !c.oneWay && c.tCity[-1-src] && c.tMach[dst]
	}
	return false
}

// Streams is which streams of a link from caller endpoint from to a
// machine holding the instance the cut hits; ok is false when none.
func (c *Cut) Streams(from, toMachine int) (Stream, bool) {
	up, down := c.Hits(from, toMachine), c.Hits(toMachine, from)
	switch {
	case up && down:
		return Both, true
	case up:
		return Upstream, true
	case down:
		return Downstream, true
	}
	return 0, false
}

// Endpoint is the caller endpoint of a link: its machine, or -1-city for users.
func (sp *Spec) Endpoint() int {
	if sp.From < 0 {
		return -1 - sp.City
	}
	return sp.From
}

// Injection is one link fault applied to the links crossing its cut.
type Injection struct {
	ID    string
	Links []*Link
}

// FaultID is the toxic name prefix of planned fault i.
func FaultID(i int) string { return fmt.Sprintf("f%d", i) }

// Inject adds the toxics of a planned partition, latency or loss fault to
// every link of s crossing its cut, on the streams it hits:
//   - partition drop: a blackhole (timeout toxic, 0); reject: reset_peer;
//   - latency: an extra delay toxic of delay plus uniform [0, jitter];
//   - loss: the loss toxic at the fault's rate (see lossToxic).
//
// On an error the toxics already added are removed again.
func (s *Server) Inject(p *scenarios.Plan, f *faults.Planned) (*Injection, error) {
	if !f.Kind.IsLink() {
		return nil, fmt.Errorf("network: fault %s (%s) is not a link fault", f.Name, f.Kind)
	}
	cut := NewCut(f)
	inj := &Injection{ID: FaultID(f.Index)}
	for _, l := range s.Links() {
		st, ok := cut.Streams(l.Endpoint(), p.Instances[l.To].Machine)
		if !ok {
			continue
		}
		var err error
		switch f.Kind {
		case faults.Partition:
			err = l.Partition(inj.ID, st, f.Params.Action == "reject")
		case faults.Latency:
			err = l.Latency(inj.ID, st, f.Params.Delay, f.Params.Jitter)
		case faults.Loss:
			err = l.Loss(inj.ID, st, f.Params.Rate)
		}
		if err != nil {
			inj.Links = append(inj.Links, l) // it may carry one stream's toxic
			return nil, errors.Join(err, inj.Revert())
		}
		inj.Links = append(inj.Links, l)
	}
	return inj, nil
}

// Revert removes the injection's toxics from every link it touched.
func (inj *Injection) Revert() error {
	var errs []error
	for _, l := range inj.Links {
		errs = append(errs, l.Remove(inj.ID))
	}
	return errors.Join(errs...)
}

// Verify checks that no link the injection touched still carries one of
// its toxics (Link.Verify checks a link's whole state).
func (inj *Injection) Verify() error {
	var errs []error
	for _, l := range inj.Links {
		for _, n := range l.Toxics() {
			if n == faultName(inj.ID, Upstream) || n == faultName(inj.ID, Downstream) {
				errs = append(errs, fmt.Errorf("network: link %s still carries %s", l.Name, n))
			}
		}
	}
	return errors.Join(errs...)
}
