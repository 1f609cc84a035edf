package faults

// azDown takes a whole AZ (data center) off.
var azDown = Spec{
	Kind: AZDown, Name: "az-down",
	Summary: "every machine of the target AZ is down",
	Targets: []ScopeKind{ScopeAZ},
}
