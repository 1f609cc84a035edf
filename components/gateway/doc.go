// Package gateway is the business gateway of one set as a real server: it
// checks the request's HMAC signature (stack.gateway.auth), takes a token
// from its class's bucket (rate_limit, this instance's share of the set's
// rate), admits the request to one of its `concurrency` slots or to the
// admission queue (capacity, timeout, shedding.policy), spends its routing
// and authentication cost holding the slot, and forwards the request with
// the deadline it has left to an instance of its upstream service found
// through discovery: its own set first, then another set of its city, then
// any the discovery scope shows. The slot is held for the whole upstream
// call, as the simulator's model holds it.
//
// With workload.commands the upstream is the request's command's service
// (X-Sl-Command) instead of gateway.upstream, and the class the buckets and
// shedding act on is the command's priority. A request naming no command
// or another one, at a priority other than its command's, or writing for a
// read command (reading for a write one) gets 400 with the problem;
// without workload.commands a request naming a command gets 400.
package gateway
