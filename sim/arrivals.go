package sim

// Arrivals follow a rate that varies in time (the workload profile times
// the city's share and any overload factor). They are made by a time
// change: the process runs in units of expected arrivals, where Poisson
// arrivals are one exponential draw apart and uniform ones exactly one
// apart, and each gap is mapped back to virtual time through the integral
// of the rate. So the count of arrivals in any stretch of time follows the
// integral of the rate over it (Poisson: in distribution; uniform: to
// within one), however low the rate gets: a gap drawn from the rate at
// one instant would stall where the rate is near zero. The profile's level,
// its integral and that integral's inverse are internal/draw's Profile,
// shared with the real stack's load generator.

// arrivalClock is where a city's next arrival stands: it is due once the
// integral of the profile's level from from reaches x (ns at level 1).
// gen invalidates the scheduled arrival when a rate change re-times it.
type arrivalClock struct {
	from int64
	x    float64
	gen  uint32
}

// scheduleArrival draws the gap to city ci's next arrival, in expected
// arrivals (Poisson: exponential; uniform: one), and schedules it.
func (w *World) scheduleArrival(ci int32) {
	c := &w.cities[ci]
	rate := c.rate * c.overload // per second, at level 1
	if rate <= 0 || c.count == 0 {
		return
	}
	x := 1e9 / rate
	if w.poisson {
		x *= c.arr.ExpFloat64()
	}
	c.clock.from, c.clock.x = w.now, x
	w.timeArrival(ci)
}

// timeArrival schedules city ci's next arrival where its clock is due.
func (w *World) timeArrival(ci int32) {
	c := &w.cities[ci]
	c.clock.gen++
	if t, ok := w.profile.Due(c.clock.from, c.clock.x, w.end); ok && t < w.end {
		w.at(t, evArrival, ci, 0, c.clock.gen, 0)
	}
}

// setOverload changes city ci's overload factor now: the part of the gap
// to its next arrival not yet run is stretched or shrunk to the new rate
// (the units of expected arrivals it stands for stay the same).
func (w *World) setOverload(ci int, factor float64) {
	c := &w.cities[ci]
	old := c.overload
	c.overload = factor
	if old <= 0 || factor <= 0 || c.rate <= 0 || c.count == 0 || !w.started {
		return
	}
	left := c.clock.x - w.profile.Integral(c.clock.from, w.now)
	c.clock.from, c.clock.x = w.now, max(left, 0)*old/factor
	w.timeArrival(int32(ci))
}

// onArrival creates a new request for a user of the city and schedules
// the next arrival, unless a rate change re-timed this one.
func (w *World) onArrival(ci int32, gen uint32) {
	if gen != w.cities[ci].clock.gen {
		return
	}
	w.newRequest(ci)
	w.scheduleArrival(ci)
}
