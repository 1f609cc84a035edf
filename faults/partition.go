package faults

import "fmt"

// partition cuts the links between the target and its peer (the scope in
// to, or everything outside the target). With no to, a city in the target
// is cut off for its own users too: the access hop between them and the
// target's machines is one of the links. With action drop, messages vanish
// and callers time out; with reject, callers get an error at once.
var partition = Spec{
	Kind: Partition, Name: "partition",
	Summary: "messages between target and to (or, with no to, everything else and the access hop of the users of a city in the target) are dropped or rejected; one-way cuts only target -> to",
	Targets: physical,
	Params:  []Param{ParamTo, ParamDirection, ParamAction},
	Check: func(p Params) error {
		if p.Action != "" && p.Action != "drop" && p.Action != "reject" {
			return fmt.Errorf("action: expected drop or reject, got %q", p.Action)
		}
		return checkDirection(p)
	},
}
