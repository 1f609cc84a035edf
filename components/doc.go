// Package components is the real stack: the gateway, registry, mesh,
// service, data proxy and shard servers (one sub-package per role, each
// started as `stripelab node ROLE`), the request format they share (wire),
// the load generator that plays the users and the regional access layer
// (load), the Toxiproxy network between machines (network), the
// acknowledged-write checker, and the runner that brings a Plan up on a
// host (process: local processes on 127.0.x.y; containers: one container
// per machine), injects its fault timeline for real and writes the same
// Result as the simulator. docs/architecture.md describes the packages.
package components
