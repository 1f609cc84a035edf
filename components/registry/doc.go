// Package registry is the registry role: a copy of one of the plan's
// discovery registries (Plan.Registries[r].Instances), serving the sets
// Plan.Registries[r].Sets. Instances of those sets register and renew a
// lease every discovery.heartbeat; a lease expires one discovery.ttl after
// its last renewal (event "expired"); callers list the live instances their
// discovery.scope sees. Every copy answers on its own: clients register
// with each copy and list from any copy that answers.
//
// API (JSON; every error answers {"error": "..."}, a malformed request 400):
//
//	POST /v1/register   {"instance":I}  take or renew I's lease -> {"instance","ttl_ms","heartbeat_ms","new"}
//	POST /v1/heartbeat  {"instance":I}  renew; 404 when I holds no lease (register again)
//	POST /v1/deregister {"instance":I}  drop I's lease (a graceful stop)
//	GET  /v1/list?caller=I[&service=K]  -> {"registry","copy","sets","instances":[{"instance","service","set","expires_in_ms"}]}
//
// A copy lists only once warm: one heartbeat and a half after its start,
// as soon as every instance it serves holds a lease, or as soon as it has
// taken the leases of a sibling copy; until then list
// answers 503, so a copy that restarted empty never tells caches that
// every instance is gone.
package registry
