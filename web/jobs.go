package web

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
)

// jobEvent is one server-sent event of a playground run.
type jobEvent struct {
	Kind string // progress, done, failed
	Data any
}

type progressData struct {
	NowNS    int64   `json:"now_ns"`
	EndNS    int64   `json:"end_ns"`
	Fraction float64 `json:"fraction"`
}

type doneData struct {
	Run    string `json:"run"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

type failedData struct {
	Error string `json:"error"`
}

// job is one playground run. Its events are kept, so that a stream
// opened late (or reopened by the browser) sees every one in order.
type job struct {
	ID     string
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	events  []jobEvent
	final   bool
	changed chan struct{} // closed and replaced on every new event
	percent int           // last progress percent sent
}

func (j *job) add(e jobEvent, final bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.final {
		return
	}
	j.events = append(j.events, e)
	j.final = final
	close(j.changed)
	j.changed = make(chan struct{})
}

// progress records a progress event at each whole percent of the run.
func (j *job) progress(now, end int64) {
	if end <= 0 {
		return
	}
	pct := int(100 * now / end)
	j.mu.Lock()
	skip := pct <= j.percent && len(j.events) > 0
	if !skip {
		j.percent = pct
	}
	j.mu.Unlock()
	if !skip {
		j.add(jobEvent{"progress", progressData{NowNS: now, EndNS: end, Fraction: min(1, float64(now)/float64(end))}}, false)
	}
}

// since returns the events from index from on, whether the last one is
// final, and a channel closed when another arrives.
func (j *job) since(from int) ([]jobEvent, bool, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if from > len(j.events) {
		from = len(j.events)
	}
	return append([]jobEvent(nil), j.events[from:]...), j.final, j.changed
}

// errBusy is returned when MaxJobs runs are already running.
var errBusy = errors.New("busy")

// jobManager holds the playground's runs and limits how many run at once.
type jobManager struct {
	mu      sync.Mutex
	max     int
	running int
	byID    map[string]*job
	order   []string
	wg      sync.WaitGroup
}

// keptJobs is how many finished jobs keep their events for late streams.
const keptJobs = 32

func newJobManager(max int) *jobManager { return &jobManager{max: max, byID: map[string]*job{}} }

// start runs fn in a goroutine as a new job, or returns errBusy; fn's
// result is the job's final event.
func (m *jobManager) start(parent context.Context, fn func(ctx context.Context, j *job) jobEvent) (*job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running >= m.max {
		return nil, errBusy
	}
	ctx, cancel := context.WithCancel(parent)
	j := &job{ID: rand.Text(), cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	m.byID[j.ID] = j
	m.order = append(m.order, j.ID)
	for len(m.order) > keptJobs {
		old := m.byID[m.order[0]]
		if old != nil && !old.isFinal() {
			break
		}
		delete(m.byID, m.order[0])
		m.order = m.order[1:]
	}
	m.running++
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(j.done)
		final := fn(ctx, j)
		cancel()
		m.mu.Lock()
		m.running--
		m.mu.Unlock()
		j.add(final, true) // after the slot is free, so a client told "done" may start another
	}()
	return j, nil
}

func (j *job) isFinal() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.final
}

func (m *jobManager) get(id string) *job {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id]
}

// cancelAll cancels every job and waits until each has written what it
// measured.
func (m *jobManager) cancelAll() {
	m.mu.Lock()
	for _, j := range m.byID {
		j.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}
