// Package network is the real stack's network: an in-process Toxiproxy
// server with one proxy (a Link) per pair of machine and instance that the
// Plan lets talk, and per pair of city and gateway for the users. Every link
// carries its base one-way delay on both streams (the topology latency with
// the scenario's jitter); faults add toxics to the links crossing their cut
// and remove them at their end, and Verify checks that a link is back to its
// base toxics.
//
// Streams: a link is dialled by the caller (machine or users) and forwards
// to the instance, so its upstream stream carries requests (caller ->
// instance) and its downstream stream carries replies (instance -> caller).
// A one-way fault from target to peer puts its toxic on the stream whose
// messages travel from the target to the peer.
package network
