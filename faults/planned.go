package faults

// Planned is a fault resolved against a topology: its window in
// nanoseconds from the start of the run and the concrete machines, cities,
// sets, services and shards it hits. Indexes refer to the Plan's lists.
type Planned struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	Kind   Kind   `json:"-"`
	Start  int64  `json:"start_ns"`
	End    int64  `json:"end_ns"`
	Target Scope  `json:"-"`
	// Machines are the machines inside the target (for service=, those
	// hosting the service; for shard=, the primary's machine).
	Machines []int `json:"machines,omitempty"`
	// Cities are the cities wholly inside the target: their users' own
	// network endpoints belong to it. A link fault with PeerAll also
	// covers the access hop between those users and the target's
	// machines (a lossy or cut-off city is so for its own users).
	Cities []int `json:"cities,omitempty"`
	// Sets are the sets with at least one machine inside the target.
	Sets     []int `json:"sets,omitempty"`
	Services []int `json:"services,omitempty"`
	Shards   []int `json:"shards,omitempty"`
	// Peer is the other side of a link fault; PeerAll means every
	// endpoint outside the target.
	PeerAll      bool   `json:"peer_all,omitempty"`
	PeerMachines []int  `json:"peer_machines,omitempty"`
	PeerCities   []int  `json:"peer_cities,omitempty"`
	Params       Params `json:"params"`
}

// Active reports whether the fault is in effect at t (ns).
func (p *Planned) Active(t int64) bool { return t >= p.Start && t < p.End }

// OneWay reports whether a link fault cuts only target -> peer.
func (p *Planned) OneWay() bool { return p.Params.Direction == "one-way" }
