package shard

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// Headers a copy adds to its answers, and a client's epoch on a write.
const (
	HPrimary = "X-Sl-Primary" // the instance this copy believes primary
	HEpoch   = "X-Sl-Epoch"   // the epoch this copy is in; on a request, the newest the client saw
)

// Shard is one running copy.
type Shard struct {
	env    *node.Env
	log    *slog.Logger
	clock  node.Clock
	ev     *node.Events
	set    settings
	inst   int
	shard  int
	reps   []int // the shard's copies, instances; [0] the initial primary
	pos    int   // this copy's place in reps
	addrs  map[int]string
	peer   *peerClient
	st     *store
	mv     *moves
	met    *metrics
	slots  chan struct{}
	wait   atomic.Int64
	slow   atomic.Uint64 // float64 bits of the /admin/slow factor
	acked  atomic.Int64  // writes acknowledged since the last write_acked event
	ctx    context.Context
	wg     sync.WaitGroup
	writeM sync.Mutex // serializes log appends

	mu        sync.Mutex
	samp      *sampler
	epoch     uint64
	primary   int // the instance believed primary, -1 unknown
	isPrimary bool
	applied   uint64
	lastEpoch uint64 // the epoch of the last log entry
	hash      uint64
	lastHeard time.Time // last message from the current primary
	lost      bool      // this copy declared the primary lost
	electAt   time.Time
	catching  bool // rejoined or restarted: emit caught_up once level with the primary
	peers     map[int]*peerState
	recent    []pending     // async: when recent entries may ship
	changed   chan struct{} // closed and replaced when acknowledgements may have changed
	stopPrim  context.CancelFunc
}

type pending struct {
	seq uint64
	at  time.Time
}

// Start runs one shard copy: it opens its storage in env.Config.DataDir,
// recovers its epoch and log, registers /v1/call, /v1/check, /v1/role,
// /v1/repl and /admin/slow, and starts replication and failure detection,
// which end with ctx. stop closes the storage.
func Start(ctx context.Context, env *node.Env) (func(), error) {
	s, err := newShard(ctx, env)
	if err != nil {
		return nil, err
	}
	s.routes(env.Server)
	if err := s.boot(); err != nil {
		s.st.Close()
		return nil, err
	}
	s.wg.Add(3)
	go s.monitor()
	go s.reportAcks()
	go s.copier()
	return s.close, nil
}

func newShard(ctx context.Context, env *node.Env) (*Shard, error) {
	cfg, p := env.Config, env.Plan
	in := p.Instances[cfg.Instance]
	if in.Role != scenarios.RoleShard {
		return nil, fmt.Errorf("instance %d is a %s, not a shard", cfg.Instance, in.Role)
	}
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("shard %d: no data_dir in the config", cfg.Instance)
	}
	log := env.Log
	if log == nil {
		log = slog.Default()
	}
	clock := env.Clock
	if clock == nil {
		clock = node.RealClock{}
	}
	set := settingsOf(&p.Scenario.Stack.Data)
	s := &Shard{
		env: env, log: log.With("shard", in.Shard, "instance", cfg.Instance), clock: clock, ev: env.Server.Events, set: set,
		inst: cfg.Instance, shard: in.Shard, reps: p.Shards[in.Shard].Replicas, addrs: cfg.PeerAddrs(), ctx: ctx,
		slots: make(chan struct{}, set.concurrency), samp: newSampler(set.service, cfg.Seed), primary: -1,
		changed: make(chan struct{}), mv: newMoves(p, in.Shard),
	}
	s.pos = slices.Index(s.reps, s.inst)
	s.slow.Store(math.Float64bits(1))
	s.peer = newPeerClient(cfg.Secret, set.rpcTimeout)
	st, err := openStore(cfg.DataDir, s.log)
	if err != nil {
		return nil, err
	}
	s.st = st
	s.met = newMetrics(env.Server.Metrics)
	return s, nil
}

// close runs after the server stopped and ctx ended: wait for the
// background work, then close the storage.
func (s *Shard) close() {
	s.wg.Wait()
	s.peer.close()
	if err := s.st.Close(); err != nil {
		s.log.Error("close storage", "err", err)
	}
}

// boot recovers the copy's state from its disk and takes its role: a
// fresh first copy is primary of epoch 1; a copy that was primary before
// a restart first asks the others whether a newer epoch exists.
func (s *Shard) boot() error {
	m, err := s.st.meta()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.epoch, s.primary, s.applied, s.hash, s.lastEpoch = m.Epoch, m.Primary, m.Applied, m.Hash, m.Last
	s.lastHeard = s.clock.Now()
	s.mu.Unlock()
	s.log.Info("shard copy starting", "epoch", m.Epoch, "applied", m.Applied, "settings", s.set.String())
	switch {
	case m.Epoch == 0 && s.pos == 0:
		return s.promote(1, false)
	case m.Epoch == 0:
		s.mu.Lock()
		s.primary = s.reps[0]
		s.mu.Unlock()
		return nil
	case m.Primary == s.inst:
		return s.rejoinAsOldPrimary()
	}
	s.mu.Lock()
	s.catching = true
	s.mu.Unlock()
	return nil
}

// rejoinAsOldPrimary resumes as primary unless another copy reports a
// newer epoch (a failover happened while this copy was down).
func (s *Shard) rejoinAsOldPrimary() error {
	roles := s.pollRoles()
	s.mu.Lock()
	best, newer := -1, s.epoch
	for _, r := range roles {
		if r.Epoch > newer || (r.Epoch == s.epoch && r.Primary && r.Instance != s.inst) {
			newer, best = r.Epoch, r.Instance
			if !r.Primary {
				best = r.KnownPrimary
			}
		}
	}
	if best < 0 && newer == s.epoch {
		epoch := s.epoch
		s.mu.Unlock()
		return s.promote(epoch, false)
	}
	s.epoch, s.primary, s.catching = max(newer, s.epoch), best, true
	epoch := s.epoch
	s.mu.Unlock()
	s.ev.Emit(node.EvFenced, s.shard, epoch, "restarted into a newer epoch; rejoining as a copy")
	return s.st.setMeta(epoch, best)
}

// slowFactor is the /admin/slow multiplier of service times.
func (s *Shard) slowFactor() float64 { return math.Float64frombits(s.slow.Load()) }

// work takes one of the copy's concurrency slots (a full queue sheds) and
// spends one service time holding it; the caller releases the slot when it
// answers, so a sync write holds it through its acknowledgements as in the
// simulator. ok is false when the request's context ended first.
func (s *Shard) work(ctx context.Context) (release func(), o wire.Outcome, ok bool) {
	if s.wait.Add(1) > nodeQueue {
		s.wait.Add(-1)
		return nil, wire.Shed, false
	}
	s.met.queue.Inc()
	select {
	case s.slots <- struct{}{}:
		s.wait.Add(-1)
		s.met.queue.Dec()
	case <-ctx.Done():
		s.wait.Add(-1)
		s.met.queue.Dec()
		return nil, wire.Timeout, false
	}
	s.met.inflight.Inc()
	release = func() {
		s.met.inflight.Dec()
		<-s.slots
	}
	s.mu.Lock()
	d := time.Duration(float64(s.samp.draw()) * s.slowFactor())
	s.mu.Unlock()
	if d <= 0 {
		return release, wire.OK, true
	}
	select {
	case <-s.clock.After(d):
		return release, wire.OK, true
	case <-ctx.Done():
		release()
		return nil, wire.Timeout, false
	}
}

// posOf is an instance's place in the shard's replica list (-1 if none).
func (s *Shard) posOf(inst int) int { return slices.Index(s.reps, inst) }

// notifyLocked wakes everyone waiting on acknowledgements or new entries.
func (s *Shard) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// reportAcks emits the acknowledged-write count once a second.
func (s *Shard) reportAcks() {
	defer s.wg.Done()
	t := s.clock.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.flushAcks()
			return
		case <-t.C:
			s.flushAcks()
		}
	}
}

func (s *Shard) flushAcks() {
	if n := s.acked.Swap(0); n > 0 {
		s.mu.Lock()
		e := s.epoch
		s.mu.Unlock()
		s.ev.Emit(node.EvWriteAcked, s.shard, e, fmt.Sprint(n))
	}
}
