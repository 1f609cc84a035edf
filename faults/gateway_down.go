package faults

// gatewayDown crashes the gateway instances in the target: connections are
// refused, so requests fail at once until the access layer moves users away.
var gatewayDown = Spec{
	Kind: GatewayDown, Name: "gateway-down",
	Summary: "the gateway instances in the target crash (connections refused) until the access layer re-homes their users",
	Targets: physical,
}
