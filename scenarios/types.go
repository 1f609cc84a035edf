package scenarios

// Scenario is one scenario file: what is deployed, how it is striped, what
// runs in each set, the load, the faults and the objectives. Field comments
// are the reference: they become the JSON Schema descriptions and
// docs/scenarios.md.
type Scenario struct {
	// Name identifies the scenario in reports; defaults to the file name.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Description says what the scenario shows and what a reader should expect.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Run holds the duration, warm-up, metrics window and seed.
	Run Run `yaml:"run" json:"run"`
	// Topology lists cities, AZs, racks and machines and the latencies between them.
	Topology Topology `yaml:"topology" json:"topology" jsonschema:"required"`
	// Striping says how the topology is cut into sets.
	Striping Striping `yaml:"striping" json:"striping"`
	// Stack is what every set runs: access, gateway, discovery, services and data.
	Stack Stack `yaml:"stack" json:"stack" jsonschema:"required"`
	// Workload is the offered load.
	Workload Workload `yaml:"workload" json:"workload"`
	// Faults is the timeline of injected faults.
	Faults []Fault `yaml:"faults,omitempty" json:"faults,omitempty"`
	// Scaling is growth during the run, beside the faults: scale actions at
	// fixed times, autoscalers, and sets added or removed.
	Scaling Scaling `yaml:"scaling,omitempty" json:"scaling,omitempty"`
	// SLO lists the objectives that become verdicts.
	SLO SLO `yaml:"slo,omitempty" json:"slo,omitempty"`
}

// Run controls the length and measurement of a run.
type Run struct {
	// Duration is the simulated (or real) length of the run. Default 5m.
	Duration Duration `yaml:"duration" json:"duration"`
	// Warmup is excluded from every measure and verdict. Default 10s.
	Warmup Duration `yaml:"warmup" json:"warmup"`
	// Window is the metrics window: counters and histograms are kept per window. Default 1s.
	Window Duration `yaml:"window" json:"window"`
	// Seed makes the simulator's random streams; the same seed gives the same result. Default 1.
	Seed uint64 `yaml:"seed" json:"seed" jsonschema:"minimum=0"`
}

// Topology is the physical layout.
type Topology struct {
	// Cities in the order used for tie-breaks; at least one.
	Cities []City `yaml:"cities" json:"cities" jsonschema:"required,minItems=1"`
	// Machine is the capacity of every machine unless a city overrides it.
	Machine Machine `yaml:"machine" json:"machine"`
	// Latency gives one-way network delays by distance.
	Latency Latency `yaml:"latency" json:"latency"`
}

// City is one city (region) with its AZs.
type City struct {
	// Name of the city, unique; used in targets such as city=shenzhen.
	Name string `yaml:"name" json:"name" jsonschema:"required"`
	// AZs is a count (named a, b, c...) or a list of AZ names. Default 2.
	AZs Names `yaml:"azs" json:"azs"`
	// Racks per AZ: a count (named r1, r2...) or a list of names. Default 2.
	Racks Names `yaml:"racks" json:"racks"`
	// Machines per rack: a count (named m1, m2...) or a list of names. Default 4.
	Machines Names `yaml:"machines" json:"machines"`
	// Cores overrides topology.machine.cores for this city's machines; 0 keeps it.
	Cores int `yaml:"cores,omitempty" json:"cores,omitempty" jsonschema:"minimum=0"`
}

// Machine is the capacity of a machine.
type Machine struct {
	// Cores is how many service-time executions a machine runs at once across
	// all instances on it; more wait in its run queue. Default 16.
	Cores int `yaml:"cores" json:"cores" jsonschema:"minimum=1"`
}

// Latency is the one-way network delay model.
type Latency struct {
	// SameMachine is the delay between two instances on one machine. Default 20us.
	SameMachine Duration `yaml:"same_machine" json:"same_machine"`
	// SameRack is the delay between machines of one rack. Default 100us.
	SameRack Duration `yaml:"same_rack" json:"same_rack"`
	// SameAZ is the delay between racks of one AZ. Default 250us.
	SameAZ Duration `yaml:"same_az" json:"same_az"`
	// CrossAZ is the delay between AZs of one city. Default 1ms.
	CrossAZ Duration `yaml:"cross_az" json:"cross_az"`
	// CrossCity is the delay between two cities not listed in cities. Default 30ms.
	CrossCity Duration `yaml:"cross_city" json:"cross_city"`
	// Client is the delay from a user to the entry of their own city; a user
	// served by another city pays this plus the city-to-city delay. Default 5ms.
	Client Duration `yaml:"client" json:"client"`
	// Cities overrides the delay between pairs of cities (symmetric).
	Cities []CityLatency `yaml:"cities,omitempty" json:"cities,omitempty"`
	// Jitter adds to every one-way delay a uniform draw in [0, jitter x delay]. Default 10%.
	Jitter Percent `yaml:"jitter" json:"jitter"`
}

// CityLatency is one entry of the city-to-city latency matrix.
type CityLatency struct {
	// Between names the two cities.
	Between []string `yaml:"between" json:"between" jsonschema:"required,minItems=2,maxItems=2"`
	// Delay is the one-way delay between them.
	Delay Duration `yaml:"delay" json:"delay" jsonschema:"required"`
}

// Striping is how the topology is cut into sets.
type Striping struct {
	// Granularity of a set: city, az, rack or machine. Default az.
	Granularity string `yaml:"granularity" json:"granularity" jsonschema:"enum=city,enum=az,enum=rack,enum=machine"`
	// Reserve names sets whose machines the topology keeps in reserve:
	// written like every other place, cut into sets the same way, but
	// running nothing until a scaling.sets entry adds them. Every city
	// keeps at least one set in service. With a reserve, a user's home set
	// is chosen by rendezvous (highest random weight) hashing over the sets
	// in service (also when scaling.sets removes one), so adding a set
	// moves only the users that now belong to it.
	Reserve []string `yaml:"reserve,omitempty" json:"reserve,omitempty"`
}

// Granularities lists the valid striping granularities, coarsest first.
var Granularities = []string{"city", "az", "rack", "machine"}

// Stack is what runs in every set.
type Stack struct {
	// Access is the regional entry that sends users to a healthy set.
	Access Access `yaml:"access" json:"access"`
	// Gateway is the business gateway in every set.
	Gateway Gateway `yaml:"gateway" json:"gateway"`
	// Discovery is how callers find instances.
	Discovery Discovery `yaml:"discovery" json:"discovery"`
	// Services are the logic services; the gateway calls the first (or gateway.upstream).
	Services []Service `yaml:"services" json:"services"`
	// Data is the storage layer.
	Data Data `yaml:"data" json:"data"`
	// Resilience is the protection policies of the call path: circuit
	// breakers, outlier ejection, panic and protection thresholds, hedged
	// requests. Each is off unless written.
	Resilience *Resilience `yaml:"resilience,omitempty" json:"resilience,omitempty"`
}

// Resilience holds the call path's protection policies. Breakers and
// outlier ejection act on every call a gateway or service makes to a
// service (not on data calls); hedging on the client's attempts. While any
// policy is set the simulator settles no work ahead (every step is an
// event), which is slower but exact by construction.
type Resilience struct {
	// Breaker is a circuit breaker in every caller (gateway or service
	// instance) per target instance or per target service.
	Breaker *Breaker `yaml:"breaker,omitempty" json:"breaker,omitempty"`
	// Outlier is outlier ejection, with Envoy's semantics, done by the
	// callers of each set together (the set's discovery view).
	Outlier *Outlier `yaml:"outlier,omitempty" json:"outlier,omitempty"`
	// Panic is Envoy's healthy panic threshold (mesh): when the share of
	// a service's instances a caller sees as healthy (not dropped by
	// discovery, not ejected) falls below it, the caller balances over all
	// of them, dead ones included. Envoy's default is 50%; here 0 (off)
	// unless written. It is a trap: after an AZ loss it sends traffic to
	// the dead half.
	Panic Percent `yaml:"panic,omitempty" json:"panic,omitempty"`
	// Protection is Nacos's protection threshold (registry): when the
	// share of a service's instances still registered falls below it, the
	// registry returns every instance, expired ones included. Nacos's
	// default is 0 (off). Like panic, it keeps traffic on dead instances.
	Protection Percent `yaml:"protection,omitempty" json:"protection,omitempty"`
	// SelfPreservation is Eureka's self-preservation (registry): while
	// fewer than this share of a registry's registered instances renew
	// their lease, it expires none, dead ones included. Eureka's renewal
	// threshold is 85%; here 0 (off) unless written.
	SelfPreservation Percent `yaml:"self_preservation,omitempty" json:"self_preservation,omitempty"`
	// HealthCheck is active health checking by each set's callers, on top
	// of what discovery tells them.
	HealthCheck *HealthCheck `yaml:"health_check,omitempty" json:"health_check,omitempty"`
	// Hedging sends extra attempts of a client request while the first is
	// outstanding (gRPC's hedging policy).
	Hedging *Hedging `yaml:"hedging,omitempty" json:"hedging,omitempty"`
}

// Breaker is a circuit breaker: closed, open, half-open. Closed, it opens
// on consecutive errors, or when the error rate of the last window calls
// (once min_calls were made) reaches error_rate, or their share of slow
// calls reaches slow_rate. Open, it fails every call
// at once with unavailable (a definite error) for sleep, then lets probes
// calls through half-open: probes successes close it, any failure opens it
// again. An error is a call that timed out or answered anything but OK.
// Defaults are resilience4j's (window, min_calls, error_rate, slow_rate,
// sleep, probes) and Polaris's (consecutive_errors).
type Breaker struct {
	// Level is instance (one breaker per caller and target instance; an
	// open one steers the balancer to the other instances) or service
	// (one per caller and target service; open, every call to the service
	// fails fast). Default instance.
	Level string `yaml:"level" json:"level" jsonschema:"enum=instance,enum=service"`
	// ConsecutiveErrors opens the breaker after this many errors in a row; 0 turns it off. Default 10.
	ConsecutiveErrors int `yaml:"consecutive_errors" json:"consecutive_errors" jsonschema:"minimum=0"`
	// ErrorRate opens the breaker when this share of the last window calls failed; 0 turns it off. Default 50%.
	ErrorRate Percent `yaml:"error_rate" json:"error_rate"`
	// Window is how many of the latest calls the error rate is taken over. Default 100.
	Window int `yaml:"window" json:"window" jsonschema:"minimum=1"`
	// MinCalls is how many calls the window needs before the error rate counts. Default 100.
	MinCalls int `yaml:"min_calls" json:"min_calls" jsonschema:"minimum=1"`
	// SlowCall makes a call that took at least this long (answered or not)
	// count as slow; 0 turns slow calls off. Default 0 (resilience4j's
	// default of 60s is as good as off for most calls).
	SlowCall Duration `yaml:"slow_call,omitempty" json:"slow_call,omitempty"`
	// SlowRate opens the breaker when this share of the last window calls
	// were slow, once min_calls were made (with slow_call). Default 100%.
	SlowRate Percent `yaml:"slow_rate" json:"slow_rate"`
	// Sleep is how long an open breaker fails calls before it lets probes through. Default 60s.
	Sleep Duration `yaml:"sleep" json:"sleep"`
	// Probes is how many calls a half-open breaker lets through; that many successes close it. Default 10.
	Probes int `yaml:"probes" json:"probes" jsonschema:"minimum=1"`
}

// Outlier is outlier ejection with Envoy's semantics: a host is ejected
// after consecutive errors or consecutive gateway errors (at once), or
// when, at an interval check, its success rate is below the mean of the
// service's hosts by stdev standard deviations; it stays out for
// base_ejection times the number of times it was ejected, and never more
// than max_ejection of a service's instances are out at once (at least
// one may be). The defaults are Envoy's.
type Outlier struct {
	// ConsecutiveErrors ejects a host after this many errors in a row; 0 turns it off. Default 5.
	ConsecutiveErrors int `yaml:"consecutive_errors" json:"consecutive_errors" jsonschema:"minimum=0"`
	// ConsecutiveGatewayErrors ejects a host after this many calls in a
	// row timed out (the caller gave up on them); 0 turns it off. Default 5.
	ConsecutiveGatewayErrors int `yaml:"consecutive_gateway_errors" json:"consecutive_gateway_errors" jsonschema:"minimum=0"`
	// Interval is how often success rates are checked and ejections end. Default 10s.
	Interval Duration `yaml:"interval" json:"interval"`
	// BaseEjection is the ejection time, multiplied by the number of times the host was ejected. Default 30s.
	BaseEjection Duration `yaml:"base_ejection" json:"base_ejection"`
	// MaxEjection is the largest share of a service's instances ejected at once. Default 10%.
	MaxEjection Percent `yaml:"max_ejection" json:"max_ejection"`
	// Stdev ejects, at an interval check, a host whose success rate is below
	// the mean minus this many standard deviations; 0 turns it off. Default 1.9.
	Stdev float64 `yaml:"stdev" json:"stdev" jsonschema:"minimum=0"`
	// MinHosts is how many hosts of a service need min_requests calls in the interval for the success-rate check. Default 5.
	MinHosts int `yaml:"min_hosts" json:"min_hosts" jsonschema:"minimum=1"`
	// MinRequests is how many calls a host needs in the interval to count in the success-rate check. Default 100.
	MinRequests int `yaml:"min_requests" json:"min_requests" jsonschema:"minimum=1"`
}

// HealthCheck is active health checking (Envoy's semantics and defaults):
// every interval the callers of each set probe every instance they know;
// a probe fails when the instance is down or cut off from them, or its
// network round trip exceeds timeout (a slow machine still answers its
// health checks). After unhealthy failures in a row the callers stop
// balancing to it, after healthy successes in a row they start again.
type HealthCheck struct {
	// Interval is the time between two probes of an instance. Default 5s.
	Interval Duration `yaml:"interval" json:"interval"`
	// Timeout is how long a probe waits for its answer. Default 1s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Unhealthy is how many failed probes in a row mark an instance unhealthy. Default 2.
	Unhealthy int `yaml:"unhealthy" json:"unhealthy" jsonschema:"minimum=1"`
	// Healthy is how many successful probes in a row mark it healthy again. Default 1.
	Healthy int `yaml:"healthy" json:"healthy" jsonschema:"minimum=1"`
}

// Hedging is gRPC's hedging policy at the client: while an attempt is
// outstanding, another is sent every delay, up to max_attempts in all;
// the first OK answer wins and the client stops waiting for the others,
// whose work already running at the servers is not cancelled (servers do
// not learn that callers left). A hedge spends a token of
// workload.client.retry_budget, the same bucket as retries (gRPC
// throttles retries and hedges together), and is counted as an attempt.
type Hedging struct {
	// Delay is how long after an attempt is sent, with no answer yet, the next one goes.
	Delay Duration `yaml:"delay" json:"delay" jsonschema:"required"`
	// MaxAttempts is the most attempts of one request, the first included. Default 2.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts" jsonschema:"minimum=2,maximum=5"`
}

// Access is the regional access layer (DNS or anycast entry plus an in-city
// load balancer that health-checks sets).
type Access struct {
	// RehomeDelay is how long after a set or city changes health the access
	// layer moves its users (for example a DNS TTL plus health-check time). Default 30s.
	RehomeDelay Duration `yaml:"rehome_delay" json:"rehome_delay"`
	// Failback moves users back to their home set when it is healthy again. Default true.
	Failback *bool `yaml:"failback,omitempty" json:"failback,omitempty"`
}

// Gateway is the business gateway of a set.
type Gateway struct {
	// Instances per set. Default 2.
	Instances int `yaml:"instances" json:"instances" jsonschema:"minimum=1"`
	// Concurrency is the in-flight requests one instance forwards; more wait
	// in the admission queue. Default 256. Shedding acts where the backlog
	// forms: with more in flight than the upstream serves at once, the
	// backlog moves to the upstream's queue, which serves in arrival order.
	Concurrency int `yaml:"concurrency" json:"concurrency" jsonschema:"minimum=1"`
	// Cost is the CPU time to route one request. Default 50us. The gateway
	// picks the upstream instance when this work (with authentication)
	// starts and forwards the request when it ends.
	Cost Duration `yaml:"cost" json:"cost"`
	// Auth is request authentication.
	Auth Auth `yaml:"auth" json:"auth"`
	// RateLimit is a token bucket per priority for the whole set (0 = none).
	RateLimit RateLimit `yaml:"rate_limit" json:"rate_limit"`
	// Queue is the admission queue of one instance.
	Queue Queue `yaml:"queue" json:"queue"`
	// Shedding drops requests when the admission queue fills.
	Shedding Shedding `yaml:"shedding" json:"shedding"`
	// Upstream is the service the gateway calls. Default: the first service.
	Upstream string `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	// Timeout is how long the gateway waits for the upstream; a written
	// value must be positive. Default: the client timeout.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Auth is gateway authentication.
type Auth struct {
	// Enabled turns authentication on. Default true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Cost is the CPU time to authenticate one request. Default 200us.
	Cost Duration `yaml:"cost" json:"cost"`
}

// RateLimit is a token bucket per priority class, for a whole set.
type RateLimit struct {
	// High is the limit for high-priority requests; 0 means unlimited.
	High Rate `yaml:"high,omitempty" json:"high,omitempty"`
	// Normal is the limit for normal-priority requests; 0 means unlimited.
	Normal Rate `yaml:"normal,omitempty" json:"normal,omitempty"`
	// Low is the limit for low-priority requests; 0 means unlimited.
	Low Rate `yaml:"low,omitempty" json:"low,omitempty"`
	// Burst is the bucket depth as time at the limit rate. Default 100ms.
	Burst Duration `yaml:"burst" json:"burst"`
}

// Queue is the gateway's bounded admission queue with a wait limit: one
// FIFO, or under priority shedding one FIFO per class, served highest class
// first.
type Queue struct {
	// Capacity is the most requests waiting; more are shed. Under priority
	// shedding a request that finds the queue full pushes out the newest
	// waiting request of a lower class (shed instead), if there is one. Default 1000.
	Capacity int `yaml:"capacity" json:"capacity" jsonschema:"minimum=0"`
	// Timeout sheds a request that waited this long; 0 means no limit. Under
	// priority shedding higher classes are served first, so the limit falls
	// on the lowest classes waiting. Default 500ms.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Shedding is the gateway's overload policy, driven by admission-queue
// occupancy: an arriving request is shed with a probability rising from 0
// at its class's threshold to 1 at a full queue.
type Shedding struct {
	// Policy is priority (lowest class first, at random within a class),
	// random (every class alike) or none (only a full queue sheds). Default priority.
	// Under priority the admission path is priority-aware throughout: the
	// queue serves the highest class first (oldest first within a class),
	// a request's occupancy is the part of the queue it waits behind (its
	// class and higher ones), the wait limit and a full queue fall on the
	// lowest classes, so adding gateway instances does not expose a higher
	// class to the wait limit. Under random and none the queue is one FIFO.
	Policy string `yaml:"policy" json:"policy" jsonschema:"enum=priority,enum=random,enum=none"`
	// Low is the occupancy where low-priority shedding starts (priority policy). Default 25%.
	Low Percent `yaml:"low,omitempty" json:"low,omitempty"`
	// Normal is the occupancy (of the high and normal requests waiting)
	// where normal-priority shedding starts (priority policy). Default 50%.
	Normal Percent `yaml:"normal,omitempty" json:"normal,omitempty"`
	// High is the occupancy (of the high requests waiting) where
	// high-priority shedding starts (priority policy). Default 90%.
	High Percent `yaml:"high,omitempty" json:"high,omitempty"`
	// Start is the occupancy where shedding starts for every class (random policy). Default 50%.
	Start Percent `yaml:"start,omitempty" json:"start,omitempty"`
}

// Discovery is how callers find the instances of a service.
type Discovery struct {
	// Mode is registry (a central registry with heartbeats and client caches)
	// or mesh (sidecars that learn changes after a propagation delay). Default registry.
	Mode string `yaml:"mode" json:"mode" jsonschema:"enum=registry,enum=mesh"`
	// Scope is what a lookup sees: set (only its own set), city (its set first,
	// then its city) or global (its set, its city, then everything). Default set.
	Scope string `yaml:"scope" json:"scope" jsonschema:"enum=set,enum=city,enum=global"`
	// Placement is where the registry runs: per-set (one in every set) or a
	// target such as az=shenzhen/a (one for every set, in that place) (registry). Default per-set.
	Placement string `yaml:"placement,omitempty" json:"placement,omitempty"`
	// Replicas is how many copies of each registry run, on distinct machines
	// spread over the racks and AZs of its place; the registry answers while
	// any copy is up (registry). Default 3.
	Replicas int `yaml:"replicas,omitempty" json:"replicas,omitempty" jsonschema:"minimum=1,maximum=9"`
	// Heartbeat is how often an instance renews its lease (registry). Default 5s.
	Heartbeat Duration `yaml:"heartbeat,omitempty" json:"heartbeat,omitempty"`
	// TTL is how long after its last heartbeat an instance expires (registry). Default 15s.
	TTL Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// Refresh is how often a caller's cache re-reads the registry (registry). Default 10s.
	Refresh Duration `yaml:"refresh,omitempty" json:"refresh,omitempty"`
	// Detection is how long sidecars take to see an instance fail (mesh). Default 2s.
	Detection Duration `yaml:"detection,omitempty" json:"detection,omitempty"`
	// Propagation is how long a change takes to reach every sidecar (mesh). Default 1s.
	Propagation Duration `yaml:"propagation,omitempty" json:"propagation,omitempty"`
}

// Service is a logic service deployed in every set.
type Service struct {
	// Name of the service, unique; used in targets such as service=order.
	Name string `yaml:"name" json:"name" jsonschema:"required"`
	// Instances per set. Default 2.
	Instances int `yaml:"instances" json:"instances" jsonschema:"minimum=1"`
	// Concurrency is the requests one instance works on at once (threads);
	// a thread is held while the instance waits for its downstream calls. Default 16.
	Concurrency int `yaml:"concurrency" json:"concurrency" jsonschema:"minimum=1"`
	// Queue is how many requests may wait for a thread; more get an error. Default 1000.
	Queue int `yaml:"queue" json:"queue" jsonschema:"minimum=0"`
	// ServiceTime is the CPU time of one request. Default 2ms (exponential).
	ServiceTime Dist `yaml:"service_time" json:"service_time"`
	// Calls are made one after another once the CPU work is done.
	Calls []Call `yaml:"calls,omitempty" json:"calls,omitempty"`
}

// Call is one downstream call of a service: another service or the data layer.
type Call struct {
	// Service names the service called; exclusive with data.
	Service string `yaml:"service,omitempty" json:"service,omitempty" jsonschema:"oneof_required=service"`
	// Data is read, write, or request (a read or a write following the workload mix).
	Data string `yaml:"data,omitempty" json:"data,omitempty" jsonschema:"oneof_required=data,enum=read,enum=write,enum=request"`
	// Timeout is how long the caller waits; a written value must be
	// positive. Default: the client timeout.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Fallback makes a failed call (an error, a timeout, no instance, an
	// open breaker) not fail the request: the caller falls back (a cached
	// or default answer) and goes on with its next call. Default false.
	Fallback bool `yaml:"fallback,omitempty" json:"fallback,omitempty"`
}

// Dist is a service-time distribution. A bare duration ("2ms") means
// constant. The simulator draws a service time when the call is made, from
// the whole distribution: a draw of the tail longer than the rest of the
// run simply does not finish within it.
type Dist struct {
	// Dist is constant, exponential, lognormal or uniform.
	Dist string `yaml:"dist" json:"dist" jsonschema:"enum=constant,enum=exponential,enum=lognormal,enum=uniform"`
	// Mean of the distribution (constant: the value).
	Mean Duration `yaml:"mean,omitempty" json:"mean,omitempty"`
	// Sigma is the shape of a lognormal (the standard deviation of its log). Default 0.5.
	Sigma float64 `yaml:"sigma,omitempty" json:"sigma,omitempty" jsonschema:"exclusiveMinimum=0,maximum=5"`
	// Min is the lower bound of a uniform.
	Min Duration `yaml:"min,omitempty" json:"min,omitempty"`
	// Max is the upper bound of a uniform.
	Max Duration `yaml:"max,omitempty" json:"max,omitempty"`
}

// Data is the storage layer.
type Data struct {
	// Mode is global (every primary in one region, writes cross to it),
	// sharded (one shard per set, aligned with it), proxy (shards spread over
	// the topology behind a data proxy in every set) or none. Default sharded.
	Mode string `yaml:"mode" json:"mode" jsonschema:"enum=global,enum=sharded,enum=proxy,enum=none"`
	// Shards is the number of shards (global and proxy; sharded has one per set). Default 16.
	Shards int `yaml:"shards,omitempty" json:"shards,omitempty" jsonschema:"minimum=1"`
	// Replicas is the copies of each shard, the primary included. Default 3, or
	// the number of distinct places at the placement level when it is fewer.
	Replicas int `yaml:"replicas" json:"replicas" jsonschema:"minimum=1"`
	// Placement spreads the copies of a shard over distinct machines, racks, AZs or cities. Default az.
	Placement string `yaml:"placement" json:"placement" jsonschema:"enum=machine,enum=rack,enum=az,enum=city"`
	// Primary is the scope holding every primary (global), e.g. city=shenzhen. Default: the first city.
	Primary string `yaml:"primary,omitempty" json:"primary,omitempty"`
	// Replication is sync (a write is acknowledged after acks replicas have it)
	// or async (acknowledged at once, copied after lag). Default async.
	Replication string `yaml:"replication" json:"replication" jsonschema:"enum=sync,enum=async"`
	// Acks is how many replicas a sync write waits for: one, majority or all (sync). Default one.
	Acks string `yaml:"acks,omitempty" json:"acks,omitempty" jsonschema:"enum=one,enum=majority,enum=all"`
	// Lag is how long after the network delay an async write reaches a replica (async). Default 100ms.
	Lag Duration `yaml:"lag,omitempty" json:"lag,omitempty"`
	// Reads go to the nearest replica or the primary. Default nearest.
	Reads string `yaml:"reads" json:"reads" jsonschema:"enum=nearest,enum=primary"`
	// Detection is how long until a failed primary (or replica) is noticed. Default 10s.
	Detection Duration `yaml:"detection" json:"detection"`
	// Promotion is how long a replica takes to become primary after detection. Default 5s.
	Promotion Duration `yaml:"promotion" json:"promotion"`
	// ServiceTime is the time of one operation on a shard node. Default 500us (exponential).
	ServiceTime Dist `yaml:"service_time" json:"service_time"`
	// Concurrency is the operations a shard node runs at once. Default 32.
	Concurrency int `yaml:"concurrency" json:"concurrency" jsonschema:"minimum=1"`
	// Proxy is the data proxy of every set (proxy).
	Proxy *Proxy `yaml:"proxy,omitempty" json:"proxy,omitempty"`
}

// Proxy is the data proxy deployed in every set in proxy mode.
type Proxy struct {
	// Instances per set. Default 2.
	Instances int `yaml:"instances" json:"instances" jsonschema:"minimum=1"`
	// Cost is the CPU time to route one operation. Default 100us.
	Cost Duration `yaml:"cost" json:"cost"`
	// Concurrency is the operations one proxy instance forwards at once. Default 256.
	Concurrency int `yaml:"concurrency" json:"concurrency" jsonschema:"minimum=1"`
}

// Workload is the offered load: open-loop arrivals by city.
type Workload struct {
	// Rate is the offered rate of new requests at 100% of the profile. Default 1k/s.
	Rate Rate `yaml:"rate" json:"rate"`
	// Profile shapes the rate over time.
	Profile Profile `yaml:"profile" json:"profile"`
	// Arrivals is poisson (exponential gaps) or uniform (equal gaps). Default poisson.
	// Under a rate that varies (a profile, an overload), the gaps are
	// measured in expected requests, not in time: poisson arrivals are a
	// non-homogeneous Poisson process whose count in any stretch of time
	// follows the integral of the rate there, and uniform arrivals come
	// each time that integral has grown by one request (so their count in
	// a stretch is the integral to within one), however low the rate gets.
	Arrivals string `yaml:"arrivals" json:"arrivals" jsonschema:"enum=poisson,enum=uniform"`
	// Users is the user population and its split over cities.
	Users Users `yaml:"users" json:"users"`
	// Mix is the share of reads and writes; they sum to 100% (within 0.1%,
	// then scaled to it exactly).
	Mix Mix `yaml:"mix" json:"mix"`
	// Keys is how requests pick users (the key of their data).
	Keys Keys `yaml:"keys" json:"keys"`
	// Priorities is the share of each priority class; they sum to 100%
	// (within 0.1%, then scaled to it exactly).
	Priorities Priorities `yaml:"priorities" json:"priorities"`
	// Client is the client's timeout and retry policy.
	Client Client `yaml:"client" json:"client"`
	// Commands are the named client commands the gateway maps to services,
	// each with its share of the traffic, priority and kind; their shares
	// sum to 100% (within 0.1%, then scaled to it exactly). Without
	// commands every request goes to gateway.upstream with a priority
	// drawn from priorities and a read or write from mix, which is the
	// same as one command per priority class, of kind mixed, to
	// gateway.upstream. With commands, priorities does not apply, and mix
	// only to commands of kind mixed.
	Commands []Command `yaml:"commands,omitempty" json:"commands,omitempty"`
}

// Command is one client command: the gateway routes it to its service and
// admits it by its priority (rate limit and shedding); its kind decides
// whether its data calls read (the nearest copy) or write (the primary).
type Command struct {
	// Name of the command, unique; reports and slo.commands use it.
	Name string `yaml:"name" json:"name" jsonschema:"required"`
	// Share is the command's share of the offered requests.
	Share Percent `yaml:"share" json:"share" jsonschema:"required"`
	// Priority is the class the gateway's rate limit and shedding apply:
	// high, normal or low. Default normal.
	Priority string `yaml:"priority" json:"priority" jsonschema:"enum=high,enum=normal,enum=low"`
	// Kind is read (every data call of type request reads), write (every
	// one writes) or mixed (reads or writes by workload.mix). A read
	// command may not reach a call of type write. Default mixed.
	Kind string `yaml:"kind" json:"kind" jsonschema:"enum=read,enum=write,enum=mixed"`
	// Service is the service the gateway sends the command to, in the
	// user's set (discovery scope as for any call). Default: gateway.upstream.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Timeout is the client's timeout of one attempt of this command.
	// Default: workload.client.timeout.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Retries is the client's retries of this command after its first
	// attempt (backoff, budget and retry_on as in workload.client). Default: workload.client.retries.
	Retries int `yaml:"retries,omitempty" json:"retries,omitempty" jsonschema:"minimum=0,maximum=10"`
}

// Profile is a multiplier over time applied to workload.rate; the requests
// offered between two times are the integral of the rate between them (see
// arrivals), so a ramp from 0% or a diurnal trough at 0% offers its share
// and a level of 0% offers nothing.
type Profile struct {
	// Shape is constant, ramp, step, spike or diurnal. Default constant.
	Shape string `yaml:"shape" json:"shape" jsonschema:"enum=constant,enum=ramp,enum=step,enum=spike,enum=diurnal"`
	// From is the level where a ramp starts (ramp). Default 0%.
	From Percent `yaml:"from,omitempty" json:"from,omitempty"`
	// To is the level where a ramp ends (ramp). Default 100%.
	To Percent `yaml:"to,omitempty" json:"to,omitempty"`
	// Start is when the ramp or spike starts (ramp, spike).
	Start Duration `yaml:"start,omitempty" json:"start,omitempty"`
	// End is when the ramp reaches its level (ramp). Default: the end of the run.
	End Duration `yaml:"end,omitempty" json:"end,omitempty"`
	// For is how long a spike lasts (spike). Default 30s.
	For Duration `yaml:"for,omitempty" json:"for,omitempty"`
	// Level is the level during a spike (spike). Default 300%.
	Level Percent `yaml:"level,omitempty" json:"level,omitempty"`
	// Steps are levels from a time on, in order (step).
	Steps []Step `yaml:"steps,omitempty" json:"steps,omitempty"`
	// Period is the length of one day (diurnal). Default: the run duration.
	Period Duration `yaml:"period,omitempty" json:"period,omitempty"`
	// Min is the trough level (diurnal). Default 30%.
	Min Percent `yaml:"min,omitempty" json:"min,omitempty"`
	// PeakAt is the time of the peak within the period (diurnal). Default: half the period.
	PeakAt Duration `yaml:"peak_at,omitempty" json:"peak_at,omitempty"`
}

// Step is one level of a step profile.
type Step struct {
	// At is when this level begins.
	At Duration `yaml:"at" json:"at" jsonschema:"required"`
	// Level is the multiplier from then on.
	Level Percent `yaml:"level" json:"level" jsonschema:"required"`
}

// Users is the user population.
type Users struct {
	// Count is the number of users. Default 100k.
	Count Count `yaml:"count" json:"count"`
	// ByCity is the share of users (and of traffic) per city; they sum to
	// 100% (within 0.1%, then scaled to it exactly). Default: equal shares.
	ByCity map[string]Percent `yaml:"by_city,omitempty" json:"by_city,omitempty"`
}

// Mix is the read/write mix.
type Mix struct {
	// Read is the share of reads. Default 80%.
	Read Percent `yaml:"read" json:"read"`
	// Write is the share of writes. Default 20%.
	Write Percent `yaml:"write" json:"write"`
}

// Keys is how a request picks its user within a city.
type Keys struct {
	// Distribution is uniform or zipf (a few hot users send most requests). Default uniform.
	Distribution string `yaml:"distribution" json:"distribution" jsonschema:"enum=uniform,enum=zipf"`
	// S is the Zipf exponent, above 0 and at most 10: the user of rank k
	// sends in proportion to 1/k^s over the city's finite population, so
	// 1 and below (common for web workloads) are allowed (zipf). Default 1.1.
	S float64 `yaml:"s,omitempty" json:"s,omitempty" jsonschema:"exclusiveMinimum=0,maximum=10"`
}

// Priorities is the priority mix.
type Priorities struct {
	// High is the share of high-priority requests. Default 10%.
	High Percent `yaml:"high" json:"high"`
	// Normal is the share of normal-priority requests. Default 60%.
	Normal Percent `yaml:"normal" json:"normal"`
	// Low is the share of low-priority requests. Default 30%.
	Low Percent `yaml:"low" json:"low"`
}

// Client is the client's timeout and retry policy.
type Client struct {
	// Timeout of one attempt. Default 1s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Retries after the first attempt. Default 2.
	Retries int `yaml:"retries" json:"retries" jsonschema:"minimum=0,maximum=10"`
	// Backoff between attempts.
	Backoff Backoff `yaml:"backoff" json:"backoff"`
	// RetryBudget caps retries at this share of first attempts (0 = no cap). Default 20%.
	RetryBudget Percent `yaml:"retry_budget" json:"retry_budget"`
	// RetryOn lists the outcomes retried: timeout, error, unavailable, shed, rate-limited. Default timeout, error, unavailable.
	RetryOn []string `yaml:"retry_on,omitempty" json:"retry_on,omitempty" jsonschema:"enum=timeout,enum=error,enum=unavailable,enum=shed,enum=rate-limited"`
}

// Backoff is exponential backoff.
type Backoff struct {
	// Base is the wait before the first retry, doubled for each further one. Default 50ms.
	Base Duration `yaml:"base" json:"base"`
	// Max caps the wait. Default 1s.
	Max Duration `yaml:"max" json:"max"`
	// Jitter is full (uniform in [0, wait]), equal (wait/2 plus uniform in [0, wait/2]) or none. Default full.
	Jitter string `yaml:"jitter" json:"jitter" jsonschema:"enum=full,enum=equal,enum=none"`
}

// Fault is one entry of the fault timeline.
type Fault struct {
	// Name labels the fault in reports. Default: kind and target.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// At is when the fault starts, from the start of the run.
	At Duration `yaml:"at" json:"at" jsonschema:"required"`
	// For is how long it lasts; 0 or absent means until the end of the run.
	For Duration `yaml:"for,omitempty" json:"for,omitempty"`
	// Kind is one of the fault kinds (see docs/scenarios.md).
	Kind string `yaml:"kind" json:"kind" jsonschema:"required"`
	// Target is the scope the fault hits: city=X, az=X/Y, rack=X/Y/Z,
	// machine=X/Y/Z/W, set=NAME, service=NAME, shard=N; some kinds allow none.
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// To is the other side of a link (partition, latency, loss); absent means
	// every peer outside the target.
	To string `yaml:"to,omitempty" json:"to,omitempty"`
	// Direction is both or one-way (from target to to) (partition, latency, loss). Default both.
	Direction string `yaml:"direction,omitempty" json:"direction,omitempty" jsonschema:"enum=both,enum=one-way"`
	// Action is drop (messages vanish; callers time out) or reject (callers get an error at once) (partition). Default drop.
	Action string `yaml:"action,omitempty" json:"action,omitempty" jsonschema:"enum=drop,enum=reject"`
	// Delay is extra one-way delay (latency; a latency fault needs a delay,
	// a jitter or both).
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	// Jitter is extra delay drawn uniformly in [0, jitter] on top of delay (latency).
	Jitter Duration `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	// Rate is the share of messages lost (loss).
	Rate Percent `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Factor multiplies service time (slow-machine) or offered traffic (overload).
	Factor float64 `yaml:"factor,omitempty" json:"factor,omitempty"`
}

// Scaling changes the number of instances of a service or of the gateway
// during the run. Each set has its own deployment of every component, so a
// count is per set. Instances a scale-up may start are placed in advance,
// continuing the round-robin over the set's machines; they run nothing
// until started.
type Scaling struct {
	// Startup is how long a new instance takes from the decision to start it
	// until it is ready (scheduling, boot, readiness checks). Then it
	// registers in discovery, so callers see it after their next cache
	// refresh (registry) or the propagation delay (mesh), and a new gateway
	// after the access layer's rehome_delay. Default 30s.
	Startup Duration `yaml:"startup" json:"startup"`
	// Grace is how long a removed instance drains: it leaves discovery at
	// once (a gateway, the access layer's view rehome_delay later), keeps
	// serving the calls that still reach it and finishes what it holds, and
	// stops when the grace ends; work still there then is lost. A grace
	// longer than the callers' refresh (or propagation, or rehome_delay)
	// plus their longest call drains without a failed request. Default 30s.
	Grace Duration `yaml:"grace" json:"grace"`
	// Actions are scale actions at fixed times.
	Actions []ScaleAction `yaml:"actions,omitempty" json:"actions,omitempty"`
	// Autoscale lists autoscalers, at most one per service and one for the gateway.
	Autoscale []Autoscaler `yaml:"autoscale,omitempty" json:"autoscale,omitempty"`
	// Sets adds reserved sets (striping.reserve) or removes sets in service during the run.
	Sets []SetChange `yaml:"sets,omitempty" json:"sets,omitempty"`
	// CopyRate is how fast keys (users' data) move to an added set's shard
	// under data.mode sharded. Default 1k/s.
	CopyRate Rate `yaml:"copy_rate" json:"copy_rate"`
}

// SetChange adds a reserved set or removes a set in service. An added
// set's instances start at once and are ready startup later; the access
// layer routes to its gateways rehome_delay after that, and from then the
// users whose rendezvous hash now picks it are homed there. Under
// data.mode sharded the set's own shard then receives those users' keys
// at scaling.copy_rate, in hash order; until a user's key is copied its
// data operations are forwarded to the shard that held it (a cross-set
// call, counted in the result). A proxy or global data layer moves
// nothing: keys are placed independently of sets. Removing is the
// reverse: the set's gateways leave the access layer at once, its users
// move to their next sets rehome_delay later, its shard's keys are copied
// out meanwhile forwarding as above, and its instances stop grace after
// the copy ends.
type SetChange struct {
	// At is when the set is added or removed, from the start of the run.
	At Duration `yaml:"at" json:"at" jsonschema:"required"`
	// Add names a reserved set (striping.reserve); exclusive with remove.
	Add string `yaml:"add,omitempty" json:"add,omitempty"`
	// Remove names a set in service at that time; exclusive with add.
	Remove string `yaml:"remove,omitempty" json:"remove,omitempty"`
}

// ScaleAction sets or changes the instance count of one component in the
// target sets at a time. An instance started by it is ready startup later;
// scaling down cancels instances still starting first (newest first), then
// drains ready ones (the last placed first).
type ScaleAction struct {
	// At is when the action is taken, from the start of the run.
	At Duration `yaml:"at" json:"at" jsonschema:"required"`
	// Service names the service scaled, or gateway for the gateway.
	Service string `yaml:"service" json:"service" jsonschema:"required"`
	// Target is the sets scaled: set=NAME, city=NAME (every set of the
	// city) or absent for every set.
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// To sets the count per target set (0 or more); exclusive with by.
	To int `yaml:"to,omitempty" json:"to,omitempty" jsonschema:"minimum=0"`
	// By adds (+N) or removes (-N) instances in every target set, not going
	// below 0; exclusive with to.
	By int `yaml:"by,omitempty" json:"by,omitempty"`
}

// Autoscaler is a horizontal autoscaler following the Kubernetes HPA
// algorithm, run independently in every set. Every period it measures the
// utilization of the set's ready instances (busy threads over concurrency,
// averaged over the period; instances not ready do not count) and
// recommends ceil(ready x utilization / utilization target), or no change
// while utilization / target is within tolerance of 1. A scale-down goes
// only to the highest recommendation of the stabilization window; the
// result is kept within min and max and moves by at most max_step.
type Autoscaler struct {
	// Service names the service scaled, or gateway for the gateway.
	Service string `yaml:"service" json:"service" jsonschema:"required"`
	// Min is the fewest instances per set. Default: the component's instances.
	Min int `yaml:"min" json:"min" jsonschema:"minimum=1"`
	// Max is the most instances per set; at least min.
	Max int `yaml:"max" json:"max" jsonschema:"required,minimum=1"`
	// Utilization is the target utilization (busy threads over concurrency). Default 70%.
	Utilization Percent `yaml:"utilization" json:"utilization"`
	// Period is how often the autoscaler decides. Default 15s.
	Period Duration `yaml:"period" json:"period"`
	// Tolerance is how far utilization / target may be from 1 without a change. Default 10%.
	Tolerance Percent `yaml:"tolerance" json:"tolerance"`
	// Stabilization is the window whose highest recommendation a scale-down
	// may not go below. Default 5m.
	Stabilization Duration `yaml:"stabilization" json:"stabilization"`
	// MaxStep is the most instances added or removed per set in one decision. Default 4.
	MaxStep int `yaml:"max_step" json:"max_step" jsonschema:"minimum=1"`
}

// GatewayComponent is the name a scale action or an autoscaler gives the gateway.
const GatewayComponent = "gateway"

// SLO is the set of objectives that become verdicts. An absent field is not checked.
type SLO struct {
	// Availability is the least share of requests served, outside warm-up.
	Availability Percent `yaml:"availability,omitempty" json:"availability,omitempty"`
	// AvailabilityInFault is the least share served inside each fault window.
	AvailabilityInFault Percent `yaml:"availability_in_fault,omitempty" json:"availability_in_fault,omitempty"`
	// AvailabilityByPriority is the least share served per priority class.
	AvailabilityByPriority map[string]Percent `yaml:"availability_by_priority,omitempty" json:"availability_by_priority,omitempty"`
	// Latency caps percentiles of client-observed latency over the run: p50, p90, p95, p99, p99.9.
	Latency map[string]Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
	// LatencyInFault caps percentiles inside each fault window.
	LatencyInFault map[string]Duration `yaml:"latency_in_fault,omitempty" json:"latency_in_fault,omitempty"`
	// RTO caps the recovery time of every fault: from its start until
	// availability is back above the availability objective and stays there.
	RTO Duration `yaml:"rto,omitempty" json:"rto,omitempty"`
	// RPO caps the time span of acknowledged writes lost by a failover.
	RPO Duration `yaml:"rpo,omitempty" json:"rpo,omitempty"`
	// LostWrites caps the count of acknowledged writes lost (use with any value, 0 included, by setting it).
	LostWrites *int64 `yaml:"lost_writes,omitempty" json:"lost_writes,omitempty" jsonschema:"minimum=0"`
	// ShedOrder requires that lower priorities lose availability first;
	// with workload.commands, the priorities are the commands'.
	ShedOrder bool `yaml:"shed_order,omitempty" json:"shed_order,omitempty"`
	// Commands are objectives of one command each, keyed by its name.
	Commands map[string]CommandSLO `yaml:"commands,omitempty" json:"commands,omitempty"`
}

// CommandSLO is the objectives of one command of workload.commands.
type CommandSLO struct {
	// Availability is the least share of the command's requests served, outside warm-up.
	Availability Percent `yaml:"availability,omitempty" json:"availability,omitempty"`
	// AvailabilityInFault is the least share of the command's requests served inside each fault window.
	AvailabilityInFault Percent `yaml:"availability_in_fault,omitempty" json:"availability_in_fault,omitempty"`
	// Latency caps percentiles of the command's latency over the run: p50, p90, p95, p99, p99.9.
	Latency map[string]Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
}

// PriorityNames lists the priority classes, highest first; indexes into
// per-priority arrays everywhere.
var PriorityNames = [3]string{"high", "normal", "low"}

// Percentiles maps the latency objective keys to quantiles.
var Percentiles = map[string]float64{"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p99.9": 0.999}
