// Package shard is the "shard" role of the real stack: one copy of one
// data shard on an embedded storage engine (cockroachdb/pebble) on disk,
// with primary-backup replication over HTTP.
//
// The primary appends every write to a log (sequence number, epoch, a hash
// chained over the log) and ships the log to the other copies: a sync write
// is acknowledged once data.acks copies applied it (counted as the
// simulator counts: one other copy, half the copies, or all of them, among
// the copies the failure detector still believes up), an async write at
// once, shipped data.lag later. The primary's log messages double as
// heartbeats; a copy that hears none for data.detection declares the
// primary lost, waits data.promotion, asks the other copies how far they
// got, and the most caught-up live copy (the earliest in the shard's
// replica list on a tie) becomes primary under epoch+1, persisted. Every
// replication message carries the epoch, so a returning old primary is
// answered "fenced", steps down, learns the new primary and catches up;
// when its log diverged (writes it took that nobody received) it is wiped
// and copied again, which is how an async primary's unshipped writes are
// lost for real.
//
// Every write is stored under its request id as well as the latest value
// of its key, so POST /v1/check reads back acknowledged writes the way a
// Jepsen set does.
package shard
