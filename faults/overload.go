package faults

import "errors"

// overload multiplies the offered traffic of the users in the target (or of
// everyone) by factor: a flash crowd or a misbehaving client.
var overload = Spec{
	Kind: Overload, Name: "overload",
	Summary:  "the offered traffic of the target city's users (or everyone's) is multiplied by factor",
	Targets:  []ScopeKind{ScopeAll, ScopeCity},
	Params:   []Param{ParamFactor},
	Required: []Param{ParamFactor},
	Check: func(p Params) error {
		if p.Factor <= 0 {
			return errors.New("factor: expected a positive multiplier")
		}
		return nil
	},
}
