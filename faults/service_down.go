package faults

// serviceDown crashes every instance of one service (process crash:
// connections refused); discovery removes them after its detection delay.
var serviceDown = Spec{
	Kind: ServiceDown, Name: "service-down",
	Summary: "every instance of the target service crashes (connections refused) until discovery removes them",
	Targets: []ScopeKind{ScopeService},
}
