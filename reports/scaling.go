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
	// Sets are the sets added, in order.
	Sets []SetAdded `json:"sets,omitempty"`
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

// scalingRow is one scaled component in the reports' scaling table.
type scalingRow struct {
	Name, Start, Peak, End, Started, ToReady, ToSeen, Hours, Static string
}

// scalingRows summarizes each scaled component: instances at the start,
// at the peak and at the end, the instances started, the time from the
// decision to ready and from ready to seen by callers (the longest), and
// the instance-hours against keeping the start's count.
func scalingRows(res *Result) []scalingRow {
	sc := res.Scaling
	if sc == nil {
		return nil
	}
	var out []scalingRow
	for k := range sc.Components {
		c := &sc.Components[k]
		r := scalingRow{Name: c.Name, Start: itoa(c.Initial), Peak: itoa(int(c.Peak)), End: "-",
			Hours: trimFloat(c.InstanceHours(), 3), Static: trimFloat(c.StaticHours(), 3), ToReady: "-", ToSeen: "-"}
		if n := len(c.Provisioned); n > 0 {
			r.End = itoa(int(c.Provisioned[n-1]))
		}
		started := 0
		var ready, seen int64 = -1, -1
		for _, s := range sc.Starts {
			if s.Component != c.Name {
				continue
			}
			started++
			if s.Ready >= 0 {
				ready = max(ready, s.Ready-s.Decided)
			}
			if s.Seen >= 0 && s.Ready >= 0 {
				seen = max(seen, s.Seen-s.Ready)
			}
		}
		r.Started = itoa(started)
		if ready >= 0 {
			r.ToReady = FormatLatency(ready)
		}
		if seen >= 0 {
			r.ToSeen = FormatLatency(seen)
		}
		out = append(out, r)
	}
	return out
}

// scalingDecisions counts the autoscalers' decisions and those that changed a count.
func scalingDecisions(res *Result) (all, changed int) {
	if res.Scaling == nil {
		return 0, 0
	}
	for _, d := range res.Scaling.Decisions {
		all++
		if d.Desired != d.Current {
			changed++
		}
	}
	return all, changed
}

// SetAdded is one set added during the run (scaling.sets). Times are ns
// from the start of the run; -1 means it did not happen.
type SetAdded struct {
	Set string `json:"set"`
	// Removed marks a set removed: Added is then the decision, Routed
	// when its users moved away, Ready when its instances stopped, and
	// Moved and Keys what left it.
	Removed bool `json:"removed,omitempty"`
	// Added is the decision, Ready when its instances were ready, Routed
	// when the access layer started homing users there.
	Added  int64 `json:"added_ns"`
	Ready  int64 `json:"ready_ns"`
	Routed int64 `json:"routed_ns"`
	// Users is the users of its city, Moved those now homed on it.
	Users int64 `json:"users"`
	Moved int64 `json:"moved"`
	// Keys is the keys copied to its shard (sharded data; 0 otherwise),
	// from CopyStart to CopyEnd; Forwarded the requests whose data was
	// still on the old shard and went there across sets.
	Keys      int64 `json:"keys"`
	CopyStart int64 `json:"copy_start_ns"`
	CopyEnd   int64 `json:"copy_end_ns"`
	Forwarded int64 `json:"forwarded"`
}

// EvSetAdded marks a set added, in service or done copying.
const EvSetAdded = "set-added"

// setAddedRow is one added set in the reports.
type setAddedRow struct {
	Set, Added, Ready, Routed, Moved, Keys, Copy, Forwarded string
}

// setAddedRows shows each added set: when it was added, ready and routed
// to, the users moved (and their share of the city), the keys copied and
// how long the copy took, and the requests forwarded meanwhile.
func setAddedRows(res *Result) []setAddedRow {
	if res.Scaling == nil {
		return nil
	}
	var out []setAddedRow
	opt := func(ns int64) string {
		if ns < 0 {
			return "-"
		}
		return FormatTime(ns)
	}
	for _, s := range res.Scaling.Sets {
		r := setAddedRow{Set: s.Set, Added: opt(s.Added), Ready: opt(s.Ready), Routed: opt(s.Routed), Moved: "-", Keys: "0", Copy: "-",
			Forwarded: groupDigits(s.Forwarded)}
		if s.Removed {
			r.Set += " (removed)"
		}
		if s.Routed >= 0 {
			r.Moved = groupDigits(s.Moved) + " (" + FormatPercent(float64(s.Moved)/float64(max(s.Users, 1))) + ")"
		}
		if s.CopyStart >= 0 {
			r.Keys = groupDigits(s.Keys)
			r.Copy = FormatLatency(s.CopyEnd - s.CopyStart)
		}
		out = append(out, r)
	}
	return out
}
