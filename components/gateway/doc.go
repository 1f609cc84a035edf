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
package gateway
