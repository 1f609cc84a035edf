package reports

// Scaling is what a backend recorded of a run's scale actions and
// autoscalers: the instances of every scaled component over time, each
// autoscaler decision, each instance started and what the instances cost.
type Scaling struct {
	// Components are the scaled components: the gateway first, then
	// services in file order.
	Components []ScaledComponent `json:"components"`
	// Decisions are every autoscaler decision, in time order.
	Decisions []ScaleDecision `json:"decisions,omitempty"`
	// Starts are the instances scale-ups started, in decision order.
	Starts []ScaleStart `json:"starts,omitempty"`
}

// ScaledComponent is one component's instances summed over every set.
type ScaledComponent struct {
	Name string `json:"name"`
	// Initial is the instances at the start, over every set.
	Initial int `json:"initial"`
	// Ready and Provisioned are sampled at the end of each window: ready
	// instances (up, not draining) and every instance that costs
	// (starting, ready or draining).
	Ready       []int32 `json:"ready"`
	Provisioned []int32 `json:"provisioned"`
	// InstanceNS is the provisioned instance time over the run (instance x
	// ns, from the decision to start an instance until it stops); StaticNS
	// is what Initial instances cost over the same run.
	InstanceNS int64 `json:"instance_ns"`
	StaticNS   int64 `json:"static_ns"`
	// Peak is the most instances provisioned at once.
	Peak int32 `json:"peak"`
}

// InstanceHours is the provisioned instance time in hours.
func (c *ScaledComponent) InstanceHours() float64 { return float64(c.InstanceNS) / 3.6e12 }

// StaticHours is what the component's initial instances cost in hours.
func (c *ScaledComponent) StaticHours() float64 { return float64(c.StaticNS) / 3.6e12 }

// ScaleDecision is one autoscaler decision in one set.
type ScaleDecision struct {
	T         int64  `json:"t_ns"`
	Component string `json:"component"`
	Set       int    `json:"set"`
	// Ready is the ready instances measured; Utilization their busy
	// threads over concurrency averaged over the period.
	Ready       int     `json:"ready"`
	Utilization float64 `json:"utilization"`
	// Current is the count before, Recommended the formula's (after
	// tolerance), Desired the count after stabilization and limits.
	Current     int `json:"current"`
	Recommended int `json:"recommended"`
	Desired     int `json:"desired"`
}

// ScaleStart is one instance a scale-up started. Times are ns from the
// start of the run; -1 means it did not happen.
type ScaleStart struct {
	Component string `json:"component"`
	Set       int    `json:"set"`
	// Cause is the scale action ("action N") or the autoscaler.
	Cause   string `json:"cause"`
	Decided int64  `json:"decided_ns"`
	// Ready is when it finished starting; Seen when a caller's discovery
	// view (or, for a gateway, the access layer) first showed it.
	Ready int64 `json:"ready_ns"`
	Seen  int64 `json:"seen_ns"`
}

// SetScaling stores the scaling record of a run (deterministic values only).
func (r *Recorder) SetScaling(s *Scaling) { r.res.Scaling = s }

// Timeline event kinds of scaling.
const (
	EvScale   = "scale"
	EvReady   = "ready"
	EvDrain   = "drain"
	EvStopped = "stopped"
)
