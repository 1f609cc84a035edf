// Package load is the real stack's offered load and regional access layer:
// one open-loop generator per city. Arrivals follow workload.rate x the
// city's share x the profile x any overload factor, by the simulator's time
// change (Poisson or uniform gaps in expected arrivals, mapped to time
// through the integral of the rate: internal/draw, shared with the
// simulator, as are the Zipf sampler and the draw of a request). Each
// arrival is sent at its intended time by its own timer, whatever earlier
// requests are doing, and its latency runs from that intended time, so a
// slow system is never hidden by a generator that waited for it (no
// coordinated omission); how late the generator actually sent (its lag) is
// measured apart, so a saturated generator is never mistaken for a slow
// system.
//
// A request picks a user of the city (uniform or Zipf), its command
// (workload.commands, by share: it sets the name sent in X-Sl-Command, the
// priority and the write share) or else a priority, and read or write, is
// signed with the run's secret, and goes to a gateway of the
// user's home set as the access layer sees it: health checks of every
// gateway through the users' own links, a change acted on rehome_delay
// after it is seen, then a healthy set of the city, else of the nearest
// city, and back home per access.failback. The client's timeout, retries
// with backoff and jitter, retry budget and retry_on are the simulator's
// (sim/client.go); a command's own timeout and retries replace
// workload.client's for its requests, and each request is recorded under
// its command's index.
package load
