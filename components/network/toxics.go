package network

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"

	"github.com/stripelab/stripelab/components/network/hrtimer"
)

// Toxic type names registered with Toxiproxy by register. The built-in
// latency toxic counts whole milliseconds and draws its jitter from the
// global source; topology delays are tens of microseconds and the jitter
// is a share of the delay (uniform in [0, jitter x delay], as in the
// simulator), so stripelab brings its own.
const (
	toxicDelay = "sl_delay"
	toxicLoss  = "sl_loss"
	toxicHold  = "sl_hold"
)

var registerOnce sync.Once

// register adds stripelab's toxics to Toxiproxy's table, once per process.
func register() {
	registerOnce.Do(func() {
		toxics.Register(toxicDelay, new(delayToxic))
		toxics.Register(toxicLoss, new(lossToxic))
		toxics.Register(toxicHold, new(holdToxic))
	})
}

// connSeq numbers the connection states so each connection of a link gets
// its own stream of draws from the link's seed.
var connSeq atomic.Uint64

// delayToxic holds every chunk DelayNS plus a uniform draw in [0, JitterNS]
// after it was read (or released by the toxic before it in the chain), so
// chained delays add up and chunks keep their order, as on a TCP stream.
type delayToxic struct {
	DelayNS  int64  `json:"delay_ns"`
	JitterNS int64  `json:"jitter_ns"`
	Seed     uint64 `json:"seed"`
}

func (t *delayToxic) GetBufferSize() int { return 1024 }

// NewState is one connection's generator.
func (t *delayToxic) NewState() any { return rand.New(rand.NewPCG(t.Seed, connSeq.Add(1))) }

func (t *delayToxic) delay(r *rand.Rand) time.Duration {
	d := t.DelayNS
	if t.JitterNS > 0 && r != nil {
		d += r.Int64N(t.JitterNS + 1)
	}
	return time.Duration(d)
}

// Pipe forwards chunks after their delay, woken by hrtimer: the runtime's
// timers would add up to a millisecond to a 100us delay in an idle process. An interrupt (a toxic added or
// removed on the link) waits out the chunk in hand first, so a change of
// faults does not release a chunk early.
func (t *delayToxic) Pipe(stub *toxics.ToxicStub) {
	r, _ := stub.State.(*rand.Rand)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			wait := t.delay(r) - time.Since(c.Timestamp)
			interrupted := false
			if wait > 0 {
				done := hrtimer.After(wait)
				select {
				case <-done:
				case <-stub.Interrupt:
					interrupted = true
					<-done
				}
				c.Timestamp = c.Timestamp.Add(wait)
			}
			stub.Output <- c
			if interrupted {
				return
			}
		}
	}
}

// lossToxic loses messages: each chunk (on a keep-alive HTTP connection, a
// request or a reply) is lost with probability Rate, and a connection that
// lost one stays silent from then on. Over real TCP a lost segment is not
// lost to the application: TCP retransmits it after its retransmission
// timeout (at least 200 ms on Linux), and only a path that keeps losing
// breaks the connection. stripelab's loss fault is message loss as the
// simulator models it: the message never arrives, its caller waits for its
// own timeout and drops the connection, and the next message goes on a new
// one. A silent connection is closed when the fault ends.
type lossToxic struct {
	Rate float64 `json:"rate"`
	Seed uint64  `json:"seed"`
}

type lossState struct {
	r    *rand.Rand
	lost bool
}

func (t *lossToxic) NewState() any {
	return &lossState{r: rand.New(rand.NewPCG(t.Seed, connSeq.Add(1)))}
}

func (t *lossToxic) Pipe(stub *toxics.ToxicStub) {
	st, _ := stub.State.(*lossState)
	if st == nil {
		st = t.NewState().(*lossState)
		stub.State = st
	}
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if !st.lost && st.r.Float64() < t.Rate {
				st.lost = true
			}
			if !st.lost {
				stub.Output <- c
			}
		}
	}
}

// Cleanup closes a connection that lost data: its stream is broken.
func (t *lossToxic) Cleanup(stub *toxics.ToxicStub) {
	if st, _ := stub.State.(*lossState); st != nil && st.lost {
		stub.Close()
	}
}

// holdToxic is a dead host on one stream: data vanishes, and the end of
// the input (the instance's kernel closing its side when the process was
// killed, or the caller giving up) is not passed on, so the other side
// stays open and silent until the link is released (Alive, or the link's
// end), which closes it. It ends on its release channel rather than by
// Toxiproxy's removal, which cannot interrupt a toxic behind a stub that
// already closed.
type holdToxic struct {
	Release uint64 `json:"release"`
}

var (
	releaseMu sync.Mutex
	releases  = map[uint64]chan struct{}{}
	releaseN  uint64
)

// newRelease makes a release channel and its id for a hold toxic.
func newRelease() (uint64, chan struct{}) {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	releaseN++
	ch := make(chan struct{})
	releases[releaseN] = ch
	return releaseN, ch
}

// release ends every stream held under id.
func release(id uint64) {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	if ch, ok := releases[id]; ok {
		close(ch)
		delete(releases, id)
	}
}

func releaseChan(id uint64) <-chan struct{} {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	if ch, ok := releases[id]; ok {
		return ch
	}
	ch := make(chan struct{})
	close(ch) // released already
	return ch
}

func (t *holdToxic) Pipe(stub *toxics.ToxicStub) {
	rel := releaseChan(t.Release)
	input := stub.Input
	for {
		select {
		case <-stub.Interrupt:
			return
		case <-rel:
			stub.Close()
			// keep reading so the toxic before this one never blocks,
			// until the input ends
			for c := range stub.Input {
				if c == nil {
					return
				}
			}
			return
		case c := <-input:
			if c == nil {
				input = nil // ended: hold the other side open
			}
		}
	}
}

// Cleanup closes the held stream.
func (t *holdToxic) Cleanup(stub *toxics.ToxicStub) { stub.Close() }
