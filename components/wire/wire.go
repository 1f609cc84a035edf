// Package wire is the request format every hop of the real stack speaks:
// HTTP/1.1 with keep-alive, POST /v1/call, the request's fields in X-Sl-*
// headers and a small body for a write's value. Every hop decodes the
// request, honours the remaining deadline, and passes the request on with
// the deadline it has left. The answer carries its outcome in a header, so a
// client tells a definite error (shed, rate-limited, unavailable, rejected,
// error: the hop says it did not do the work) from an indefinite one (a
// timeout or a reset connection: nobody knows whether it did).
package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Path is the one request path of every role.
const Path = "/v1/call"

// Request headers.
const (
	HID       = "X-Sl-Id"       // request id, unique per attempt: "<run-local id>.<attempt>"
	HUser     = "X-Sl-User"     // user number (global over cities), >= 0
	HCity     = "X-Sl-City"     // the user's city index
	HPriority = "X-Sl-Priority" // high | normal | low
	HKey      = "X-Sl-Key"      // the data key, decimal uint64
	HOp       = "X-Sl-Op"       // read | write
	HDeadline = "X-Sl-Deadline" // remaining time in microseconds, > 0
	HSig      = "X-Sl-Sig"      // HMAC-SHA256 hex of Signed(), client -> gateway only
	HCommand  = "X-Sl-Command"  // optional: the workload command name
	HHops     = "X-Sl-Hops"     // hops crossed so far, to stop loops (max MaxHops)
	HHome     = "X-Sl-Home"     // optional: the user's home set, so hops can say they left it
	HMoved    = "X-Sl-Moved"    // optional: "1" when a shard redirected the request because the key moved
)

// Answer headers.
const (
	HOutcome = "X-Sl-Outcome" // one of the Outcome names
	HReason  = "X-Sl-Reason"  // a short machine-readable reason (queue_full, no_instance, fenced, ...)
	HWrote   = "X-Sl-Wrote"   // "1" when a shard primary took a write for this request
	HServed  = "X-Sl-Served"  // the set index that served it (the service hop)
	HVersion = "X-Sl-Version" // the version of the value read or written
	HCross   = "X-Sl-Cross"   // "1" when a hop ran outside the request's home set (X-Sl-Home)
	HShard   = "X-Sl-Shard"   // the shard whose primary took the write (with X-Sl-Wrote)
)

// MaxHops bounds how many hops one request may cross.
const MaxHops = 16

// Op is a data operation.
type Op uint8

// Ops.
const (
	Read Op = iota
	Write
)

func (o Op) String() string {
	if o == Write {
		return "write"
	}
	return "read"
}

// Outcome is how a hop says a request ended. OK, Shed, RateLimited,
// Unavailable, Rejected and Error are definite: the hop did not do the work
// (or did it, for OK). Timeout and Reset are indefinite and are never sent
// in a header: a client concludes them from its own timer or the socket.
type Outcome uint8

// Outcomes.
const (
	OK Outcome = iota
	Shed
	RateLimited
	Unavailable
	Rejected // refused for good: bad signature, fenced epoch, not the primary
	Error    // the hop failed doing it (a storage error, a downstream failure)
	Timeout  // indefinite: the deadline passed
	Reset    // indefinite: the connection broke mid-request
	NumOutcomes
)

// OutcomeNames are the names used in headers, metrics and events.
var OutcomeNames = [NumOutcomes]string{"ok", "shed", "rate_limited", "unavailable", "rejected", "error", "timeout", "reset"}

func (o Outcome) String() string {
	if int(o) < len(OutcomeNames) {
		return OutcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Definite reports whether the outcome says for sure whether the work was done.
func (o Outcome) Definite() bool { return o < Timeout }

// ParseOutcome is the inverse of Outcome.String for the definite outcomes.
func ParseOutcome(s string) (Outcome, bool) {
	for i, n := range OutcomeNames[:Timeout] {
		if n == s {
			return Outcome(i), true
		}
	}
	return 0, false
}

// PriorityNames lists the classes, highest first (index = priority).
var PriorityNames = [3]string{"high", "normal", "low"}

// Request is one attempt of one request as it crosses a hop.
type Request struct {
	ID       string
	User     int
	City     int
	Priority int // 0 high, 1 normal, 2 low
	Key      uint64
	Op       Op
	Command  string
	Value    []byte        // a write's value (the body); empty for reads
	Deadline time.Duration // remaining when the hop received it
	Hops     int
	// Home is the user's home set plus one, 0 when the request does not
	// say (X-Sl-Home carries the set itself); hops outside it answer
	// CrossSet (the simulator's cross-set count).
	Home int
	// Moved marks a request a shard redirected because the user's key
	// moved to another shard: the shard it reaches waits for the key's
	// copy instead of redirecting again.
	Moved bool
}

// Crosses reports whether a hop in set runs outside r's home set.
func (r *Request) Crosses(set int) bool { return r.Home > 0 && set >= 0 && set != r.Home-1 }

// Reply is a hop's answer.
type Reply struct {
	Outcome Outcome
	Reason  string
	Wrote   bool
	Served  int // set index, -1 when unknown
	Version uint64
	Value   []byte
	// CrossSet is set when this hop or one below it ran outside the
	// request's home set.
	CrossSet bool
	// Shard is the shard whose primary took the write, plus one (0 for
	// none or unknown): a key that moved between shards during the run is
	// read back from the shard that took each write.
	Shard int
}

// Signed is the canonical text the gateway's signature covers.
func (r *Request) Signed() string {
	return fmt.Sprintf("%s\n%d\n%d\n%s\n%d\n%s\n%x", r.ID, r.User, r.City, PriorityNames[r.Priority], r.Key, r.Op, sha256.Sum256(r.Value))
}

// Sign returns the HMAC-SHA256 signature of r under secret, as hex.
func Sign(secret []byte, r *Request) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(r.Signed()))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is r's signature under secret (constant time).
func Verify(secret []byte, r *Request, sig string) bool {
	want := Sign(secret, r)
	return hmac.Equal([]byte(want), []byte(sig))
}

// Encode writes r's headers on h (the body is r.Value, written by the caller).
func (r *Request) Encode(h http.Header) {
	h.Set(HID, r.ID)
	h.Set(HUser, strconv.Itoa(r.User))
	h.Set(HCity, strconv.Itoa(r.City))
	h.Set(HPriority, PriorityNames[r.Priority])
	h.Set(HKey, strconv.FormatUint(r.Key, 10))
	h.Set(HOp, r.Op.String())
	us := r.Deadline.Microseconds()
	if us < 1 {
		us = 1
	}
	h.Set(HDeadline, strconv.FormatInt(us, 10))
	h.Set(HHops, strconv.Itoa(r.Hops))
	if r.Command != "" {
		h.Set(HCommand, r.Command)
	}
	if r.Home > 0 {
		h.Set(HHome, strconv.Itoa(r.Home-1))
	}
	if r.Moved {
		h.Set(HMoved, "1")
	}
}

// Decode reads a request from headers and body. Every problem names the
// header and what was expected; the caller answers 400 with it.
func Decode(h http.Header, body []byte) (Request, error) {
	var r Request
	r.ID = h.Get(HID)
	if r.ID == "" || len(r.ID) > 128 {
		return r, fmt.Errorf("%s: want a request id of 1 to 128 characters, got %q", HID, trunc(r.ID))
	}
	var err error
	if r.User, err = atoiRange(h, HUser, 0, 1<<40); err != nil {
		return r, err
	}
	if r.City, err = atoiRange(h, HCity, 0, 1<<20); err != nil {
		return r, err
	}
	switch p := h.Get(HPriority); p {
	case "high":
		r.Priority = 0
	case "normal":
		r.Priority = 1
	case "low":
		r.Priority = 2
	default:
		return r, fmt.Errorf("%s: want high, normal or low, got %q", HPriority, trunc(p))
	}
	k := h.Get(HKey)
	if r.Key, err = strconv.ParseUint(k, 10, 64); err != nil {
		return r, fmt.Errorf("%s: want a decimal key, got %q", HKey, trunc(k))
	}
	switch o := h.Get(HOp); o {
	case "read":
		r.Op = Read
	case "write":
		r.Op = Write
	default:
		return r, fmt.Errorf("%s: want read or write, got %q", HOp, trunc(o))
	}
	d := h.Get(HDeadline)
	us, err := strconv.ParseInt(d, 10, 64)
	if err != nil || us <= 0 || us > int64(time.Hour/time.Microsecond) {
		return r, fmt.Errorf("%s: want the remaining deadline in microseconds, 1 to 3600000000, got %q", HDeadline, trunc(d))
	}
	r.Deadline = time.Duration(us) * time.Microsecond
	if hv := h.Get(HHops); hv != "" {
		if r.Hops, err = atoiRange(h, HHops, 0, MaxHops); err != nil {
			return r, err
		}
	}
	if hv := h.Get(HHome); hv != "" {
		if r.Home, err = atoiRange(h, HHome, 0, 1<<20); err != nil {
			return r, err
		}
		r.Home++
	}
	switch v := h.Get(HMoved); v {
	case "":
	case "1":
		r.Moved = true
	default:
		return r, fmt.Errorf("%s: want 1 or nothing, got %q", HMoved, trunc(v))
	}
	r.Command = h.Get(HCommand)
	if len(r.Command) > 64 {
		return r, fmt.Errorf("%s: want at most 64 characters", HCommand)
	}
	if r.Op == Read && len(body) > 0 {
		return r, fmt.Errorf("body: a read carries no value, got %d bytes", len(body))
	}
	if len(body) > MaxValue {
		return r, fmt.Errorf("body: a value is at most %d bytes, got %d", MaxValue, len(body))
	}
	r.Value = body
	return r, nil
}

// MaxValue bounds a write's value.
const MaxValue = 64 << 10

func atoiRange(h http.Header, name string, lo, hi int) (int, error) {
	s := h.Get(name)
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s: want an integer from %d to %d, got %q", name, lo, hi, trunc(s))
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// WriteReply writes a reply: status 200 for OK, 503 for shed, rate-limited
// and unavailable, 409 for rejected, 500 for error; the outcome in HOutcome.
func WriteReply(w http.ResponseWriter, rp Reply) {
	h := w.Header()
	h.Set(HOutcome, rp.Outcome.String())
	if rp.Reason != "" {
		h.Set(HReason, rp.Reason)
	}
	if rp.Wrote {
		h.Set(HWrote, "1")
	}
	if rp.Served >= 0 {
		h.Set(HServed, strconv.Itoa(rp.Served))
	}
	if rp.Version > 0 {
		h.Set(HVersion, strconv.FormatUint(rp.Version, 10))
	}
	if rp.CrossSet {
		h.Set(HCross, "1")
	}
	if rp.Shard > 0 {
		h.Set(HShard, strconv.Itoa(rp.Shard-1))
	}
	status := http.StatusOK
	switch rp.Outcome {
	case OK:
	case Shed, RateLimited, Unavailable:
		status = http.StatusServiceUnavailable
	case Rejected:
		status = http.StatusConflict
	default:
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	if len(rp.Value) > 0 {
		w.Write(rp.Value)
	}
}

// ReadReply reads a reply's headers (the body, if any, is the value).
func ReadReply(h http.Header, body []byte) (Reply, error) {
	rp := Reply{Served: -1, Value: body}
	o, ok := ParseOutcome(h.Get(HOutcome))
	if !ok {
		return rp, fmt.Errorf("%s: want one of %s, got %q", HOutcome, strings.Join(OutcomeNames[:Timeout], ", "), trunc(h.Get(HOutcome)))
	}
	rp.Outcome = o
	rp.Reason = h.Get(HReason)
	rp.Wrote = h.Get(HWrote) == "1"
	rp.CrossSet = h.Get(HCross) == "1"
	if s := h.Get(HServed); s != "" {
		if v, err := strconv.Atoi(s); err == nil {
			rp.Served = v
		}
	}
	if s := h.Get(HVersion); s != "" {
		rp.Version, _ = strconv.ParseUint(s, 10, 64)
	}
	if s := h.Get(HShard); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v >= 0 {
			rp.Shard = v + 1
		}
	}
	return rp, nil
}
