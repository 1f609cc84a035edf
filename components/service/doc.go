// Package service is a logic service instance as a real server: its
// `concurrency` threads and bounded queue, a service time drawn from
// service_time (seeded per instance) spent as a sleep holding a thread,
// then its `calls` one after another, each to the less loaded of two
// instances of the called service (own set first, as discovery.scope
// allows) or to the data layer, with the call's timeout or the time the
// request has left, whichever ends first. A failed call fails the
// request, as in the simulator's model (sim/instance.go).
package service
