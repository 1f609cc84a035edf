package faults

import "errors"

// latency adds delay (and optional jitter) to every message on the links
// between target and peer.
var latency = Spec{
	Kind: Latency, Name: "latency",
	Summary:  "every message between target and to (or, with no to, everything else and the access hop of the users of a city in the target) takes delay plus up to jitter longer",
	Targets:  append([]ScopeKind{ScopeService}, physical...),
	Params:   append([]Param{ParamDelay, ParamJitter}, linkParams...),
	Required: []Param{ParamDelay},
	Check: func(p Params) error {
		if p.Delay <= 0 {
			return errors.New("delay: expected a positive duration")
		}
		return checkDirection(p)
	},
}
