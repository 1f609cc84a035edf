package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// CompareOptions configure Compare.
type CompareOptions struct {
	Options
	// Granularities to compare, in the order reported; nil means all four.
	Granularities []string
	// SizeForSLO searches, for each layout, the smallest instances per set
	// with which every run of the suite meets every objective, instead of
	// keeping the total instances of each component equal.
	SizeForSLO bool
	// ScenarioFaults runs the scenario's own faults (each in its own run)
	// instead of one loss of each place class.
	ScenarioFaults bool
}

// Comparison is the result of Compare: one Layout per granularity.
type Comparison struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	Seed     uint64 `json:"seed"`
	// Sizing is "equal" (the total instances of each component kept as
	// equal as possible) or "slo" (sized for the objectives).
	Sizing string `json:"sizing"`
	// ScenarioFaults is true when the suite is the scenario's own faults.
	ScenarioFaults bool     `json:"scenario_faults"`
	Objectives     []string `json:"objectives"`
	// WindowNS is the runs' metrics window (what an RTO is measured in).
	WindowNS int64 `json:"window_ns"`
	// InFaultObjective is the scenario's availability_in_fault (0: none),
	// drawn on the in-fault availability chart.
	InFaultObjective float64      `json:"in_fault_objective,omitempty"`
	Suite            []SuiteFault `json:"suite"`
	// Base describes the scenario's own layout, the reference for extra instances.
	Base    BaseLayout `json:"base"`
	Layouts []Layout   `json:"layouts"`
	// Reading is a one-line summary of the trade-off, computed from the numbers.
	Reading string `json:"reading"`
	// Runs counts the simulations made (size search probes included).
	Runs int `json:"runs"`
	// Incomplete marks a comparison stopped by an interrupt: its layouts
	// and fault outcomes say which runs ended, were stopped or never ran.
	Incomplete bool `json:"incomplete,omitempty"`
}

// BaseLayout is the scenario as written.
type BaseLayout struct {
	Granularity string         `json:"granularity"`
	Sets        int            `json:"sets"`
	PerSet      []PerSet       `json:"instances_per_set"`
	Instances   int            `json:"instances"`
	Totals      map[string]int `json:"component_totals"`
}

// PerSet is one component's instance count per set.
type PerSet struct {
	Component string `json:"component"`
	Instances int    `json:"instances"`
}

// SuiteFault is one fault of the suite; each runs alone in its own run
// under every granularity, at the same time and on the same place.
type SuiteFault struct {
	// Class is machine-down, rack-down, az-down, city-down, or the
	// scenario fault's name.
	Class  string `json:"class"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Target string `json:"target"`
	AtNS   int64  `json:"at_ns"`
	ForNS  int64  `json:"for_ns"`
	fault  scenarios.Fault
	dir    string
}

// Layout is one granularity's results.
type Layout struct {
	Granularity string       `json:"granularity"`
	PerSet      []PerSet     `json:"instances_per_set"`
	Cost        reports.Cost `json:"cost"`
	// ExtraInstances is Cost.Instances minus the scenario's own layout's:
	// the spare capacity (and routing state) this striping costs.
	ExtraInstances int `json:"extra_instances"`
	// Size is the size search (SizeForSLO only).
	Size *SizeSearch `json:"size_search,omitempty"`
	// Steady is measured before the fault in every run (warm-up excluded).
	Steady Span           `json:"steady"`
	Faults []FaultOutcome `json:"faults"`
	// Passed is true when every objective held in every run.
	Passed bool `json:"passed"`
	// Incomplete marks a layout some of whose runs did not end.
	Incomplete bool `json:"incomplete,omitempty"`
}

// SizeSearch records how a layout was sized for the objectives: the
// per-set count of its largest component was searched (others scaled in
// proportion, at least one each).
type SizeSearch struct {
	Met bool `json:"met"`
	// Scale is the chosen count of the largest component per set; Equal
	// is what equal-total sizing gives.
	Scale  int         `json:"scale"`
	Equal  int         `json:"equal"`
	Probes []SizeProbe `json:"probes"`
	// Incomplete marks a search an interrupt stopped.
	Incomplete bool `json:"incomplete,omitempty"`
}

// SizeProbe is one size tried.
type SizeProbe struct {
	Scale  int      `json:"scale"`
	Passed bool     `json:"passed"`
	Failed []string `json:"failed,omitempty"`
}

// FaultOutcome is what one suite fault did to one layout.
type FaultOutcome struct {
	Class        string                         `json:"class"`
	Availability float64                        `json:"availability"`
	ByPriority   [reports.NumPriorities]float64 `json:"availability_by_priority"`
	P99NS        int64                          `json:"p99_ns"`
	BlastUsers   float64                        `json:"blast_users"`
	BlastSets    float64                        `json:"blast_sets"`
	SetsAffected int                            `json:"sets_affected"`
	RTONS        int64                          `json:"rto_ns"`
	DetectionNS  int64                          `json:"detection_ns"`
	RerouteNS    int64                          `json:"reroute_ns"`
	LostWrites   int64                          `json:"lost_writes"`
	Passed       bool                           `json:"passed"`
	Failed       []string                       `json:"failed"`
	// Dir is the run's report folder, relative to the analysis folder.
	Dir string `json:"dir"`
	// Incomplete marks a run an interrupt stopped (its figures cover what
	// it reached); NotRun one it kept from starting (no figures, no Dir).
	Incomplete bool `json:"incomplete,omitempty"`
	NotRun     bool `json:"not_run,omitempty"`
}

// complete reports whether the outcome's run went to its end.
func (o *FaultOutcome) complete() bool { return !o.Incomplete && !o.NotRun }

// Compare runs the same workload and fault suite under each granularity.
func Compare(ctx context.Context, f *scenarios.File, o CompareOptions) (*Comparison, error) {
	gs := o.Granularities
	if len(gs) == 0 {
		gs = scenarios.Granularities
	}
	if err := checkGranularities(gs); err != nil {
		return nil, err
	}
	pl, err := newPool(o.Options, f)
	if err != nil {
		return nil, err
	}
	base := scenarios.NewPlan(f)
	c := &Comparison{Scenario: f.Scenario.Name, File: f.Path, Seed: pl.seed, Sizing: "equal",
		Objectives: describeObjectives(f.Scenario.SLO), Base: baseLayout(base), ScenarioFaults: o.ScenarioFaults,
		InFaultObjective: f.Scenario.SLO.AvailabilityInFault.Fraction(), WindowNS: int64(f.Scenario.Run.Window)}
	if o.SizeForSLO {
		c.Sizing = "slo"
	}
	equal := make([]*scenarios.File, len(gs))
	for i, g := range gs {
		if equal[i], err = equalSizing(f, base, g); err != nil {
			return nil, err
		}
	}
	if c.Suite, err = compareSuite(f, base, equal, o.ScenarioFaults); err != nil {
		return nil, err
	}
	kept := make([][]*reports.Result, len(gs))
	c.Layouts = make([]Layout, len(gs))
	errs := make([]error, len(gs))
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Layouts[i], kept[i], errs[i] = compareOne(run, pl, c, g, equal[i], o.SizeForSLO); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	err = firstError(ctx, errs)
	if err != nil && !interrupted(ctx, err) {
		return nil, err
	}
	var all []*reports.Result
	var names []string
	for i := range gs {
		for j, res := range kept[i] {
			all = append(all, res)
			names = append(names, c.Layouts[i].Faults[j].Dir)
		}
	}
	if werr := pl.writeRuns(o.Dir, all, names); werr != nil {
		return nil, werr
	}
	c.Runs = pl.n
	c.Incomplete = err != nil
	c.Reading = compareReading(c)
	return c, err
}

func checkGranularities(gs []string) error {
	seen := map[string]bool{}
	for _, g := range gs {
		if !slices.Contains(scenarios.Granularities, g) {
			return badInput("unknown granularity %q; expected city, az, rack or machine", g)
		}
		if seen[g] {
			return badInput("granularity %q is listed twice", g)
		}
		seen[g] = true
	}
	return nil
}

func baseLayout(p *scenarios.Plan) BaseLayout {
	b := BaseLayout{Granularity: p.Scenario.Striping.Granularity, Sets: len(p.Sets), Instances: reports.CostOf(p).Instances,
		Totals: map[string]int{}}
	for _, c := range p.Scenario.Components() {
		b.PerSet = append(b.PerSet, PerSet{c.Name, c.Instances})
		b.Totals[c.Name] = c.Instances * len(p.Sets)
	}
	return b
}

// equalSizing stripes f at g with each component's total instances kept
// as in the scenario's layout: ceil(total / sets) per set, at least one.
func equalSizing(f *scenarios.File, base *scenarios.Plan, g string) (*scenarios.File, error) {
	probe, err := scenarios.Derive(f, scenarios.WithGranularity(g), scenarios.WithFaults())
	if err != nil {
		return nil, fmt.Errorf("striping %s at %s: %w", f.Scenario.Name, g, err)
	}
	sets := len(scenarios.NewPlan(probe).Sets)
	from := len(base.Sets)
	return scenarios.Derive(f, scenarios.WithGranularity(g), scenarios.WithFaults(),
		scenarios.WithInstances(func(_ string, n int) int { return max(1, ceilDiv(n*from, sets)) }))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// compareOne runs the suite on one layout, sized equally or searched
// for the objectives, and returns the layout with the results to keep.
func compareOne(ctx context.Context, pl *pool, c *Comparison, g string, equal *scenarios.File, sizeForSLO bool) (Layout, []*reports.Result, error) {
	l := Layout{Granularity: g}
	variant := equal
	var results []*reports.Result
	var err error
	if sizeForSLO {
		variant, results, l.Size, err = sizeLayout(ctx, pl, c, g, equal)
	} else {
		results, err = runSuite(ctx, pl, c, g, equal)
	}
	if err != nil && !interrupted(ctx, err) {
		return l, nil, err
	}
	if results == nil { // interrupted before the suite ran
		results = make([]*reports.Result, max(len(c.Suite), 1))
	}
	for _, comp := range variant.Scenario.Components() {
		l.PerSet = append(l.PerSet, PerSet{comp.Name, comp.Instances})
	}
	l.Cost = reports.CostOf(scenarios.NewPlan(variant))
	l.ExtraInstances = l.Cost.Instances - c.Base.Instances
	l.Steady = steadyOf(results)
	l.Passed, l.Incomplete = true, err != nil
	for i, res := range results {
		l.Faults = append(l.Faults, outcome(res, c.Suite, i, g))
		l.Passed = l.Passed && res != nil && res.Passed()
	}
	return l, results, err
}

// runSuite runs every suite fault on a layout, one run each; with no
// suite, one run without faults.
func runSuite(ctx context.Context, pl *pool, c *Comparison, g string, layout *scenarios.File) ([]*reports.Result, error) {
	suite := c.Suite
	if len(suite) == 0 {
		suite = []SuiteFault{{Class: "no fault", dir: "steady"}}
	}
	jobs := make([]job, len(suite))
	for i, sf := range suite {
		edits := []func(*scenarios.Scenario){scenarios.WithName(fmt.Sprintf("%s [%s striping, %s]", c.Scenario, g, sf.Class))}
		if sf.Kind != "" {
			edits = append(edits, scenarios.WithFaults(sf.fault))
		}
		v, err := scenarios.Derive(layout, edits...)
		if err != nil {
			return nil, fmt.Errorf("%s striping, %s: %w", g, sf.Class, err)
		}
		jobs[i] = job{file: v, label: "compare " + g + " · " + sf.Class}
	}
	return pl.runAll(ctx, jobs)
}

func outcome(res *reports.Result, suite []SuiteFault, i int, g string) FaultOutcome {
	o := FaultOutcome{Class: "no fault", Dir: "runs/" + g + "/steady", RTONS: -1, DetectionNS: -1, RerouteNS: -1}
	if i < len(suite) {
		o.Class, o.Dir = suite[i].Class, "runs/"+g+"/"+suite[i].dir
	}
	if res == nil {
		o.NotRun, o.Dir, o.Failed = true, "", []string{}
		return o
	}
	o.Passed, o.Failed, o.Incomplete = res.Passed(), failedObjectives(res), res.Incomplete
	if len(res.Measures.Faults) == 0 {
		o.Availability, o.P99NS = res.Measures.Availability, res.Measures.Latency.P99
		o.ByPriority = res.Measures.ByPriority
		return o
	}
	fm := &res.Measures.Faults[0]
	o.Availability, o.ByPriority, o.P99NS = fm.Availability, fm.ByPriority, fm.Latency.P99
	o.BlastUsers, o.BlastSets, o.SetsAffected = fm.BlastUsers, fm.BlastSets, fm.SetsAffected
	o.RTONS, o.DetectionNS, o.RerouteNS, o.LostWrites = fm.RTO, fm.Detection, fm.Reroute, fm.LostWrites
	return o
}

// steadyOf measures every run before its first fault and keeps the
// first run's figures: every run of a layout is the same simulation until
// its fault starts. An interrupted analysis takes the first run it has.
func steadyOf(results []*reports.Result) Span {
	var res *reports.Result
	for _, r := range results {
		if r != nil {
			res = r
			break
		}
	}
	if res == nil {
		return Span{}
	}
	end := min(res.DurationNS, res.Reached())
	for _, f := range res.Faults {
		end = min(end, f.Start)
	}
	return measureSpan(res, res.WarmupNS, end)
}

// sizeLayout searches the smallest scale (the per-set count of the
// largest component, the others in proportion) with which every suite run
// meets every objective: the equal-total size first, then halving towards
// one or doubling up to four times it, then bisection. It assumes that
// more instances never hurt.
func sizeLayout(ctx context.Context, pl *pool, c *Comparison, g string, equal *scenarios.File) (*scenarios.File, []*reports.Result, *SizeSearch, error) {
	comps := equal.Scenario.Components()
	k0 := 0
	for _, comp := range comps {
		k0 = max(k0, comp.Instances)
	}
	s := &SizeSearch{Equal: k0}
	type tried struct {
		file    *scenarios.File
		results []*reports.Result
	}
	cache := map[int]tried{}
	test := func(k int) (bool, error) {
		v, err := scenarios.Derive(equal, scaleTo(comps, k, k0))
		if err != nil {
			return false, fmt.Errorf("%s striping at scale %d: %w", g, k, err)
		}
		results, err := runSuite(ctx, pl, c, g, v)
		if err != nil {
			return false, err
		}
		p := SizeProbe{Scale: k, Passed: true}
		for _, res := range results {
			p.Passed = p.Passed && res.Passed()
			p.Failed = append(p.Failed, failedObjectives(res)...)
		}
		s.Probes = append(s.Probes, p)
		cache[k] = tried{v, results}
		return p.Passed, nil
	}
	k, met, err := smallestPassing(k0, 4*k0, test)
	if err != nil {
		s.Incomplete = true
		return equal, nil, s, err
	}
	s.Met, s.Scale = met, k
	t := cache[k]
	return t.file, t.results, s, nil
}

// scaleTo sets each component to ceil(n x k / k0) per set, at least one.
func scaleTo(comps []scenarios.Component, k, k0 int) func(*scenarios.Scenario) {
	return scenarios.WithInstances(func(name string, n int) int {
		for _, c := range comps {
			if c.Name == name {
				return max(1, ceilDiv(c.Instances*k, k0))
			}
		}
		return n
	})
}

// smallestPassing finds the smallest k >= 1 for which test passes,
// trying k0 first, then doubling up to limit or bisecting down to 1. When
// nothing up to limit passes it returns the largest k tried and false.
func smallestPassing(k0, limit int, test func(k int) (bool, error)) (int, bool, error) {
	lo, hi := 0, 0 // lo fails (0: assumed), hi passes (0: none found yet)
	ok, err := test(k0)
	if err != nil {
		return 0, false, err
	}
	if ok {
		hi = k0
	} else {
		lo = k0
		for k := 2 * k0; hi == 0; k = min(2*k, limit) {
			if ok, err = test(k); err != nil {
				return 0, false, err
			}
			if ok {
				hi = k
			} else if lo = k; k >= limit {
				return k, false, nil
			}
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		ok, err := test(mid)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true, nil
}

// compareSuite is one loss of each place class the topology has more than
// one of (the scenario's faults with ScenarioFaults), all at the same
// time and for the same length, on the same place in every layout.
func compareSuite(f *scenarios.File, base *scenarios.Plan, layouts []*scenarios.File, own bool) ([]SuiteFault, error) {
	s := f.Scenario
	var out []SuiteFault
	if own {
		for i, fl := range s.Faults {
			name := fl.Name
			if name == "" {
				name = fl.Kind + " " + fl.Target
			}
			out = append(out, SuiteFault{Class: name, Name: name, Kind: fl.Kind, Target: fl.Target,
				AtNS: int64(fl.At), ForNS: int64(fl.For), fault: fl, dir: fmt.Sprintf("fault-%d", i)})
		}
		return out, nil
	}
	at, dur := quarterWindow(s)
	plans := make([]*scenarios.Plan, len(layouts))
	for i, l := range layouts {
		plans[i] = scenarios.NewPlan(l)
	}
	targets := suiteTargets(base, plans)
	for _, level := range []string{"machine", "rack", "az", "city"} {
		if targets[level] == "" {
			continue
		}
		fl := lossFault(level, targets[level], at, dur)
		out = append(out, SuiteFault{Class: lossKinds[level], Name: fl.Name, Kind: fl.Kind, Target: fl.Target,
			AtNS: int64(at), ForNS: int64(dur), fault: fl, dir: lossKinds[level]})
	}
	return out, nil
}

// suiteTargets picks one place per level, nested so that every loss hits
// the same corner of the topology: the city with the most users (the
// first on ties), its first AZ, that AZ's first rack, and the first
// machine of that rack that runs a gateway or service instance in every
// layout. A level with a single place in the topology gets no target:
// losing it would lose everything.
func suiteTargets(base *scenarios.Plan, plans []*scenarios.Plan) map[string]string {
	out := map[string]string{}
	city := 0
	for i, c := range base.Cities {
		if c.Share > base.Cities[city].Share+1e-12 {
			city = i
		}
	}
	az := base.Cities[city].AZs[0]
	rack := base.AZs[az].Children[0]
	machine := base.Racks[rack].Children[0]
	for _, m := range base.Racks[rack].Children {
		if hostsEverywhere(plans, m) {
			machine = m
			break
		}
	}
	if len(base.Cities) > 1 {
		out["city"] = base.Cities[city].Name
	}
	if len(base.AZs) > 1 {
		out["az"] = base.AZs[az].Name
	}
	if len(base.Racks) > 1 {
		out["rack"] = base.Racks[rack].Name
	}
	if len(base.Machines) > 1 {
		out["machine"] = base.Machines[machine].Name
	}
	return out
}

func hostsEverywhere(plans []*scenarios.Plan, m int) bool {
	for _, p := range plans {
		hosts := false
		for _, in := range p.Instances {
			if in.Machine == m && (in.Role == scenarios.RoleGateway || in.Role == scenarios.RoleService) {
				hosts = true
				break
			}
		}
		if !hosts {
			return false
		}
	}
	return true
}

// compareReading sums the trade-off up in one line: for the fault class
// whose blast radius varies most across layouts, the least and the most
// hit layouts and what the former costs in instances; then which layouts
// met every objective.
func compareReading(c *Comparison) string {
	if len(c.Layouts) == 0 {
		return "nothing was compared"
	}
	if c.Incomplete {
		return incompleteReading(c)
	}
	return blastReading(c) + "; " + passing(c) + "."
}

// incompleteReading says how much of an interrupted comparison ran, and
// reads the fault classes every layout finished.
func incompleteReading(c *Comparison) string {
	done, all := 0, 0
	for _, l := range c.Layouts {
		for k := range l.Faults {
			all++
			if l.Faults[k].complete() {
				done++
			}
		}
	}
	s := fmt.Sprintf("interrupted: %d of %d runs ran to the end", done, all)
	if len(c.completeClasses()) == 0 {
		return s + "; no fault class finished under every striping, so nothing can be compared."
	}
	return s + "; of the fault classes every striping finished, " + blastReading(c) + "."
}

// completeClasses lists the suite faults whose run ended under every layout.
func (c *Comparison) completeClasses() []int {
	var out []int
	for k := range c.Suite {
		ok := true
		for i := range c.Layouts {
			ok = ok && k < len(c.Layouts[i].Faults) && c.Layouts[i].Faults[k].complete()
		}
		if ok {
			out = append(out, k)
		}
	}
	return out
}

// blastReading is the reading's first half. It takes the fault class
// whose blast radius varies most across the layouts (among those every
// layout finished) and reads it against the scenario's own striping, the
// design under review: the share of users that loss hits with it, and the
// layout that hits the fewest with what it costs in instances against it.
// When the scenario's striping is not among those compared, it reads the
// least hit layout against the most hit.
func blastReading(c *Comparison) string {
	cls, lo, hi, spread := -1, 0, 0, -1.0
	for _, k := range c.completeClasses() {
		l, h := 0, 0
		for i, ly := range c.Layouts {
			if u, best := ly.Faults[k].BlastUsers, c.Layouts[l].Faults[k].BlastUsers; u < best || u == best && ly.Cost.Instances < c.Layouts[l].Cost.Instances {
				l = i
			}
			if ly.Faults[k].BlastUsers > c.Layouts[h].Faults[k].BlastUsers {
				h = i
			}
		}
		if d := c.Layouts[h].Faults[k].BlastUsers - c.Layouts[l].Faults[k].BlastUsers; d > spread+1e-12 {
			cls, lo, hi, spread = k, l, h, d
		}
	}
	switch {
	case cls < 0:
		return "no fault was injected"
	case spread <= 0.0005:
		return fmt.Sprintf("%s hits the same share of users in every layout (%s)", lossPhrase(c.Suite[cls]),
			reports.FormatPercent(c.Layouts[lo].Faults[cls].BlastUsers))
	}
	own := -1
	for i, l := range c.Layouts {
		if l.Granularity == c.Base.Granularity {
			own = i
		}
	}
	users := func(i int) string { return reports.FormatPercent(c.Layouts[i].Faults[cls].BlastUsers) }
	loss := lossPhrase(c.Suite[cls])
	if own < 0 {
		a, b := &c.Layouts[lo], &c.Layouts[hi]
		return fmt.Sprintf("%s hits %s of users with %s striping against %s with %s striping, %s", loss,
			users(lo), a.Granularity, users(hi), b.Granularity, costDelta(a, b))
	}
	s := fmt.Sprintf("with the scenario's %s striping, %s hits %s of users", c.Base.Granularity, loss, users(own))
	if c.Layouts[own].Faults[cls].BlastUsers-c.Layouts[lo].Faults[cls].BlastUsers <= 0.0005 {
		return s + ", the fewest of the layouts compared"
	}
	best := &c.Layouts[lo]
	return s + fmt.Sprintf("; %s striping cuts that to %s, %s", best.Granularity, users(lo), costDelta(best, &c.Layouts[own]))
}

// lossPhrase names a suite fault in a sentence: "losing az shenzhen/a".
func lossPhrase(sf SuiteFault) string {
	if level, place := scopeOf(sf.Target); lossKinds[level] == sf.Kind && sf.Kind != "" {
		return "losing " + level + " " + place
	}
	return "the fault " + strconv.Quote(sf.Name)
}

func costDelta(a, b *Layout) string {
	d := a.Cost.Instances - b.Cost.Instances
	pct := 100 * float64(d) / math.Max(1, float64(b.Cost.Instances))
	switch {
	case d > 0:
		return fmt.Sprintf("for %d more %s (%d against %d, +%.0f%%)", d, instances(d), a.Cost.Instances, b.Cost.Instances, pct)
	case d < 0:
		return fmt.Sprintf("with %d fewer %s (%d against %d, %.0f%%)", -d, instances(-d), a.Cost.Instances, b.Cost.Instances, pct)
	}
	return fmt.Sprintf("at the same %d instances", a.Cost.Instances)
}

func instances(n int) string {
	if n == 1 {
		return "instance"
	}
	return "instances"
}

func passing(c *Comparison) string {
	var ok []string
	for _, l := range c.Layouts {
		if l.Passed {
			ok = append(ok, l.Granularity)
		}
	}
	switch {
	case len(c.Objectives) == 0:
		return "the scenario sets no objectives"
	case len(ok) == 0:
		return "no layout met every objective in every run"
	case len(ok) == len(c.Layouts):
		return "every layout met every objective in every run"
	}
	return fmt.Sprintf("only %s met every objective in every run", joinAnd(ok))
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	out := ""
	for i, x := range xs[:len(xs)-1] {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out + " and " + xs[len(xs)-1]
}
