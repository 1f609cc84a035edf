// Package components is the place of the real stack: gateway, discovery,
// service, data proxy and shard programs, the load generator, and the
// process and container runners that apply the same fault schedule with
// process kills, container stops and network proxies. None of it is built
// yet; the simulator (package sim) is the only backend, and `stripelab run
// --backend` accepts only sim.
package components
