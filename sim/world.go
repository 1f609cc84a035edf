package sim

import (
	"math"

	"github.com/stripelab/stripelab/internal/draw"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// evKind identifies what an event does; World.dispatch switches on it.
type evKind uint8

const (
	evArrival       evKind = iota // a: city, gen: its arrival clock's generation
	evAttempt                     // a: request (an attempt starting after backoff)
	evMsg                         // a: request, c: depth it arrives at
	evResp                        // a: request, c: depth it arrives at, b: status
	evCPU                         // a: request, c: depth, gen: instance incarnation, b: machine epoch
	evAck                         // a: request, c: depth, gen: incarnation (sync replication done)
	evEdgeTimer                   // a: edge, gen: arming generation
	evGwTimer                     // a: gateway instance, gen: incarnation
	evFaultStart                  // a: fault
	evFaultEnd                    // a: fault
	evAccess                      // a: access slot (city x gateway), gen: version, b: up
	evRegExpire                   // a: instance, gen: incarnation at death
	evCacheRefresh                // a: cache
	evMesh                        // a: instance, gen: incarnation, b: up
	evShardDetect                 // a: shard, gen: epoch
	evShardPromote                // a: shard, gen: epoch
	evReplicaDetect               // a: instance, gen: incarnation at death
	evFlush                       // periodic: recorder flush and progress
	evLeafDone                    // a: request, c: leaf depth, gen: spec token (an answer scheduled ahead)
	evCoreFree                    // a: machine, gen: epoch (a demoted gateway hold ends)
	evThreadFree                  // a: gateway instance, gen: incarnation (a demoted relay hold ends)
	evCPUAhead                    // a: request, c: depth, gen: token (CPU work whose arrival was settled ahead ends)
	evOutlier                     // periodic: outlier detection's interval check
	evHedge                       // a: hedge group, gen: its generation, c: attempts when scheduled
	evClientAnswer                // a: request, b: status (an answer reaching a hedging client)
	evScale                       // a: scale action
	evScaleReady                  // a: instance, gen: slot generation (a started instance is ready)
	evScaleStop                   // a: instance, gen: slot generation (a drained instance stops)
	evAutoscale                   // a: autoscaler
	evSetAdd                      // a: set change (a reserved set is added)
	evSetReady                    // a: set change (its instances are ready)
	evSetRouted                   // a: set change (the access layer routes to it)
	evSetCopied                   // a: set change (its keys are copied)
	evHealthCheck                 // periodic: active health checks
)

// status of a response travelling back up the chain; the values are the
// Recorder's outcomes so they pass straight through.
type status = reports.Outcome

const (
	stOK          = reports.OK
	stShed        = reports.Shed
	stRateLimited = reports.RateLimited
	stTimeout     = reports.Timeout
	stError       = reports.Failed
	stUnavailable = reports.Unavailable
)

// World is one simulation: the model of a Plan in virtual time, driven by
// its caller through Step and RunUntil. It owns no goroutine, reads no wall
// clock and draws only from generators derived from its seed.
type World struct {
	plan *scenarios.Plan
	sc   *scenarios.Scenario
	rec  *reports.Recorder
	q    *queue
	now  int64
	// seqNow is the sequence number of the event being processed: work
	// settled ahead that ends at now has ended for it when its own event
	// would have come first (passed)
	seqNow uint64
	end    int64 // arrivals stop here
	warmup int64 // measures start here
	stop   int64 // events after this are not processed (end plus drain)
	seed   uint64

	events  uint64
	started bool
	// ahead lets CPU work be settled ahead (beginCPU): leaves answer and
	// gateways forward when their work starts; off, every CPU work ends
	// with its own event. Both give the same results.
	ahead              bool
	answeredAhead      int64
	forwardedAhead     int64
	demoted            int64 // leaf holds turned back into CPU events
	demotedCore        int64 // gateway holds given a core release event
	relayedAhead       int64
	arrivedAhead       int64
	demotedArrival     int64 // calls to leaves settled ahead turned back into messages
	arrivedAheadWork   int64
	demotedArrivalWork int64 // the same for calls to services that call others
	edgeTimers         int64 // deadline timer events (with stale ones)
	demotedRelay       int64 // relay holds given a thread release event
	relayOK            bool  // the gateway's timeout is at least the client's (see relayAhead)
	// faultNext is the next time a fault starts or ends
	faultNext int64

	machines []machine
	insts    []instance
	sets     []setState
	cities   []cityState
	svcs     []svcInfo
	shards   []shardState
	regs     []registry
	caches   []cache
	edges    []deadlineFIFO
	faults   []faultState
	links    []*linkFault
	access   accessState
	reqs     reqPool

	netRand, routeRand, faultRand, discRand *rng

	// configuration copied out of the scenario, in ns
	gwCost, authCost int64
	gwQueueTimeout   int64
	jitter           float64
	clientTimeout    int64
	dataSampler      sampler
	proxyCost        int64
	dataMode         uint8 // dataNone, dataGlobal, dataSharded, dataProxy
	syncRepl         bool
	syncAcks         int
	asyncLag         int64
	readPrimary      bool
	detection        int64
	promotion        int64
	upstreamEdge     int16
	proxyEdge        []int16
	gatewaySvc       int32
	// cmds are the commands requests are drawn from: workload.commands,
	// or one standing for every request when there are none (then the
	// priority and read/write mixes draw as they always did)
	cmds []command
	// res, brk and breakers are stack.resilience (nil without it);
	// scratch is reused by pickFor
	res              *resilience
	brk              *breakerCfg
	breakers         map[uint64]*breaker
	scratch          []int32
	callSent         []int64 // record x depth: when the call it waits on left (slow-call breakers)
	hedges           hedgeGroups
	maxLatencyFaults bool

	lat         latencies
	profile     draw.Profile
	poisson     bool
	shedPolicy  uint8      // shedNone, shedPriority, shedRandom
	shedAt      [3]float64 // occupancy where each priority starts being shed
	sharded     bool       // a user's shard is their home set
	mesh        bool
	scope       int
	viewerCache []int32 // set -> the cache its callers use
	registryOf  []int32 // set -> the registry serving it
	// registryOfInst maps a registry copy's instance to its registry
	registryOfInst []int32
	dataRouters    []int32 // instances that route data operations (copyMatters)

	// scaling (scaling.go): slotOf maps an instance to its slot, or -1
	slotOf   []int32
	slots    []slotState
	groups   []scaleGroup
	autos    []autoState
	comps    []int32
	scaleRec *reports.Scaling
	changes  []int64 // pending scaling changes, which bound settling ahead
	// expansion (expansion.go)
	reserved   bool
	member     []bool    // sets in service
	setInsts   [][]int32 // a reserved set's instances outside scale groups
	setChanges []setChange

	progress func(now, end int64)
}

const (
	dataNone = iota
	dataGlobal
	dataSharded
	dataProxy
)

// Options tune a run.
type Options struct {
	// Seed overrides the scenario's seed when non-zero.
	Seed uint64
	// Progress, if set, is called once per metrics window with the virtual
	// time reached and the run's end; it must not call back into the World.
	Progress func(now, end int64)
	// noAhead turns settling ahead off (tests and benchmarks compare).
	noAhead bool
}

// NewWorld builds the model of a plan. The Recorder receives every
// finished request.
func NewWorld(p *scenarios.Plan, seed uint64, rec *reports.Recorder) *World {
	s := p.Scenario
	w := &World{plan: p, sc: s, rec: rec, seed: seed, end: int64(s.Run.Duration), warmup: int64(s.Run.Warmup), ahead: true}
	w.stop = w.end + Horizon(s)
	w.q = newQueue()
	w.netRand = newStream(seed, draw.StreamNetwork)
	w.routeRand = newStream(seed, draw.StreamRouting)
	w.faultRand = newStream(seed, draw.StreamFaults)
	w.discRand = newStream(seed, draw.StreamDiscovery)
	w.configure()
	w.buildLatencies()
	w.buildMachines()
	w.buildInstances()
	w.buildSets()
	w.buildCities()
	w.buildEdges()
	w.buildCommands()
	w.buildShards()
	w.buildDataRouters()
	w.buildDiscovery()
	w.buildAccess()
	w.buildFaults()
	w.buildResilience()
	w.buildScaling()
	w.buildExpansion()
	return w
}

// Horizon is the longest a request can live: every attempt timing out plus
// the longest backoffs, plus a second of slack.
func Horizon(s *scenarios.Scenario) int64 {
	return int64(scenarios.RequestLifetime(s))
}

func (w *World) configure() {
	s := w.sc
	g := s.Stack.Gateway
	w.gwCost = int64(g.Cost)
	if g.Auth.Enabled == nil || *g.Auth.Enabled {
		w.authCost = int64(g.Auth.Cost)
	}
	w.gwQueueTimeout = int64(g.Queue.Timeout)
	w.jitter = s.Topology.Latency.Jitter.Fraction()
	w.clientTimeout = int64(s.Workload.Client.Timeout)
	w.relayOK = int64(g.Timeout) >= w.clientTimeout
	d := s.Stack.Data
	switch d.Mode {
	case "global":
		w.dataMode = dataGlobal
	case "sharded":
		w.dataMode = dataSharded
	case "proxy":
		w.dataMode = dataProxy
		w.proxyCost = int64(d.Proxy.Cost)
	}
	w.dataSampler = newSampler(d.ServiceTime)
	w.syncRepl = d.Replication == "sync"
	w.asyncLag = int64(d.Lag)
	w.readPrimary = d.Reads == "primary"
	w.detection = int64(d.Detection)
	w.promotion = int64(d.Promotion)
	w.profile = draw.NewProfile(&s.Workload.Profile)
	w.poisson = s.Workload.Arrivals == "poisson"
	w.sharded = d.Mode == "sharded"
	sh := &g.Shedding
	switch sh.Policy {
	case "priority":
		w.shedPolicy = shedPriority
		w.shedAt = [3]float64{sh.High.Fraction(), sh.Normal.Fraction(), sh.Low.Fraction()}
	case "random":
		w.shedPolicy = shedRandom
		w.shedAt = [3]float64{sh.Start.Fraction(), sh.Start.Fraction(), sh.Start.Fraction()}
	}
	switch d.Acks {
	case "all":
		w.syncAcks = d.Replicas - 1
	case "majority":
		w.syncAcks = d.Replicas / 2
	default:
		w.syncAcks = 1
	}
	for i, sv := range s.Stack.Services {
		if sv.Name == g.Upstream {
			w.gatewaySvc = int32(i)
		}
	}
}

func newSampler(d scenarios.Dist) sampler {
	switch d.Dist {
	case "exponential":
		return sampler{kind: distExp, mean: float64(d.Mean)}
	case "lognormal":
		// choose mu so that the mean is d.Mean: mean = exp(mu + sigma^2/2)
		return sampler{kind: distLognormal, mu: math.Log(float64(d.Mean)) - d.Sigma*d.Sigma/2, sigma: d.Sigma, mean: float64(d.Mean)}
	case "uniform":
		return sampler{kind: distUniform, lo: float64(d.Min), spread: float64(d.Max - d.Min), mean: float64(d.Min+d.Max) / 2}
	}
	return sampler{kind: distConstant, mean: float64(d.Mean)}
}

// Now is the current virtual time in ns from the start of the run.
func (w *World) Now() int64 { return w.now }

// ModelEvents is the number of events the run would have processed with
// nothing settled ahead: every message arrival, CPU end, answer and release
// the model simulates, whether it went through the event queue or was
// settled ahead exactly (beginCPU, arriveAhead, relayAhead). Deadline
// timers may stop a few times more or less without settling ahead.
func (w *World) ModelEvents() int64 {
	return int64(w.events) + w.answeredAhead + w.forwardedAhead + w.relayedAhead + 2*w.arrivedAhead + w.arrivedAheadWork -
		2*w.demoted - w.demotedCore - w.demotedRelay - 3*w.demotedArrival - 2*w.demotedArrivalWork
}

// Events is the number of events processed so far.
func (w *World) Events() uint64 { return w.events }

func (w *World) schedule(e event) {
	if e.t < w.now {
		panic("sim: event scheduled in the past")
	}
	w.q.push(e)
}

func (w *World) at(t int64, kind evKind, a, c int32, gen uint32, b uint8) {
	w.schedule(event{t: t, kind: kind, a: a, c: c, gen: gen, b: b})
}

// atSeq schedules an event with a sequence number taken earlier by
// q.reserve.
func (w *World) atSeq(seq uint64, t int64, kind evKind, a, c int32, gen uint32, b uint8) {
	if t < w.now {
		panic("sim: event scheduled in the past")
	}
	w.q.pushSeq(event{t: t, seq: seq, kind: kind, a: a, c: c, gen: gen, b: b})
}

func (w *World) start() {
	if w.started {
		return
	}
	w.started = true
	for c := range w.cities {
		w.scheduleArrival(int32(c))
	}
	for i := range w.faults {
		f := &w.plan.Faults[i]
		w.at(f.Start, evFaultStart, int32(i), 0, 0, 0)
		if f.End < w.end {
			w.at(f.End, evFaultEnd, int32(i), 0, 0, 0)
		}
	}
	w.startDiscovery()
	w.startResilience()
	w.startScaling()
	w.startExpansion()
	w.at(int64(w.sc.Run.Window), evFlush, 0, 0, 0, 0)
	w.setFaultNext()
}

// passed reports whether an event at (t, seq) would have been processed
// by now: before the current event, or as the current one (a demoted
// hold's event carries the sequence number its work reserved).
func (w *World) passed(t int64, seq uint64) bool {
	return t < w.now || (t == w.now && seq <= w.seqNow)
}

// setFaultNext finds the next time after now a fault starts or ends.
func (w *World) setFaultNext() {
	w.faultNext = math.MaxInt64
	for i := range w.faults {
		f := &w.plan.Faults[i]
		if f.Start > w.now {
			w.faultNext = min(w.faultNext, f.Start)
		}
		if f.End > w.now {
			w.faultNext = min(w.faultNext, f.End)
		}
	}
	if len(w.changes) > 0 {
		w.faultNext = min(w.faultNext, w.nextChange())
	}
}

// Step processes one event; it returns false when nothing is left to do.
func (w *World) Step() bool {
	w.start()
	e, ok := w.q.popUntil(w.stop)
	if !ok {
		return false
	}
	w.now, w.seqNow = e.t, e.seq
	w.events++
	w.dispatch(&e)
	return true
}

// RunUntil processes every event up to and including virtual time t.
func (w *World) RunUntil(t int64) {
	w.start()
	limit := min(t, w.stop)
	for {
		e, ok := w.q.popUntil(limit)
		if !ok {
			w.now = max(w.now, limit)
			return
		}
		w.now, w.seqNow = e.t, e.seq
		w.events++
		w.dispatch(&e)
	}
}

func (w *World) dispatch(e *event) {
	switch e.kind {
	case evArrival:
		w.onArrival(e.a, e.gen)
	case evAttempt:
		w.startAttempt(e.a)
	case evMsg:
		w.onMsg(e.a, int(e.c))
	case evResp:
		w.onResp(e.a, int(e.c), status(e.b))
	case evCPU:
		w.onCPU(e.a, int(e.c), e.gen, e.b)
	case evAck:
		w.onAck(e.a, int(e.c), e.gen)
	case evEdgeTimer:
		w.edgeTimers++
		w.onEdgeTimer(e.a, e.gen)
	case evGwTimer:
		w.onGwTimer(e.a, e.gen)
	case evFaultStart:
		w.faultStart(int(e.a))
	case evFaultEnd:
		w.faultEnd(int(e.a))
	case evAccess:
		w.onAccess(e.a, e.gen, e.b != 0)
	case evRegExpire:
		w.onRegExpire(e.a, e.gen)
	case evCacheRefresh:
		w.onCacheRefresh(e.a)
	case evMesh:
		w.onMesh(e.a, e.gen, e.b != 0)
	case evShardDetect:
		w.onShardDetect(e.a, e.gen)
	case evShardPromote:
		w.onShardPromote(e.a, e.gen)
	case evReplicaDetect:
		w.onReplicaDetect(e.a, e.gen)
	case evFlush:
		w.onFlush()
	case evLeafDone:
		w.onLeafDone(e.a, int(e.c), e.gen)
	case evCoreFree:
		w.onCoreFree(e.a, uint8(e.gen))
	case evThreadFree:
		w.onThreadFree(e.a, e.gen)
	case evCPUAhead:
		w.onCPUAhead(e.a, int(e.c), e.gen)
	case evOutlier:
		w.onOutlier()
	case evHedge:
		w.onHedge(e.a, e.gen, e.c)
	case evClientAnswer:
		w.onClientAnswer(e.a, status(e.b))
	case evScale, evScaleReady, evScaleStop, evAutoscale:
		w.onScaleEvent(e)
	case evSetAdd, evSetReady, evSetRouted, evSetCopied:
		w.onSetEvent(e)
	case evHealthCheck:
		w.onHealthCheck()
	default:
		panic("sim: unknown event kind")
	}
}

func (w *World) onFlush() {
	if w.now-int64(w.sc.Run.Window) < w.end {
		w.sampleScaling()
	}
	w.rec.Flush(w.now)
	if w.progress != nil {
		w.progress(min(w.now, w.end), w.end)
	}
	if next := w.now + int64(w.sc.Run.Window); next <= w.stop {
		w.at(next, evFlush, 0, 0, 0, 0)
	}
}

// Finish closes the run and returns the result; incomplete marks a run
// stopped before its end.
func (w *World) Finish(incomplete bool) *reports.Result {
	if incomplete {
		w.recordInFlight()
	}
	for i := range w.faults {
		if t := w.faults[i].doneAt; t >= 0 {
			w.rec.FailoverDone(i, t, "access layer re-homed the last users")
		}
	}
	w.rec.SetEngine("events", int64(w.events))
	w.rec.SetEngine("model_events", w.ModelEvents())
	w.rec.SetEngine("answered_ahead", w.answeredAhead)
	w.rec.SetEngine("forwarded_ahead", w.forwardedAhead)
	w.rec.SetEngine("answers_demoted", w.demoted)
	w.rec.SetEngine("forwards_demoted", w.demotedCore)
	w.rec.SetEngine("relayed_ahead", w.relayedAhead)
	w.rec.SetEngine("arrived_ahead", w.arrivedAhead)
	w.rec.SetEngine("arrivals_demoted", w.demotedArrival)
	w.rec.SetEngine("work_arrived_ahead", w.arrivedAheadWork)
	w.rec.SetEngine("work_arrivals_demoted", w.demotedArrivalWork)
	w.rec.SetEngine("edge_timers", w.edgeTimers)
	w.rec.SetEngine("relays_demoted", w.demotedRelay)
	w.rec.SetEngine("requests_max_in_flight", int64(w.reqs.peak))
	w.rec.SetQueues(w.queueRows())
	w.isolations()
	end := w.now
	if !incomplete {
		end = w.end
	}
	w.finishScaling(min(end, w.end))
	return w.rec.Finish(min(end, w.end), incomplete)
}

// QueueStats are an instance's admission counters over the measured part
// of the run: requests that reached it, those that had to wait for a
// thread, and their total wait in ns.
type QueueStats struct {
	Arrivals, Queued, WaitNS int64
}

// ServiceQueueStats sums the counters of every instance of a service.
func (w *World) ServiceQueueStats(svc int) QueueStats {
	var s QueueStats
	for i := range w.insts {
		if in := &w.insts[i]; in.role == scenarios.RoleService && in.svc == int32(svc) {
			s.Arrivals += in.qc.calls
			s.Queued += in.qc.waited
			s.WaitNS += in.qc.waitNS
		}
	}
	return s
}
