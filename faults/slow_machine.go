package faults

import "errors"

// slowMachine is a gray failure: the machines stay up and keep passing
// health checks but every service time on them is multiplied by factor.
var slowMachine = Spec{
	Kind: SlowMachine, Name: "slow-machine",
	Summary:  "gray failure: service times on the target machines are multiplied by factor; health checks still pass",
	Targets:  []ScopeKind{ScopeMachine, ScopeRack, ScopeAZ},
	Params:   []Param{ParamFactor},
	Required: []Param{ParamFactor},
	Check: func(p Params) error {
		if p.Factor < 1 {
			return errors.New("factor: expected a multiplier of at least 1")
		}
		return nil
	},
}
