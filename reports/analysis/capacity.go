package analysis

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// CapacityOptions configure FindCapacity.
type CapacityOptions struct {
	Options
	// Lose is az, city or rack for an N-1 search (the worst single place of
	// that level lost), or empty for the steady-state search only.
	Lose string
	// Precision is the relative width of the final bracket: the search
	// stops when (failed - held) <= Precision x held. 0 means 1%.
	Precision float64
	// Measure is the measured length of a probe, after its warm-up (and,
	// for N-1, after the loss has settled). 0 means 60s.
	Measure scenarios.Duration
}

// Capacity is the result of FindCapacity.
type Capacity struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	Seed     uint64 `json:"seed"`
	// Objectives are what "holds" means: the scenario's steady-state
	// objectives; DefaultAvailability is true when availability 99.9% was
	// added because the scenario sets no availability objective.
	Objectives          []string `json:"objectives"`
	DefaultAvailability bool     `json:"default_availability"`
	// AvailabilityObjective and P99ObjectiveNS (0: none) are drawn on the curves.
	AvailabilityObjective float64 `json:"availability_objective"`
	P99ObjectiveNS        int64   `json:"p99_objective_ns"`
	// PeakRate is the scenario's normal peak offered rate (rate x the
	// profile's highest level), in req/s.
	PeakRate  float64       `json:"peak_rate"`
	Lose      string        `json:"lose,omitempty"`
	Places    []string      `json:"places,omitempty"`
	Precision float64       `json:"precision"`
	Setup     ProbeSetup    `json:"probe_setup"`
	Steady    Limit         `json:"steady"`
	N1        *Limit        `json:"n_minus_1,omitempty"`
	Instances *InstanceNeed `json:"instances"`
	// Probes are every probe made: the steady search, the N-1 search, the
	// instance search and the sweep, each in the order made.
	Probes  []Probe `json:"probes"`
	Reading string  `json:"reading"`
	Runs    int     `json:"runs"`
	// Incomplete marks an analysis stopped by an interrupt: its limits are
	// the brackets reached so far, not converged searches.
	Incomplete bool `json:"incomplete,omitempty"`
}

// ProbeSetup is how probes run: a constant rate, no scenario fault, warm
// up, then measure; an N-1 probe loses its place at LossAt and is measured
// from LossAt + Settle, once re-homing, discovery and data failover are over.
type ProbeSetup struct {
	WarmupNS  int64 `json:"warmup_ns"`
	LossAtNS  int64 `json:"loss_at_ns,omitempty"`
	SettleNS  int64 `json:"settle_ns,omitempty"`
	MeasureNS int64 `json:"measure_ns"`
}

// Limit is where a search ended.
type Limit struct {
	// Held is the highest rate at which the objectives held (0: none did,
	// down to 1/64 of the peak); Failed the lowest rate above it that failed
	// (0: none did, up to 1024 x the peak).
	Held   float64 `json:"held"`
	Failed float64 `json:"failed"`
	// Headroom is Held - PeakRate in req/s and as a share of Held (how far
	// the peak is below the limit; negative when above); Growth is Held / PeakRate.
	HeadroomRate float64 `json:"headroom_rate"`
	HeadroomPct  float64 `json:"headroom_share"`
	Growth       float64 `json:"growth"`
	// At Held: availability and p99 (of the worst place's loss for N-1).
	Availability float64 `json:"availability"`
	P99NS        int64   `json:"p99_ns"`
	Worst        string  `json:"worst,omitempty"`
	// FailedWhy lists the objectives that failed at Failed.
	FailedWhy []string `json:"failed_why,omitempty"`
	Probes    int      `json:"probes"`
}

// InstanceNeed is the per-set sizing found to hold at the peak rate (with
// the worst loss when Lose is set), and the sizing recommended from it.
type InstanceNeed struct {
	Against string `json:"against"`
	Met     bool   `json:"met"`
	// Scale is the smallest per-set count of the largest component that
	// held (the others in proportion); Current is the scenario's.
	Scale   int `json:"scale"`
	Current int `json:"current"`
	// Held is each component's count per set at Scale. PerSet, the
	// recommendation, is one instance more of each: a set that loses any
	// one of its instances (a machine dies) then keeps a size that held,
	// whereas a set sized exactly to hold, one gateway say, is lost or
	// overloaded with one machine.
	Held   []PerSet    `json:"instances_per_set_held"`
	PerSet []PerSet    `json:"instances_per_set"`
	Now    []PerSet    `json:"instances_per_set_now"`
	Probes []SizeProbe `json:"probes"`
	// Incomplete marks a search an interrupt stopped: nothing is recommended.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Probe is one tested rate (and size).
type Probe struct {
	Search       string   `json:"search"`
	Rate         float64  `json:"rate"`
	Scale        int      `json:"scale"`
	Held         bool     `json:"held"`
	Availability float64  `json:"availability"`
	P99NS        int64    `json:"p99_ns"`
	Worst        string   `json:"worst,omitempty"`
	Failed       []string `json:"failed,omitempty"`
	// Incomplete marks a probe an interrupt stopped: it neither held nor
	// failed, and no search decision used it.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Search names.
const (
	searchSteady    = "steady"
	searchN1        = "n-1"
	searchInstances = "instances"
	searchSweep     = "sweep"
)

// maxDoublings and maxHalvings bound the bracketing: 1024 x and 1/64 of the start.
const (
	maxDoublings = 10
	maxHalvings  = 6
)

// capacityRun holds what every probe of one analysis shares.
type capacityRun struct {
	pl     *pool
	f      *scenarios.File
	c      *Capacity
	slo    scenarios.SLO
	comps  []scenarios.Component
	k0     int
	level  string
	places []string
}

// FindCapacity searches the highest offered rate at which the scenario's
// steady-state objectives hold, without faults and, with Lose, with the
// worst single place of that level lost; and the instances per set that
// hold at the scenario's peak rate.
func FindCapacity(ctx context.Context, f *scenarios.File, o CapacityOptions) (*Capacity, error) {
	if o.Lose != "" && !slices.Contains([]string{"az", "city", "rack"}, o.Lose) {
		return nil, badInput("unknown place kind %q to lose; expected az, city or rack", o.Lose)
	}
	if o.Precision == 0 {
		o.Precision = 0.01
	}
	if o.Precision < 0.001 || o.Precision > 0.5 {
		return nil, badInput("precision %g is out of range; expected 0.1%% to 50%%", o.Precision)
	}
	if o.Measure == 0 {
		o.Measure = scenarios.Duration(50e9)
	}
	pl, err := newPool(o.Options, f)
	if err != nil {
		return nil, err
	}
	s := f.Scenario
	r := &capacityRun{pl: pl, f: f, comps: s.Components(), level: o.Lose}
	for _, c := range r.comps {
		r.k0 = max(r.k0, c.Instances)
	}
	c := &Capacity{Scenario: s.Name, File: f.Path, Seed: pl.seed, PeakRate: float64(s.Workload.Rate) * s.PeakLevel(),
		Lose: o.Lose, Precision: o.Precision}
	r.c = c
	if c.PeakRate <= 0 {
		return nil, badInput("the scenario offers no load (its peak rate is 0): nothing to search from")
	}
	r.slo, c.DefaultAvailability = steadyObjectives(s.SLO)
	c.Objectives = describeObjectives(r.slo)
	c.AvailabilityObjective, c.P99ObjectiveNS = r.slo.Availability.Fraction(), int64(r.slo.Latency["p99"])
	c.Setup = probeSetup(s, o.Measure, o.Lose != "")
	if o.Lose != "" {
		r.places = places(scenarios.NewPlan(f), o.Lose)
		if len(r.places) < 2 {
			return nil, badInput("the topology has one %s: losing it loses everything", o.Lose)
		}
		c.Places = r.places
	}
	err = r.searchAll(ctx, o.Precision)
	if err != nil && !interrupted(ctx, err) {
		return nil, err
	}
	c.Runs, c.Incomplete = pl.n, err != nil
	c.Reading = capacityReading(c)
	return c, err
}

// searchAll runs the searches at once: steady (then the sweep around its
// limit), N-1, and the instance search. Each is sequential in itself;
// their probes are concatenated in a fixed order.
func (r *capacityRun) searchAll(ctx context.Context, precision float64) error {
	var steady, sweep, n1, inst []Probe
	errs := make([]error, 3)
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(3)
	done := func(i int) {
		if errs[i] != nil {
			cancel()
		}
		wg.Done()
	}
	go func() {
		defer done(0)
		r.c.Steady, steady, errs[0] = r.searchRate(run, searchSteady, precision)
		if errs[0] == nil && r.c.Steady.Held > 0 {
			sweep, errs[0] = r.sweep(run, r.c.Steady.Held)
		}
	}()
	go func() {
		defer done(1)
		if r.level == "" {
			return
		}
		var l Limit
		l, n1, errs[1] = r.searchRate(run, searchN1, precision)
		r.c.N1 = &l
	}()
	go func() {
		defer done(2)
		r.c.Instances, inst, errs[2] = r.searchInstances(run)
	}()
	wg.Wait()
	err := firstError(ctx, errs)
	if err != nil && !interrupted(ctx, err) {
		return err
	}
	r.c.Probes = slices.Concat(steady, n1, inst, sweep)
	return err
}

// ceiling is the highest rate a probe may offer: the simulator's limit on
// the offered rate, and the rate at which requests living as long as the
// scenario's client lets them could exceed its budget in flight.
func (r *capacityRun) ceiling() float64 {
	life := scenarios.RequestLifetime(r.f.Scenario).Seconds()
	return min(scenarios.MaxRate, scenarios.MaxInFlight/life)
}

// probeSetup sizes the probes: warm-up as the scenario's (5s to 30s); for
// N-1 the loss right after it, and a settling time of the slowest of
// re-homing, discovery expiry and data failover, plus 5s.
func probeSetup(s *scenarios.Scenario, measure scenarios.Duration, n1 bool) ProbeSetup {
	warm := min(max(s.Run.Warmup, scenarios.Duration(5e9)), scenarios.Duration(30e9))
	ps := ProbeSetup{WarmupNS: int64(warm), MeasureNS: int64(measure)}
	if !n1 {
		return ps
	}
	st := &s.Stack
	settle := st.Access.RehomeDelay
	if st.Discovery.Mode == "registry" {
		settle = max(settle, st.Discovery.TTL+st.Discovery.Refresh)
	} else {
		settle = max(settle, st.Discovery.Detection+st.Discovery.Propagation)
	}
	if st.Data.Mode != "none" {
		settle = max(settle, st.Data.Detection+st.Data.Promotion)
	}
	ps.LossAtNS, ps.SettleNS = int64(warm), int64(settle)+5e9
	return ps
}

// probeFile is the scenario at a constant rate with the steady objectives,
// no fault but the loss of place (when not empty), at a scale of instances.
func (r *capacityRun) probeFile(rate float64, scale int, place string) (*scenarios.File, error) {
	st := r.c.Setup
	edits := []func(*scenarios.Scenario){
		scenarios.WithConstantRate(scenarios.Rate(rate)), scenarios.WithSLO(r.slo),
		scenarios.WithName(fmt.Sprintf("%s [capacity probe %s]", r.c.Scenario, formatRate(rate))),
	}
	if scale != r.k0 {
		edits = append(edits, scaleTo(r.comps, scale, r.k0))
	}
	if place == "" {
		edits = append(edits, scenarios.WithFaults(),
			scenarios.WithRun(scenarios.Duration(st.WarmupNS+st.MeasureNS), scenarios.Duration(st.WarmupNS)))
	} else {
		warm := scenarios.Duration(st.LossAtNS + st.SettleNS)
		edits = append(edits, scenarios.WithFaults(lossFault(r.level, place, scenarios.Duration(st.LossAtNS), 0)),
			scenarios.WithRun(warm+scenarios.Duration(st.MeasureNS), warm))
	}
	v, err := scenarios.Derive(r.f, edits...)
	if err != nil {
		return nil, fmt.Errorf("capacity probe at %s: %w", formatRate(rate), err)
	}
	return v, nil
}

// prober tests rates at one size, with or without losses, remembering
// which place was worst so that the next probe tries it first.
type prober struct {
	r      *capacityRun
	search string
	n1     bool
	worst  int
}

// test runs one probe. Without losses it is one run. With losses the
// place that was worst last time runs first; when it fails the probe
// fails without running the others, otherwise the others run together and
// the worst is the one with the lowest availability (the first on ties).
func (pr *prober) test(ctx context.Context, rate float64, scale int) (Probe, error) {
	p, err := pr.measure(ctx, Probe{Search: pr.search, Rate: rate, Scale: scale})
	if err != nil { // stopped: it tells nothing
		p = Probe{Search: pr.search, Rate: rate, Scale: scale, Incomplete: true}
	}
	return p, err
}

// measure runs probe p (see test).
func (pr *prober) measure(ctx context.Context, p Probe) (Probe, error) {
	rate, scale := p.Rate, p.Scale
	if !pr.n1 {
		res, err := pr.run(ctx, rate, scale, []string{""})
		if err != nil {
			return p, err
		}
		fill(&p, res[0], "")
		return p, nil
	}
	names := pr.r.places
	first, err := pr.run(ctx, rate, scale, []string{names[pr.worst]})
	if err != nil {
		return p, err
	}
	if fill(&p, first[0], names[pr.worst]); !p.Held {
		return p, nil
	}
	var rest []string
	for i, n := range names {
		if i != pr.worst {
			rest = append(rest, n)
		}
	}
	results, err := pr.run(ctx, rate, scale, rest)
	if err != nil {
		return p, err
	}
	all := make([]*reports.Result, len(names))
	for i, j := 0, 0; i < len(names); i++ {
		if i == pr.worst {
			all[i] = first[0]
		} else {
			all[i], j = results[j], j+1
		}
	}
	w := 0
	for i, res := range all {
		if res.Measures.Availability < all[w].Measures.Availability {
			w = i
		}
	}
	pr.worst = w
	fill(&p, all[w], names[w])
	for _, res := range all {
		p.Held = p.Held && res.Passed()
	}
	return p, nil
}

func fill(p *Probe, res *reports.Result, place string) {
	p.Held, p.Availability, p.P99NS, p.Worst = res.Passed(), res.Measures.Availability, res.Measures.Latency.P99, place
	p.Failed = failedObjectives(res)
	if len(p.Failed) == 0 {
		p.Failed = nil
	}
}

func (pr *prober) run(ctx context.Context, rate float64, scale int, places []string) ([]*reports.Result, error) {
	jobs := make([]job, len(places))
	for i, place := range places {
		v, err := pr.r.probeFile(rate, scale, place)
		if err != nil {
			return nil, err
		}
		label := fmt.Sprintf("capacity %s %s", pr.search, formatRate(rate))
		if scale != pr.r.k0 {
			label += fmt.Sprintf(" scale %d", scale)
		}
		if place != "" {
			label += " losing " + pr.r.level + " " + place
		}
		jobs[i] = job{file: v, label: label}
	}
	return pr.r.pl.runAll(ctx, jobs)
}

// searchRate brackets the limit from the peak rate, doubling while the
// objectives hold (or halving while they fail), then bisects the bracket
// until it is within precision. Rates keep 4 significant digits.
func (r *capacityRun) searchRate(ctx context.Context, search string, precision float64) (Limit, []Probe, error) {
	pr := &prober{r: r, search: search, n1: search == searchN1}
	var probes []Probe
	test := func(rate float64) (bool, error) {
		p, err := pr.test(ctx, rate, r.k0)
		probes = append(probes, p)
		return p.Held, err
	}
	start := roundRate(r.c.PeakRate)
	held, failed, err := bracket(start, precision, r.ceiling(), test) // on an interrupt: the bracket so far
	l := Limit{Held: held, Failed: failed, Probes: len(probes)}
	for _, p := range probes {
		if p.Rate == held && held > 0 {
			l.Availability, l.P99NS, l.Worst = p.Availability, p.P99NS, p.Worst
		}
		if p.Rate == failed {
			l.FailedWhy = p.Failed
		}
	}
	if held > 0 && r.c.PeakRate > 0 {
		l.HeadroomRate = held - r.c.PeakRate
		l.HeadroomPct = l.HeadroomRate / held
		l.Growth = held / r.c.PeakRate
	}
	return l, probes, err
}

// bracket finds the highest rate for which test holds: the start, then
// doubling while it holds (up to 1024 x, and no further than ceiling) or
// halving while it fails (down to 1/64), then bisection until failed - held <= precision x held. It
// returns 0 for held when nothing held, and 0 for failed when nothing
// failed. When test fails it returns the bracket reached so far with the
// error.
func bracket(start, precision, ceiling float64, test func(r float64) (bool, error)) (held, failed float64, err error) {
	// probe tests rate r and moves the bound it belongs to
	probe := func(r float64) error {
		ok, err := test(r)
		switch {
		case err != nil:
			return err
		case ok:
			held = r
		default:
			failed = r
		}
		return nil
	}
	if err := probe(start); err != nil {
		return held, failed, err
	}
	for i := 0; i < maxDoublings && held > 0 && failed == 0; i++ {
		r := roundRate(held * 2)
		if r > ceiling {
			break
		}
		if err := probe(r); err != nil {
			return held, failed, err
		}
	}
	for i := 0; i < maxHalvings && held == 0 && failed > 0; i++ {
		if err := probe(roundRate(failed / 2)); err != nil {
			return held, failed, err
		}
	}
	if held == 0 || failed == 0 {
		return held, failed, nil
	}
	for failed-held > precision*held {
		mid := roundRate((held + failed) / 2)
		if mid <= held || mid >= failed {
			break
		}
		if err := probe(mid); err != nil {
			return held, failed, err
		}
	}
	return held, failed, nil
}

// sweep probes fixed shares of the steady limit for the capacity curve.
func (r *capacityRun) sweep(ctx context.Context, limit float64) ([]Probe, error) {
	shares := []float64{0.25, 0.5, 0.75, 1.25}
	jobs := make([]job, len(shares))
	rates := make([]float64, len(shares))
	for i, sh := range shares {
		rates[i] = roundRate(limit * sh)
		v, err := r.probeFile(rates[i], r.k0, "")
		if err != nil {
			return nil, err
		}
		jobs[i] = job{file: v, label: "capacity sweep " + formatRate(rates[i])}
	}
	results, err := r.pl.runAll(ctx, jobs)
	if err != nil && !interrupted(ctx, err) {
		return nil, err
	}
	var out []Probe
	for i, res := range results {
		if res == nil {
			continue // not run
		}
		p := Probe{Search: searchSweep, Rate: rates[i], Scale: r.k0}
		fill(&p, res, "")
		p.Incomplete = res.Incomplete
		out = append(out, p)
	}
	return out, err
}

// searchInstances finds the smallest size (see SizeSearch) that holds at
// the peak rate: with the worst loss when Lose is set, else in steady state.
func (r *capacityRun) searchInstances(ctx context.Context) (*InstanceNeed, []Probe, error) {
	n1 := r.level != ""
	need := &InstanceNeed{Against: searchSteady, Current: r.k0}
	if n1 {
		need.Against = searchN1
	}
	for _, c := range r.comps {
		need.Now = append(need.Now, PerSet{c.Name, c.Instances})
	}
	pr := &prober{r: r, search: searchInstances, n1: n1}
	var probes []Probe
	rate := roundRate(r.c.PeakRate)
	k, met, err := smallestPassing(r.k0, 8*r.k0, func(k int) (bool, error) {
		p, err := pr.test(ctx, rate, k)
		probes = append(probes, p)
		if !p.Incomplete {
			need.Probes = append(need.Probes, SizeProbe{Scale: k, Passed: p.Held, Failed: p.Failed})
		}
		return p.Held, err
	})
	if err != nil {
		need.Incomplete = true
		return need, probes, err
	}
	need.Met, need.Scale = met, k
	for _, c := range r.comps {
		held := max(1, ceilDiv(c.Instances*k, r.k0))
		need.Held = append(need.Held, PerSet{c.Name, held})
		need.PerSet = append(need.PerSet, PerSet{c.Name, held + 1})
	}
	return need, probes, nil
}

// capacityReading sums the analysis up in one line from its numbers.
func capacityReading(c *Capacity) string {
	if c.Incomplete {
		return incompleteCapacityReading(c)
	}
	s := "steady state " + limitPhrase(&c.Steady, c.PeakRate)
	if c.N1 != nil {
		s += "; losing the worst " + c.Lose
		if c.N1.Worst != "" {
			s += " (" + c.N1.Worst + ")"
		}
		s += ", " + limitPhrase(c.N1, c.PeakRate)
	}
	if in := c.Instances; in != nil {
		what := "at the peak"
		if in.Against == searchN1 {
			what = "with the worst " + c.Lose + " lost at the peak"
		}
		switch {
		case !in.Met:
			s += fmt.Sprintf("; even %s instances per set do not hold %s (the limit lies beyond instances: data, cores or re-homing)",
				perSetText(in.Held), what)
		default:
			s += fmt.Sprintf("; holding %s takes %s per set, so %s with a spare of each, for a set to survive losing an instance (now %s)",
				what, perSetText(in.Held), perSetText(in.PerSet), perSetText(in.Now))
		}
	}
	return s + "."
}

// incompleteCapacityReading says where an interrupted search stood.
func incompleteCapacityReading(c *Capacity) string {
	n := 0
	for _, p := range c.Probes {
		if !p.Incomplete {
			n++
		}
	}
	s := fmt.Sprintf("interrupted after %d %s: ", n, plural(n, "probe", "probes"))
	so := func(what string, l *Limit) string {
		switch {
		case l.Held > 0 && l.Failed > 0:
			return fmt.Sprintf("%s held at %s and failed at %s so far", what, formatRate(l.Held), formatRate(l.Failed))
		case l.Held > 0:
			return fmt.Sprintf("%s held up to %s so far", what, formatRate(l.Held))
		case l.Failed > 0:
			return fmt.Sprintf("%s failed at %s so far", what, formatRate(l.Failed))
		}
		return what + " not measured yet"
	}
	s += so("steady state", &c.Steady)
	if c.N1 != nil {
		s += "; " + so("losing the worst "+c.Lose, c.N1)
	}
	return s + "; the searches had not converged, so no limit or size is recommended."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func limitPhrase(l *Limit, peak float64) string {
	switch {
	case l.Held == 0:
		return fmt.Sprintf("holds at no rate down to %s", formatRate(l.Failed))
	case l.Failed == 0:
		return fmt.Sprintf("holds up to at least %s (the search stopped there)", formatRate(l.Held))
	}
	s := fmt.Sprintf("holds up to %s", formatRate(l.Held))
	switch {
	case l.Growth >= 2:
		s += fmt.Sprintf(", %.1f times the peak of %s", l.Growth, formatRate(peak))
	case l.HeadroomRate >= 0:
		s += fmt.Sprintf(", %.0f%% above the peak of %s", 100*(l.Growth-1), formatRate(peak))
	default:
		s += fmt.Sprintf(", %.0f%% below the peak of %s", 100*(1-l.Growth), formatRate(peak))
	}
	return s
}

func perSetText(ps []PerSet) string {
	out := ""
	for i, p := range ps {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%d %s", p.Instances, p.Component)
	}
	return out
}
