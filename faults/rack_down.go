package faults

// rackDown takes a whole rack off (a top-of-rack switch or power failure).
var rackDown = Spec{
	Kind: RackDown, Name: "rack-down",
	Summary: "every machine of the target rack is down",
	Targets: []ScopeKind{ScopeRack},
}
