package faults

// cityDown takes a whole city (region) off; its users stay and are re-homed
// by the access layer.
var cityDown = Spec{
	Kind: CityDown, Name: "city-down",
	Summary: "every machine of the target city is down; its users are re-homed to another city",
	Targets: []ScopeKind{ScopeCity},
}
