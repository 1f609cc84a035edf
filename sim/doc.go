// Package sim is the deterministic discrete-event simulator of stripelab:
// the default backend. A World models a Plan (clients, regional access,
// gateways, discovery, services, data proxies and shards on machines with
// cores, over a network with delays) in integer virtual time, driven by its
// caller through Step and RunUntil. One seed is split into independent
// streams; the package starts no goroutine, reads no wall clock and uses no
// global random source (lint_test.go enforces it), so a scenario and seed
// give a byte-identical result at any GOMAXPROCS.
//
// Requests are pooled records holding their chain of frames (client,
// gateway, services, proxy, shard node); events are plain values in a
// calendar queue; per-call timeouts cost one timer per call site, not one
// event per call. Nothing per request outlives the request.
package sim
