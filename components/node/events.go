package node

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Event kinds the runner turns into fault milestones.
const (
	EvUp          = "up"           // the instance serves
	EvRegistered  = "registered"   // a registry took a registration (Subject: instance)
	EvExpired     = "expired"      // a registry expired an instance one TTL after its last heartbeat
	EvRefreshed   = "refreshed"    // a discovery cache refreshed (Detail: what changed)
	EvMemberDown  = "member_down"  // mesh: a member was declared dead
	EvMemberUp    = "member_up"    // mesh: a member joined or came back
	EvRoute       = "route"        // a gateway or access layer moved traffic (Detail: from->to set)
	EvPrimaryLost = "primary_lost" // a shard copy detected its primary dead
	EvPromoted    = "promoted"     // a copy became primary (Epoch)
	EvFenced      = "fenced"       // an old primary refused a write or stepped down
	EvCaughtUp    = "caught_up"    // a rejoined copy caught up
	EvWriteAcked  = "write_acked"  // a primary acknowledged a write (counted, not one per write)
	EvDrained     = "drained"      // the instance was told to drain (POST /admin/drain)
	EvCopyStarted = "copy_started" // a shard's primary started handing off keys of a set change
	EvCopied      = "copied"       // a shard handed off every key it had to, confirmed by the new shards
)

// Event is one observation of a component.
type Event struct {
	Seq      int64  `json:"seq"`
	Time     int64  `json:"time"` // Unix ns, wall clock of this host
	Instance int    `json:"instance"`
	Kind     string `json:"kind"`
	Subject  int    `json:"subject"` // the instance, shard or set the event is about; -1 when none
	Epoch    uint64 `json:"epoch,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Events is a bounded log of events served at /admin/events?after=SEQ.
type Events struct {
	mu    sync.Mutex
	inst  int
	clock Clock
	next  int64
	buf   []Event
}

const maxEvents = 1 << 14

// NewEvents returns an event log for instance inst.
func NewEvents(inst int, clock Clock) *Events {
	if clock == nil {
		clock = RealClock{}
	}
	return &Events{inst: inst, clock: clock, next: 1}
}

// Emit records an event.
func (e *Events) Emit(kind string, subject int, epoch uint64, detail string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := Event{Seq: e.next, Time: e.clock.Now().UnixNano(), Instance: e.inst, Kind: kind, Subject: subject, Epoch: epoch, Detail: detail}
	e.next++
	if len(e.buf) == maxEvents {
		copy(e.buf, e.buf[1:])
		e.buf = e.buf[:maxEvents-1]
	}
	e.buf = append(e.buf, ev)
}

// After returns the events with Seq > after.
func (e *Events) After(after int64) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.buf {
		if ev.Seq > after {
			out = append(out, ev)
		}
	}
	return out
}

func (e *Events) serve(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(e.After(after))
}

// Clock is the time source of timer-driven logic; tests pass nil (the real
// clock) and run inside testing/synctest, whose bubble fakes time.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
	NewTicker(d time.Duration) *time.Ticker
}

// RealClock is the time package.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (RealClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }
