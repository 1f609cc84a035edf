package reports

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/pkg/errors"

	"github.com/stripelab/stripelab/scenarios"
)

// ResultVersion is the version of the result.json format this build writes
// and reads.
const ResultVersion = 2

// ErrBadResult is matched by every error about a result file's content.
var ErrBadResult = errors.New("bad result file")

// Outcome is how one request ended.
type Outcome uint8

// Outcomes. OK is the only success.
const (
	OK Outcome = iota
	Shed
	RateLimited
	Timeout
	Failed // an error returned by a hop (a refused connection, a hop timeout, a failed write)
	Unavailable
	// Unknown is a request still in flight when a run was stopped early:
	// it was offered, and nobody knows whether it would have been served.
	// It counts as not served (availability is OK over offered), so the
	// windows of an interrupted run can only look worse than they were,
	// never better; Counts.Partial tells the windows that hold some.
	Unknown
	NumOutcomes
)

// OutcomeNames are the outcome names used in result.json, CSV and reports.
var OutcomeNames = [NumOutcomes]string{"ok", "shed", "rate_limited", "timeout", "error", "unavailable", "unknown"}

func (o Outcome) String() string { return OutcomeNames[o] }

// NumPriorities is the number of priority classes (high, normal, low).
const NumPriorities = 3

// Result is everything one run measured: the one format every report reads,
// whatever backend made it.
type Result struct {
	Version  int    `json:"version"`
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	// Text is the scenario file as it was run.
	Text    string `json:"scenario_text"`
	Seed    uint64 `json:"seed"`
	Backend string `json:"backend"`
	// Incomplete marks a run stopped before its end (an interrupt);
	// StoppedNS is how far it got. Its requests still in flight then are
	// counted with the Unknown outcome.
	Incomplete bool  `json:"incomplete,omitempty"`
	StoppedNS  int64 `json:"stopped_ns,omitempty"`
	// WindowNS, DurationNS and WarmupNS are in nanoseconds of run time.
	WindowNS   int64         `json:"window_ns"`
	DurationNS int64         `json:"duration_ns"`
	WarmupNS   int64         `json:"warmup_ns"`
	SLO        scenarios.SLO `json:"slo"`
	Cities     []string      `json:"cities"`
	// Commands are the scenario's workload.commands, in order; windows and
	// totals count by them (empty without commands).
	Commands []CommandInfo `json:"commands,omitempty"`
	Sets     []SetInfo     `json:"sets"`
	Cost     Cost          `json:"cost"`
	Faults   []FaultInfo   `json:"faults"`
	Events   []Event       `json:"events"`
	Windows  []Window      `json:"windows"`
	Totals   Totals        `json:"totals"`
	// Queues are the queue figures of each kind of instance (the gateway,
	// each service, the data proxy, the shard nodes), over the measured
	// part of the run; a backend that cannot count them leaves this empty.
	Queues []QueueCounts `json:"queues,omitempty"`
	// Scaling is the record of scale actions and autoscalers, for a run
	// that has any.
	Scaling *Scaling `json:"scaling,omitempty"`
	// Engine holds backend counters such as simulated events (deterministic).
	Engine map[string]int64 `json:"engine,omitempty"`
	// Measures and Verdicts are computed from the rest by Analyze.
	Measures *Measures `json:"measures,omitempty"`
	Verdicts []Verdict `json:"verdicts,omitempty"`
}

// QueueCounts are the queue figures of every instance of one kind (the
// gateway, a service, the data proxy, the shard nodes) over the measured
// part of the run (after warm-up, before the end), counted by the time a
// call arrived.
type QueueCounts struct {
	// Name is gateway, the service's name, data proxy or shard node.
	Name string `json:"name"`
	Role string `json:"role"`
	// Instances is how many instances there are, Threads their
	// concurrency together, QueueCapacity their queues' together.
	Instances     int   `json:"instances"`
	Threads       int64 `json:"threads"`
	QueueCapacity int64 `json:"queue_capacity"`
	// Calls reached a live instance; Waited found every thread busy and
	// queued; WaitNS is the time calls spent in the queue (served,
	// expired or pushed out alike).
	Calls  int64 `json:"calls"`
	Waited int64 `json:"waited"`
	WaitNS int64 `json:"wait_ns"`
	// Rejected found the queue full (a gateway sheds, others answer an
	// error; a gateway under priority shedding may push out a lower class
	// instead, which counts once). Expired waited past the gateway's wait
	// limit. Shed were shed by the gateway's policy on arrival.
	Rejected int64 `json:"rejected"`
	Expired  int64 `json:"expired"`
	Shed     int64 `json:"shed"`
	// BusyThreadNS is the thread time in use (ns x threads, a thread held
	// from taking a call until it answers, waiting on calls included).
	BusyThreadNS int64 `json:"busy_thread_ns"`
}

// CommandInfo is one command of the scenario: what it is called, its
// share of the traffic, priority, kind (read, write, mixed) and service.
type CommandInfo struct {
	Name     string  `json:"name"`
	Share    float64 `json:"share"`
	Priority string  `json:"priority"`
	Kind     string  `json:"kind"`
	Service  string  `json:"service"`
}

// SetInfo names a set and its city.
type SetInfo struct {
	Name string `json:"name"`
	City int    `json:"city"`
}

// Cost is what the layout deploys.
type Cost struct {
	Machines  int            `json:"machines"`
	Sets      int            `json:"sets"`
	Instances int            `json:"instances"`
	ByRole    map[string]int `json:"instances_by_role"`
	Shards    int            `json:"shards"`
	Cores     int            `json:"cores"`
}

// FaultInfo is one fault of the schedule with what the backend observed of
// it. Times are ns from the start of the run; -1 means it did not happen.
type FaultInfo struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Start  int64  `json:"start_ns"`
	End    int64  `json:"end_ns"`
	// Detected is when a component still up first noticed the failure in
	// a way that changes what it does (access health check, a discovery
	// view a live caller uses, the failure detector on a surviving copy);
	// views whose every caller failed too do not count.
	Detected int64 `json:"detected_ns"`
	// Rerouted is when user traffic first moved away from what failed (the
	// access layer, a live caller's discovery view, the first request sent
	// to a promoted primary).
	Rerouted int64 `json:"rerouted_ns"`
	// FailoverDone is when the last promotion or re-homing caused by the fault finished.
	FailoverDone int64 `json:"failover_done_ns"`
	// Isolated is, for a fault on machines in a run with resilience
	// policies, the moment from which no call reached its machines until
	// it ended (outlier ejection or breakers took them out of balancing);
	// absent when calls kept reaching them.
	Isolated *int64 `json:"isolated_ns,omitempty"`
	// LostWrites are acknowledged writes lost by failovers the fault caused;
	// LostSpanNS is the time between the oldest lost write and the failure.
	LostWrites int64 `json:"lost_writes"`
	LostSpanNS int64 `json:"lost_span_ns"`
	// UsersActive sent at least one request during the fault; UsersFailed
	// saw at least one failure then.
	UsersActive int64 `json:"users_active"`
	UsersFailed int64 `json:"users_failed"`
}

// Event is one entry of the timeline.
type Event struct {
	T      int64  `json:"t_ns"`
	Kind   string `json:"kind"`
	Fault  int    `json:"fault"` // index into Faults, or -1
	Detail string `json:"detail"`
}

// Event kinds.
const (
	EvFaultStart   = "fault-start"
	EvFaultEnd     = "fault-end"
	EvDetected     = "detected"
	EvRerouted     = "rerouted"
	EvFailoverDone = "failover-done"
	EvRehomed      = "rehomed"
	EvWritesLost   = "writes-lost"
	EvRecovered    = "recovered"
	EvIsolated     = "isolated"
)

// Counts are offered requests and how they ended.
type Counts struct {
	Offered  int64              `json:"offered"`
	Outcomes [NumOutcomes]int64 `json:"outcomes"`
}

// OK is the number of successful requests.
func (c *Counts) OK() int64 { return c.Outcomes[OK] }

// Partial reports whether some of the requests have no known outcome
// (they were in flight when the run stopped).
func (c *Counts) Partial() bool { return c.Outcomes[Unknown] > 0 }

// Availability is OK / Offered, or 1 when nothing was offered.
func (c *Counts) Availability() float64 {
	if c.Offered == 0 {
		return 1
	}
	return float64(c.Outcomes[OK]) / float64(c.Offered)
}

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	c.Offered += o.Offered
	for i := range c.Outcomes {
		c.Outcomes[i] += o.Outcomes[i]
	}
}

// SetCount is a set's traffic in one window, kept only when it had failures.
type SetCount struct {
	Set     int   `json:"set"`
	Offered int64 `json:"offered"`
	Failed  int64 `json:"failed"`
}

// Latency summarizes a latency histogram of successful requests, in ns.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ns"`
	P50   int64   `json:"p50_ns"`
	P90   int64   `json:"p90_ns"`
	P95   int64   `json:"p95_ns"`
	P99   int64   `json:"p99_ns"`
	P999  int64   `json:"p999_ns"`
	Max   int64   `json:"max_ns"`
}

// Quantile returns the summary value for a percentile key (p50, p90, p95, p99, p99.9).
func (l *Latency) Quantile(key string) (int64, bool) {
	switch key {
	case "p50":
		return l.P50, true
	case "p90":
		return l.P90, true
	case "p95":
		return l.P95, true
	case "p99":
		return l.P99, true
	case "p99.9":
		return l.P999, true
	}
	return 0, false
}

// Window is one metrics window; requests count in the window of their
// intended send time.
type Window struct {
	Start      int64                 `json:"start_ns"`
	Counts     Counts                `json:"counts"`
	ByPriority [NumPriorities]Counts `json:"by_priority"`
	// ByCity is the window's counts by the users' city, every outcome
	// included: they add up to Counts.
	ByCity []Counts `json:"by_city"`
	// ByCommand is the window's counts by command (with workload.commands).
	ByCommand  []Counts   `json:"by_command,omitempty"`
	SetsFailed []SetCount `json:"sets_failed,omitempty"`
	// Attempts counts every attempt including retries; CrossRegion counts
	// requests served outside their user's city.
	Attempts    int64 `json:"attempts"`
	CrossRegion int64 `json:"cross_region"`
	// CrossSet counts requests with a hop outside their user's home set.
	CrossSet int64 `json:"cross_set"`
	// Writes counts successful requests that wrote: the data layer
	// acknowledged a write they made (not the workload mix's share).
	Writes int64 `json:"writes_acked"`
	// Latency summarizes Hist: the V2 compressed HdrHistogram (base64) of
	// the latency of successful requests, in microseconds.
	Latency Latency `json:"latency"`
	Hist    string  `json:"hist,omitempty"`
}

// Totals aggregate the measured part of the run (after warm-up).
type Totals struct {
	Counts     Counts                 `json:"counts"`
	ByPriority [NumPriorities]Counts  `json:"by_priority"`
	ByCity     []Counts               `json:"by_city"`
	BySet      []Counts               `json:"by_set"`
	Attempts   int64                  `json:"attempts"`
	Writes     int64                  `json:"writes_acked"`
	Cross      int64                  `json:"cross_region"`
	CrossSet   int64                  `json:"cross_set"`
	Latency    Latency                `json:"latency"`
	LatencyBy  [NumPriorities]Latency `json:"latency_by_priority"`
	// ByCommand and LatencyByCommand are per command (with workload.commands).
	ByCommand        []Counts  `json:"by_command,omitempty"`
	LatencyByCommand []Latency `json:"latency_by_command,omitempty"`
	Hist             string    `json:"hist,omitempty"`
	// OtherLostWrites are acknowledged writes lost by failovers no fault
	// is blamed for; OtherLostSpanNS is their longest span.
	OtherLostWrites int64 `json:"other_lost_writes,omitempty"`
	OtherLostSpanNS int64 `json:"other_lost_span_ns,omitempty"`
}

// HistUnitNS is the unit of recorded latency values (microseconds).
const HistUnitNS = 1000

// NewHist makes a dense latency histogram: 1 us to 1 hour at 2 significant
// digits (1% relative error), values in microseconds.
func NewHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 3_600_000_000, 2) }

// DecodeHist reads a histogram written into a result.
func DecodeHist(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHist(), nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, errors.Wrapf(ErrBadResult, "latency histogram: %v", err)
	}
	return h, nil
}

// EncodeHist writes a histogram for a result (V2 compressed, base64), or
// "" when it is empty.
func EncodeHist(h *hdrhistogram.Histogram) string {
	if h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		panic(fmt.Sprintf("reports: encode a latency histogram: %v", err)) // only an unknown encoding fails
	}
	return string(b)
}

// Summarize turns a histogram (microseconds) into a Latency in ns.
func Summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	q := h.ValueAtPercentilesSlice([]float64{50, 90, 95, 99, 99.9})
	return Latency{
		Count: h.TotalCount(), Mean: h.Mean() * HistUnitNS,
		P50: q[0] * HistUnitNS, P90: q[1] * HistUnitNS, P95: q[2] * HistUnitNS, P99: q[3] * HistUnitNS, P999: q[4] * HistUnitNS,
		Max: h.Max() * HistUnitNS,
	}
}

// Reached is how far the run got: its duration, or where it was stopped.
func (r *Result) Reached() int64 {
	switch {
	case !r.Incomplete:
		return r.DurationNS
	case r.StoppedNS > 0:
		return r.StoppedNS
	}
	return min(int64(len(r.Windows))*r.WindowNS, r.DurationNS)
}

// WriteJSON writes r to path, indented for diffs.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return errors.Wrap(err, "encode result")
	}
	return errors.Wrap(os.WriteFile(path, append(b, '\n'), 0o644), "write result")
}

// ReadResult loads a result.json, rejecting other versions and malformed files
// with an error that matches ErrBadResult.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, errors.Wrapf(ErrBadResult, "%s: not JSON: %v", path, err)
	}
	if head.Version == nil {
		return nil, errors.Wrapf(ErrBadResult, "%s: no version field; not a stripelab result", path)
	}
	if *head.Version != ResultVersion {
		return nil, errors.Wrapf(ErrBadResult, "%s: result version %d; this build reads version %d (re-run the scenario)", path, *head.Version, ResultVersion)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errors.Wrapf(ErrBadResult, "%s: %v", path, err)
	}
	if err := r.check(); err != nil {
		return nil, errors.Wrapf(ErrBadResult, "%s: %v", path, err)
	}
	return &r, nil
}

func (r *Result) check() error {
	if r.WindowNS <= 0 || r.DurationNS <= 0 {
		return fmt.Errorf("window_ns and duration_ns must be positive")
	}
	for i, w := range r.Windows {
		if len(w.ByCity) != len(r.Cities) {
			return fmt.Errorf("window %d has %d cities, the result %d", i, len(w.ByCity), len(r.Cities))
		}
		if len(w.ByCommand) != 0 && len(w.ByCommand) != len(r.Commands) {
			return fmt.Errorf("window %d has %d commands, the result %d", i, len(w.ByCommand), len(r.Commands))
		}
		for _, s := range w.SetsFailed {
			if s.Set < 0 || s.Set >= len(r.Sets) {
				return fmt.Errorf("window %d names set %d of %d", i, s.Set, len(r.Sets))
			}
		}
	}
	for i, f := range r.Faults {
		if f.End < f.Start {
			return fmt.Errorf("fault %d ends before it starts", i)
		}
	}
	return nil
}
