package faults

// registryDown stops the registry (every copy of it): the central one, or
// the per-set registries with a copy in the target. Heartbeats and cache
// refreshes fail, so callers keep using what they cached. It has no effect
// on a mesh.
var registryDown = Spec{
	Kind: RegistryDown, Name: "registry-down",
	Summary: "the registry stops: callers' caches freeze, so dead instances keep receiving traffic and new ones are not seen (no effect in mesh mode)",
	Targets: append([]ScopeKind{ScopeAll}, physical...),
}
