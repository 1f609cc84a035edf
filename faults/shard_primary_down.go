package faults

// shardPrimaryDown crashes the primary of the shards whose primary is in the
// target (or the shard named): failover detects it and promotes a replica;
// with async replication the writes not yet copied are lost.
var shardPrimaryDown = Spec{
	Kind: ShardPrimaryDown, Name: "shard-primary-down",
	Summary: "the primary of the target shard (or of every shard whose primary is in the target) crashes; a replica is promoted after detection and promotion",
	Targets: append([]ScopeKind{ScopeShard}, physical...),
}
