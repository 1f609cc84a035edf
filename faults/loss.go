package faults

import "errors"

// loss drops a share of the messages on the links between target and peer;
// the caller of a lost message waits for its timeout.
var loss = Spec{
	Kind: Loss, Name: "loss",
	Summary:  "a share (rate) of the messages between target and to (or, with no to, everything else and the access hop of the users of a city in the target) is lost",
	Targets:  append([]ScopeKind{ScopeService}, physical...),
	Params:   append([]Param{ParamRate}, linkParams...),
	Required: []Param{ParamRate},
	Check: func(p Params) error {
		if p.Rate <= 0 || p.Rate > 1 {
			return errors.New("rate: expected a percentage above 0% and at most 100%")
		}
		return checkDirection(p)
	},
}
