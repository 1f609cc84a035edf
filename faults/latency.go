package faults

import "errors"

// latency adds delay (and optional jitter) to every message on the links
// between target and peer.
var latency = Spec{
	Kind: Latency, Name: "latency",
	Summary: "every message between target and to (or, with no to, everything else and the access hop of the users of a city in the target) takes delay plus up to jitter longer",
	Targets: append([]ScopeKind{ScopeService}, physical...),
	Params:  append([]Param{ParamDelay, ParamJitter}, linkParams...),
	// Either is enough: jitter alone is a link that is fast on average
	// and erratic, as a congested one is.
	Check: func(p Params) error {
		if p.Delay <= 0 && p.Jitter <= 0 {
			return errors.New("expected a delay, a jitter or both, each a positive duration")
		}
		return checkDirection(p)
	},
}
