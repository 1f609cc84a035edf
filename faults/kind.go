package faults

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind identifies a fault kind; backends switch on it.
type Kind uint8

// Fault kinds. The order is the order of the table below.
const (
	MachineDown Kind = iota
	RackDown
	AZDown
	CityDown
	Partition
	Latency
	Loss
	SlowMachine
	RegistryDown
	ShardPrimaryDown
	GatewayDown
	ServiceDown
	Overload
	numKinds
)

// Param names a fault parameter as written in a scenario.
type Param string

// Parameters a fault may take.
const (
	ParamTo        Param = "to"
	ParamDirection Param = "direction"
	ParamAction    Param = "action"
	ParamDelay     Param = "delay"
	ParamJitter    Param = "jitter"
	ParamRate      Param = "rate"
	ParamFactor    Param = "factor"
)

// Params are the parameter values of one fault; which apply depends on the kind.
type Params struct {
	Direction string        `json:"direction,omitempty"` // both or one-way
	Action    string        `json:"action,omitempty"`    // drop or reject
	Delay     time.Duration `json:"delay,omitempty"`
	Jitter    time.Duration `json:"jitter,omitempty"`
	Rate      float64       `json:"rate,omitempty"`   // loss share, 0..1
	Factor    float64       `json:"factor,omitempty"` // service-time or traffic multiplier
}

// Spec describes one kind: its name, what it does, the targets and
// parameters it accepts, and a check of parameter values.
type Spec struct {
	Kind     Kind
	Name     string
	Summary  string
	Targets  []ScopeKind // allowed target kinds; ScopeAll means the target may be omitted
	Params   []Param     // allowed parameters
	Required []Param     // parameters that must be given
	Check    func(p Params) error
}

// Table lists every fault kind, explicitly, in Kind order.
var Table = [numKinds]*Spec{
	MachineDown:      &machineDown,
	RackDown:         &rackDown,
	AZDown:           &azDown,
	CityDown:         &cityDown,
	Partition:        &partition,
	Latency:          &latency,
	Loss:             &loss,
	SlowMachine:      &slowMachine,
	RegistryDown:     &registryDown,
	ShardPrimaryDown: &shardPrimaryDown,
	GatewayDown:      &gatewayDown,
	ServiceDown:      &serviceDown,
	Overload:         &overload,
}

func (k Kind) String() string { return Table[k].Name }

// Lookup finds a kind by its scenario name.
func Lookup(name string) (*Spec, error) {
	for _, s := range Table {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown fault kind %q; expected one of: %s", name, strings.Join(Names(), ", "))
}

// Names lists every kind name, sorted.
func Names() []string {
	out := make([]string, 0, len(Table))
	for _, s := range Table {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

// AllowsTarget reports whether the kind accepts a target of kind k.
func (s *Spec) AllowsTarget(k ScopeKind) bool {
	for _, t := range s.Targets {
		if t == k {
			return true
		}
	}
	return false
}

// Allows reports whether the kind accepts parameter p.
func (s *Spec) Allows(p Param) bool {
	for _, q := range s.Params {
		if q == p {
			return true
		}
	}
	return false
}

// TargetKinds lists the accepted targets for messages.
func (s *Spec) TargetKinds() string {
	var out []string
	for _, t := range s.Targets {
		if t == ScopeAll {
			out = append(out, "none (everything)")
			continue
		}
		out = append(out, t.String()+"=")
	}
	return strings.Join(out, ", ")
}

// IsLink reports whether the kind acts on network links.
func (k Kind) IsLink() bool { return k == Partition || k == Latency || k == Loss }

var physical = []ScopeKind{ScopeCity, ScopeAZ, ScopeRack, ScopeMachine, ScopeSet}

var linkParams = []Param{ParamTo, ParamDirection}

func checkDirection(p Params) error {
	if p.Direction != "" && p.Direction != "both" && p.Direction != "one-way" {
		return fmt.Errorf("direction: expected both or one-way, got %q", p.Direction)
	}
	return nil
}
