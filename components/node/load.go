package node

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Meter integrates a count of busy threads over time: the thread time in
// use that an autoscaler's utilization is made of (busy threads over
// concurrency, averaged over a period). Set it whenever the count
// changes; it is safe for concurrent use.
type Meter struct {
	mu    sync.Mutex
	clock Clock
	n     int
	since time.Time
	acc   int64 // thread x ns up to since
}

// NewMeter returns a meter at 0 busy threads.
func NewMeter(clock Clock) *Meter {
	if clock == nil {
		clock = RealClock{}
	}
	return &Meter{clock: clock, since: clock.Now()}
}

// Set records that n threads are busy from now on.
func (m *Meter) Set(n int) {
	m.mu.Lock()
	now := m.clock.Now()
	m.acc += int64(m.n) * int64(now.Sub(m.since))
	m.n, m.since = n, now
	m.mu.Unlock()
}

// Busy is the thread time in use up to now, in thread x ns.
func (m *Meter) Busy() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acc + int64(m.n)*int64(m.clock.Now().Sub(m.since))
}

// LoadReport is what GET /admin/load answers: the instance's threads, the thread
// time they were busy since the process started, what it holds now, and
// when it started (a restarted process counts from 0 again).
type LoadReport struct {
	Threads  int   `json:"threads"`
	BusyNS   int64 `json:"busy_thread_ns"`
	InFlight int   `json:"in_flight"`
	Queued   int   `json:"queued"`
	Started  int64 `json:"started_unix_ns"`
	Draining bool  `json:"draining"`
}

// ServeLoad registers GET /admin/load, answered from load (its Started
// and Draining are filled in here).
func (s *Server) ServeLoad(load func() LoadReport) {
	s.Admin("GET /admin/load", func(w http.ResponseWriter, r *http.Request) {
		l := load()
		l.Started, l.Draining = s.started.UnixNano(), s.draining.Load()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(l)
	})
}

// OnDrain adds what POST /admin/drain does besides failing /healthz
// (leave discovery). Call it from a StartFunc.
func (s *Server) OnDrain(f func()) {
	s.drainMu.Lock()
	s.onDrain = append(s.onDrain, f)
	s.drainMu.Unlock()
}

// Draining reports whether the instance was told to drain.
func (s *Server) Draining() bool { return s.draining.Load() }

// serveDrain is POST /admin/drain: the instance drains, as a scale-down
// asks: /healthz answers 503 from now on (the access layer stops sending
// a gateway users), the OnDrain hooks take it out of discovery, and it
// keeps serving the calls that still reach it until it is stopped. A
// second drain does nothing more.
func (s *Server) serveDrain(w http.ResponseWriter, r *http.Request) {
	if s.draining.CompareAndSwap(false, true) {
		s.drainMu.Lock()
		hooks := append([]func(){}, s.onDrain...)
		s.drainMu.Unlock()
		for _, f := range hooks {
			f()
		}
		s.Events.Emit(EvDrained, s.Events.inst, 0, "")
	}
	w.Write([]byte("draining\n"))
}
