// Package runner runs a scenario's Plan on the real stack: it writes one
// config per instance, brings the stack up on a Host (local processes or
// containers) in dependency order, drives the load, injects the fault
// timeline at real times and verifies every revert (the fault ledger),
// turns the components' events into fault milestones, reads back every
// acknowledged write after the run settles, and returns the same Result
// the simulator does.
package runner
