package runner

import (
	"sync"

	"github.com/stripelab/stripelab/reports"
)

// Rec is the Recorder behind a mutex: the load generator's goroutines,
// the event poller and the fault timeline all write to it.
type Rec struct {
	mu sync.Mutex
	r  *reports.Recorder
}

// NewRec wraps a Recorder.
func NewRec(r *reports.Recorder) *Rec { return &Rec{r: r} }

// Record counts one finished request.
func (s *Rec) Record(q *reports.Request) {
	s.mu.Lock()
	s.r.Record(q)
	s.mu.Unlock()
}

// Flush packs the windows no request can reach any more.
func (s *Rec) Flush(now int64) {
	s.mu.Lock()
	s.r.Flush(now)
	s.mu.Unlock()
}

// Event adds an entry to the timeline.
func (s *Rec) Event(t int64, kind string, fault int, format string, args ...any) {
	s.mu.Lock()
	s.r.Event(t, kind, fault, format, args...)
	s.mu.Unlock()
}

// Detected notes the first detection of fault f.
func (s *Rec) Detected(f int, t int64, detail string) {
	s.mu.Lock()
	s.r.Detected(f, t, detail)
	s.mu.Unlock()
}

// Rerouted notes the first re-route away from fault f.
func (s *Rec) Rerouted(f int, t int64, detail string) {
	s.mu.Lock()
	s.r.Rerouted(f, t, detail)
	s.mu.Unlock()
}

// FailoverDone notes a finished failover of fault f.
func (s *Rec) FailoverDone(f int, t int64, detail string) {
	s.mu.Lock()
	s.r.FailoverDone(f, t, detail)
	s.mu.Unlock()
}

// WritesLost records lost acknowledged writes.
func (s *Rec) WritesLost(f int, t, n, span int64, detail string) {
	s.mu.Lock()
	s.r.WritesLost(f, t, n, span, detail)
	s.mu.Unlock()
}

// SetEngine stores a backend counter.
func (s *Rec) SetEngine(name string, v int64) {
	s.mu.Lock()
	s.r.SetEngine(name, v)
	s.mu.Unlock()
}

// Finish returns the Result.
func (s *Rec) Finish(end int64, incomplete bool) *reports.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Finish(end, incomplete)
}

// SetScaling stores the scaling record.
func (s *Rec) SetScaling(sc *reports.Scaling) {
	s.mu.Lock()
	s.r.SetScaling(sc)
	s.mu.Unlock()
}
