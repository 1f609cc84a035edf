// Package analysis answers the three questions users bring to stripelab by
// running many simulations of variants of one scenario and reading their
// results side by side:
//
//   - Compare: the same workload and fault suite under each striping
//     granularity (blast radius, availability and latency in faults, RTO,
//     cost, cross-set and cross-region traffic).
//   - FindCapacity: the highest offered rate at which the steady-state
//     objectives hold, with and without the worst single AZ, city or rack
//     lost (N-1), the headroom at the scenario's peak and the instances
//     per set needed to survive N-1 there.
//   - Failover: every AZ (or city) lost in turn, with detection, reroute,
//     RTO, lost writes and blast radius per loss.
//
// Variants are made with scenarios.Derive, so an invalid variant is a
// scenario error, never a panic. The package does not import a backend:
// simulations run through an injected Runner (the CLI passes one that
// calls sim.Run). They run on a pool of workers and their results are
// collected by index, and every search is a fixed sequence of decisions
// on deterministic results, so an analysis gives the same output for the
// same scenario and seed whatever the number of workers.
package analysis
