package faults

// machineDown crashes machines: every instance on them stops answering
// (packets are black-holed, so callers wait for their timeouts) until the
// fault ends and the machines come back.
var machineDown = Spec{
	Kind: MachineDown, Name: "machine-down",
	Summary: "every instance on the target machines stops answering (callers time out) until the fault ends",
	Targets: []ScopeKind{ScopeMachine},
}
