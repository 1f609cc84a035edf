package scenarios

import (
	"fmt"
	"math"
	"time"

	"github.com/stripelab/stripelab/faults"
)

// MaxInFlight is the simulator's budget of requests in flight at once
// (each holds a 256-byte record plus its pending events: about 0.4 GB at
// the limit). A scenario whose offered rate, times the longest a request
// can live, could exceed it is rejected; a run that reaches it anyway
// (work piling up in deep queues) is stopped with an error.
const MaxInFlight = 1_000_000

// RequestLifetime is the longest a request can live: every attempt timing
// out and every backoff at its longest, plus a second for answers on their
// way. The simulator keeps a request's measures open that long.
func RequestLifetime(s *Scenario) time.Duration {
	c := s.Workload.Client
	life := time.Duration(c.Retries+1)*c.Timeout.Std() + time.Duration(c.Retries)*c.Backoff.Max.Std()
	for _, cm := range s.Workload.Commands {
		life = max(life, time.Duration(cm.Retries+1)*cm.Timeout.Std()+time.Duration(cm.Retries)*c.Backoff.Max.Std())
	}
	return life + time.Second
}

// peakLoad is the highest offered rate a scenario reaches and what makes
// it: the profile's peak and the overload faults active together at the
// worst moment, city by city.
type peakLoad struct {
	rate float64 // req/s, summed over cities
	// overload is the largest product of overload factors any city sees,
	// and fault the index of the largest factor in it (-1: none).
	overload float64
	fault    int
}

// PeakOffered is the highest offered rate the scenario reaches, in req/s:
// workload.rate times the profile's peak and the overload faults active
// together at the worst moment, summed over cities.
func (s *Scenario) PeakOffered() float64 { return s.peakOffered().rate }

// peakOffered computes the peak load; cities with an unknown name (an
// error reported elsewhere) count at their share all the same.
func (s *Scenario) peakOffered() peakLoad {
	w := s.Workload
	pk := peakLoad{overload: 1, fault: -1}
	for _, c := range s.Topology.Cities {
		f, fault := s.worstOverload(c.Name)
		pk.rate += float64(w.Rate) * w.Users.ByCity[c.Name].Fraction() * s.PeakLevel() * f
		if f > pk.overload {
			pk.overload, pk.fault = f, fault
		}
	}
	return pk
}

// worstOverload is the largest product of the factors of the overload
// faults that hit a city at once (overlapping overloads multiply), with
// the largest factor among them.
func (s *Scenario) worstOverload(city string) (float64, int) {
	var hits []int
	for i, fl := range s.Faults {
		if fl.Kind != faults.Overload.String() || fl.Factor <= 0 {
			continue
		}
		if sc, err := faults.ParseScope(fl.Target); err == nil && (sc.Kind == faults.ScopeAll || sc.Kind == faults.ScopeCity && sc.Name == city) {
			hits = append(hits, i)
		}
	}
	worst, big := 1.0, -1
	for _, i := range hits { // the product peaks when some fault starts
		t := s.Faults[i].At
		prod, top := 1.0, -1
		for _, j := range hits {
			if fj := s.Faults[j]; fj.At <= t && (fj.For == 0 || t < fj.At+fj.For) {
				prod *= fj.Factor
				if top < 0 || fj.Factor > s.Faults[top].Factor {
					top = j
				}
			}
		}
		if prod > worst {
			worst, big = prod, top
		}
	}
	return worst, big
}

// load rejects a scenario whose offered rate, after every multiplier,
// goes beyond what the simulator runs, or could put more than
// MaxInFlight requests in flight; the error points at what multiplies
// the rate most.
func (v *validator) load() {
	s := v.s
	if s.Workload.Rate <= 0 || s.Workload.Rate > MaxRate || s.Workload.Client.Timeout <= 0 {
		return // reported by workload
	}
	pk := s.peakOffered()
	path := "workload.rate"
	switch {
	case pk.fault >= 0:
		path = fmt.Sprintf("faults[%d].factor", pk.fault)
	case s.PeakLevel() > 1:
		path = "workload.profile"
	}
	how := "workload.rate " + s.Workload.Rate.String()
	if l := s.PeakLevel(); l != 1 {
		how += " x profile peak " + Percent(l).String()
	}
	if pk.overload != 1 {
		how += fmt.Sprintf(" x overload %g", pk.overload)
	}
	life := RequestLifetime(s)
	inFlight := pk.rate * life.Seconds()
	if r := s.Stack.Resilience; r != nil && r.Hedging != nil {
		inFlight *= float64(max(r.Hedging.MaxAttempts, 1)) // hedges run side by side
	}
	switch {
	case pk.rate > MaxRate:
		v.errf(path, "the offered rate reaches %s (%s); at most %s is simulated", Rate(math.Round(pk.rate)), how, Rate(MaxRate))
	case inFlight > MaxInFlight:
		c := s.Workload.Client
		v.errf(path, "the offered rate reaches %s (%s) and a request lives up to %s (%s, each timing out after %s): up to %s requests could be in flight, and the simulator holds at most %s; lower the rate or the factor, or the client's timeout and retries",
			Rate(math.Round(pk.rate)), how, life, Quantity(c.Retries+1, "attempt"), c.Timeout, groupDigits(int64(inFlight)), groupDigits(MaxInFlight))
	}
}
