package reports

// Measures are computed from a Result's windows, totals and faults by
// Analyze; the definitions are those of the design (availability is OK over
// offered; latency is of successful requests from their intended send time).
type Measures struct {
	// Availability over the measured run, and outside every fault window.
	Availability       float64                `json:"availability"`
	AvailabilitySteady float64                `json:"availability_steady"`
	ByPriority         [NumPriorities]float64 `json:"availability_by_priority"`
	ByCity             []float64              `json:"availability_by_city"`
	BySet              []float64              `json:"availability_by_set"`
	Latency            Latency                `json:"latency"`
	LatencyByPriority  [NumPriorities]Latency `json:"latency_by_priority"`
	// CrossRegion is the share of requests served outside their user's city.
	CrossRegion float64 `json:"cross_region"`
	// CrossSet is the share of requests with a hop outside their home set.
	CrossSet float64 `json:"cross_set"`
	// RetryAmplification is attempts per offered request.
	RetryAmplification float64               `json:"retry_amplification"`
	LostWrites         int64                 `json:"lost_writes"`
	LostSpanNS         int64                 `json:"lost_span_ns"`
	ShedOrder          ShedOrder             `json:"shed_order"`
	Faults             []FaultMeasures       `json:"faults"`
	Degradation        [NumPriorities]Counts `json:"degradation_by_priority"`
	// Commands are the measures of each command of workload.commands, in
	// their order (empty without commands).
	Commands []CommandMeasures `json:"commands,omitempty"`
	// Queues are the queue figures of each kind of instance, in call
	// chain order (gateway, services, data proxy, shard nodes).
	Queues []QueueMeasures `json:"queues,omitempty"`
	// AvailabilityObjective is the availability a window needs to count as
	// healthy for RTO and blast radius: slo.availability, or
	// DefaultAvailabilityObjective when unset. ShedNoise is the allowance
	// the shed-order check used.
	AvailabilityObjective float64 `json:"availability_objective"`
	ShedNoise             float64 `json:"shed_noise"`
}

// FaultMeasures are the measures of one fault window. Durations are ns
// from the fault's start; -1 means it did not happen.
type FaultMeasures struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Start and End bound the fault window (ns from the start of the run).
	Start        int64                  `json:"start_ns"`
	End          int64                  `json:"end_ns"`
	Availability float64                `json:"availability"`
	ByPriority   [NumPriorities]float64 `json:"availability_by_priority"`
	// ByCommand is the availability of each command inside the fault
	// (with workload.commands).
	ByCommand []float64 `json:"availability_by_command,omitempty"`
	Latency   Latency   `json:"latency"`
	// RTO is from the fault's start until availability is back within the
	// availability objective and stays there (until the next fault or the
	// end of the run); 0 when it never left it; -1 when it never came back,
	// or when no request was measured after the fault started.
	RTO int64 `json:"rto_ns"`
	// Isolation is from the fault's start until no call reached its
	// machines any more (FaultInfo.Isolated); absent when they were not
	// isolated or the run recorded no isolation.
	Isolation    *int64 `json:"isolation_ns,omitempty"`
	Detection    int64  `json:"detection_ns"`
	Reroute      int64  `json:"reroute_ns"`
	FailoverDone int64  `json:"failover_done_ns"`
	LostWrites   int64  `json:"lost_writes"`
	LostSpanNS   int64  `json:"lost_span_ns"`
	// BlastUsers is the share of users active during the fault who saw a
	// failure; BlastSets the share of sets whose availability in some window
	// of the fault fell below the availability objective.
	BlastUsers   float64 `json:"blast_users"`
	BlastSets    float64 `json:"blast_sets"`
	SetsAffected int     `json:"sets_affected"`
	// WorstWindow is the start of the window with the lowest availability.
	WorstWindow       int64   `json:"worst_window_ns"`
	WorstAvailability float64 `json:"worst_availability"`
}

// CommandMeasures are one command's measures over the measured run: its
// availability, outcomes (shed, rate-limited, failed by reason) and
// latency; inside each fault, its availability is in FaultMeasures.ByCommand.
type CommandMeasures struct {
	Name         string  `json:"name"`
	Priority     string  `json:"priority"`
	Kind         string  `json:"kind"`
	Service      string  `json:"service"`
	Availability float64 `json:"availability"`
	Counts       Counts  `json:"counts"`
	Latency      Latency `json:"latency"`
}

// QueueMeasures are one kind of instance's queue figures over the
// measured part of the run, from QueueCounts.
type QueueMeasures struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Utilization is the thread time in use over the threads' time.
	Utilization float64 `json:"utilization"`
	// MeanWaitNS is the mean time in the queue over every call (those
	// that found a thread free count 0); WaitedShare the share of calls
	// that queued.
	MeanWaitNS  float64 `json:"mean_wait_ns"`
	WaitedShare float64 `json:"waited_share"`
	// RejectedShare, ExpiredShare and ShedShare are shares of calls
	// turned away by a full queue, by the wait limit and by the policy.
	RejectedShare float64 `json:"rejected_share"`
	ExpiredShare  float64 `json:"expired_share"`
	ShedShare     float64 `json:"shed_share"`
	Calls         int64   `json:"calls"`
}

// ShedOrder says whether lower priorities lost availability first: Held is
// true when, in every window where some class lost availability, no higher
// class lost more than a lower one.
type ShedOrder struct {
	Held bool `json:"held"`
	// Violations counts windows where a higher class fared worse.
	Violations int `json:"violations"`
	// FirstViolation is the start of the first such window, or -1.
	FirstViolation int64  `json:"first_violation_ns"`
	Detail         string `json:"detail"`
	// LossyWindows counts the windows where some class lost availability.
	LossyWindows int `json:"lossy_windows"`
}

// Verdict is one objective checked against what was measured.
type Verdict struct {
	// SLO names the objective (availability, latency p99, rto...).
	SLO string `json:"slo"`
	// Scope is overall, a priority, or a fault's name.
	Scope    string  `json:"scope"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Pass     bool    `json:"pass"`
	TargetV  float64 `json:"target_value"`
	MeasureV float64 `json:"measured_value"`
	// WindowStart and WindowEnd bound where it failed (ns), -1 when it passed.
	WindowStart int64  `json:"window_start_ns"`
	WindowEnd   int64  `json:"window_end_ns"`
	Detail      string `json:"detail,omitempty"`
	// Incomplete marks a verdict of a run stopped before its end: Pass
	// says how it stood when the run stopped, which proves nothing either
	// way, and the verdict counts as neither passed nor failed.
	Incomplete bool `json:"incomplete,omitempty"`
}
