package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"sort"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/stripelab/stripelab/scenarios"
)

// Server is the in-process Toxiproxy server holding every link of a run.
type Server struct {
	ctx    context.Context
	srv    *toxiproxy.ApiServer
	seed   uint64
	mu     sync.Mutex
	links  map[string]*Link
	order  []string
	stop   func() bool
	closed bool
}

// ErrClosed is an Add to a server that was closed (or whose context ended).
var ErrClosed = errors.New("network: server closed")

// NewServer starts an empty network. seed derives each link's stream of
// jitter and loss draws. Every link is stopped when ctx ends or Close is
// called.
func NewServer(ctx context.Context, seed uint64) *Server {
	register()
	s := &Server{
		ctx:   context.WithoutCancel(ctx),
		srv:   toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()),
		seed:  seed,
		links: map[string]*Link{},
	}
	s.stop = context.AfterFunc(ctx, s.closeLinks)
	return s
}

// Spec is one link to create.
type Spec struct {
	// Name is unique in the server; LinkName gives the conventional one.
	Name string
	// Listen is the proxy's address (host:port), Upstream the instance's.
	Listen, Upstream string
	// From is the calling machine, or -1 for the users of City.
	From int
	// City is the users' city of a user link (and the From machine's city otherwise).
	City int
	// To is the instance the link reaches.
	To int
	// Delay is the base one-way delay on each stream; Jitter the share of
	// it added at most (uniform in [0, Jitter x Delay]).
	Delay  time.Duration
	Jitter float64
}

// User reports whether the link carries the users of a city.
func (sp *Spec) User() bool { return sp.From < 0 }

// LinkName is the conventional name of a link: "m<from>-i<to>" or "c<city>-i<to>".
func LinkName(from, city, to int) string {
	if from < 0 {
		return fmt.Sprintf("c%d-i%d", city, to)
	}
	return fmt.Sprintf("m%d-i%d", from, to)
}

// Add creates and starts a link with its base toxics.
func (s *Server) Add(sp Spec) (*Link, error) {
	if sp.Name == "" {
		sp.Name = LinkName(sp.From, sp.City, sp.To)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if _, ok := s.links[sp.Name]; ok {
		return nil, fmt.Errorf("network: link %s exists", sp.Name)
	}
	l := &Link{Spec: sp, s: s, p: toxiproxy.NewProxy(s.srv, sp.Name, sp.Listen, sp.Upstream), faults: map[string]bool{},
		conns: map[*net.TCPConn]struct{}{}, held: map[net.Conn]struct{}{}}
	l.seed = scenarios.Mix64(s.seed ^ scenarios.Mix64(uint64(len(s.order))+1))
	for _, st := range []Stream{Upstream, Downstream} {
		if err := l.addToxic(baseName(st), st, toxicDelay, delayToxic{DelayNS: int64(sp.Delay), JitterNS: int64(float64(sp.Delay) * sp.Jitter), Seed: l.seed + uint64(st)}); err != nil {
			return nil, err
		}
	}
	if err := l.listen(); err != nil {
		return nil, err
	}
	l.Listen = l.ln.Addr().String() // the bound address (a port 0 was chosen)
	s.links[sp.Name] = l
	s.order = append(s.order, sp.Name)
	return l, nil
}

// Link returns the link named name, or nil.
func (s *Server) Link(name string) *Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links[name]
}

// Links returns every link in the order they were added.
func (s *Server) Links() []*Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Link, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.links[n])
	}
	return out
}

// VerifyAll checks every link (see Link.Verify) and joins the failures.
func (s *Server) VerifyAll() error {
	var errs []error
	for _, l := range s.Links() {
		if err := l.Verify(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops every link and closes its connections.
func (s *Server) Close() {
	s.stop()
	s.closeLinks()
}

func (s *Server) closeLinks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.order {
		s.links[n].close()
	}
	s.links, s.order, s.closed = map[string]*Link{}, nil, true
}

// Stream is the direction a toxic acts on.
type Stream uint8

// Streams. Both puts a toxic on each.
const (
	Upstream   Stream = iota // caller -> instance: requests
	Downstream               // instance -> caller: replies
	Both
)

func (st Stream) String() string { return [...]string{"upstream", "downstream", "both"}[st] }

func (st Stream) list() []Stream {
	if st == Both {
		return []Stream{Upstream, Downstream}
	}
	return []Stream{st}
}

func baseName(st Stream) string { return "base_" + st.String() }

func faultName(id string, st Stream) string { return id + "_" + st.String() }

// Link is one proxy: a caller (machine or users of a city) to one
// instance. It accepts connections itself and pipes each through the
// toxics of a Toxiproxy proxy (its toxic chain), so that it can also play
// a dead host (Dead), which Toxiproxy's own accept loop cannot.
type Link struct {
	Spec
	s       *Server
	p       *toxiproxy.Proxy // its Toxics only: the proxy's own listener is not used
	seed    uint64
	mu      sync.Mutex
	ln      net.Listener
	served  chan struct{}  // closed when the accept loop ends
	dialing sync.WaitGroup // callers accepted whose instance is being dialled
	down    bool
	dead    bool
	release uint64 // the hold toxics' release while dead
	conns   map[*net.TCPConn]struct{}
	pruned  int
	held    map[net.Conn]struct{}
	faults  map[string]bool // fault toxic names on the link
}

type toxicJSON struct {
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Stream     string  `json:"stream"`
	Toxicity   float32 `json:"toxicity"`
	Attributes any     `json:"attributes"`
}

func (l *Link) addToxic(name string, st Stream, typ string, attrs any) error {
	b, err := json.Marshal(toxicJSON{Name: name, Type: typ, Stream: st.String(), Toxicity: 1, Attributes: attrs})
	if err != nil {
		return err
	}
	if _, err := l.p.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("network: link %s: toxic %s: %w", l.Name, name, err)
	}
	return nil
}

// addFault adds one toxic per stream of st under the fault id.
func (l *Link) addFault(id string, st Stream, typ string, attrs func(Stream) any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range st.list() {
		n := faultName(id, s)
		if l.faults[n] {
			return fmt.Errorf("network: link %s already carries %s", l.Name, n)
		}
		if err := l.addToxic(n, s, typ, attrs(s)); err != nil {
			return err
		}
		l.faults[n] = true
	}
	return nil
}

// Partition cuts the stream(s): drop blackholes them (Toxiproxy's timeout
// toxic with timeout 0: data vanishes, the caller waits for its own
// timeout, and the connection is closed when the cut is removed); reject
// closes the connection at its next data (reset_peer with timeout 0: the
// caller gets an error at once, "connection reset by peer" on connections
// opened while the toxic is on, an EOF on older ones).
func (l *Link) Partition(id string, st Stream, reject bool) error {
	if reject {
		return l.addFault(id, st, "reset_peer", func(Stream) any { return map[string]int64{"timeout": 0} })
	}
	return l.addFault(id, st, "timeout", func(Stream) any { return map[string]int64{"timeout": 0} })
}

// Latency adds delay plus a uniform draw in [0, jitter] to every chunk on
// the stream(s), on top of the base delay.
func (l *Link) Latency(id string, st Stream, delay, jitter time.Duration) error {
	return l.addFault(id, st, toxicDelay, func(s Stream) any {
		return delayToxic{DelayNS: int64(delay), JitterNS: int64(jitter), Seed: l.faultSeed(id, s)}
	})
}

// Loss loses a share rate of the messages on the stream(s); see lossToxic
// for what a lost message becomes.
func (l *Link) Loss(id string, st Stream, rate float64) error {
	return l.addFault(id, st, toxicLoss, func(s Stream) any {
		return lossToxic{Rate: rate, Seed: l.faultSeed(id, s)}
	})
}

// faultSeed is the seed of fault id's toxic on stream st of the link.
func (l *Link) faultSeed(id string, st Stream) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return scenarios.Mix64(l.seed ^ h.Sum64() ^ uint64(st)<<56)
}

// Remove takes off every toxic added under the fault id.
func (l *Link) Remove(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, s := range []Stream{Upstream, Downstream} {
		n := faultName(id, s)
		if !l.faults[n] {
			continue
		}
		if err := l.p.Toxics.RemoveToxic(l.s.ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("network: link %s: remove %s: %w", l.Name, n, err))
			continue
		}
		delete(l.faults, n)
	}
	return errors.Join(errs...)
}

// Toxics lists the names of the toxics on the link, sorted.
func (l *Link) Toxics() []string {
	var out []string
	for _, t := range l.p.Toxics.GetToxicArray() {
		if w, ok := t.(*toxics.ToxicWrapper); ok {
			out = append(out, w.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Verify checks that the link carries exactly its base toxics with their
// base delay and jitter, and is up: what a fault's revert must leave.
func (l *Link) Verify() error {
	l.mu.Lock()
	down, dead := l.down, l.dead
	l.mu.Unlock()
	switch {
	case down:
		return fmt.Errorf("network: link %s is down", l.Name)
	case dead:
		return fmt.Errorf("network: link %s plays a dead host", l.Name)
	}
	var errs []error
	seen := 0
	for _, t := range l.p.Toxics.GetToxicArray() {
		w, ok := t.(*toxics.ToxicWrapper)
		if !ok {
			continue
		}
		d, isDelay := w.Toxic.(*delayToxic)
		switch {
		case (w.Name == baseName(Upstream) || w.Name == baseName(Downstream)) && isDelay:
			if d.DelayNS != int64(l.Delay) || d.JitterNS != int64(float64(l.Delay)*l.Jitter) {
				errs = append(errs, fmt.Errorf("network: link %s: %s is %v+%v, want %v+%v", l.Name, w.Name,
					time.Duration(d.DelayNS), time.Duration(d.JitterNS), l.Delay, time.Duration(float64(l.Delay)*l.Jitter)))
			}
			seen++
		default:
			errs = append(errs, fmt.Errorf("network: link %s still carries %s (%s)", l.Name, w.Name, w.Type))
		}
	}
	if seen != 2 {
		errs = append(errs, fmt.Errorf("network: link %s has %d base toxics, want 2", l.Name, seen))
	}
	return errors.Join(errs...)
}
