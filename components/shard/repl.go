package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// Repl is a replication message from a primary: entries to append after
// Prev (whose hash is PrevHash), or, with Reset, the primary's log from its
// first entry for a copy whose log diverged. With no entries it is a
// heartbeat. Every message carries the primary's epoch.
type Repl struct {
	Epoch    uint64  `json:"epoch"`
	From     int     `json:"from"`
	Prev     uint64  `json:"prev"`
	PrevHash uint64  `json:"prev_hash"`
	Reset    bool    `json:"reset,omitempty"`
	Head     uint64  `json:"head"` // the primary's last sequence number
	Entries  []Entry `json:"entries,omitempty"`
}

// ReplReply is a copy's answer: how far its log goes, or, with Fenced, that
// the sender's epoch is behind (Epoch and Primary tell the newer one).
type ReplReply struct {
	OK      bool   `json:"ok"`
	Fenced  bool   `json:"fenced,omitempty"`
	Epoch   uint64 `json:"epoch"`
	Primary int    `json:"primary"`
	Applied uint64 `json:"applied"`
	Hash    uint64 `json:"hash"`
}

// ParseRepl reads and checks a /v1/repl body: entries numbered one after
// the other from Prev+1 (from 1 on a reset), each with a valid id.
func ParseRepl(body []byte) (Repl, error) {
	var m Repl
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("body: want a replication message: %v", err)
	}
	if m.Epoch == 0 {
		return m, fmt.Errorf("epoch: want 1 or more")
	}
	if len(m.Entries) > maxBatch {
		return m, fmt.Errorf("entries: at most %d per message, got %d", maxBatch, len(m.Entries))
	}
	if m.Reset && (m.Prev != 0 || m.PrevHash != 0) {
		return m, fmt.Errorf("reset: a reset starts from the first entry (prev 0)")
	}
	for i, e := range m.Entries {
		if e.Seq != m.Prev+uint64(i)+1 {
			return m, fmt.Errorf("entries[%d]: want seq %d, got %d", i, m.Prev+uint64(i)+1, e.Seq)
		}
		if e.ID == "" || len(e.ID) > 128 || len(e.Value) > wire.MaxValue || e.Epoch == 0 || e.Epoch > m.Epoch {
			return m, fmt.Errorf("entries[%d]: want an id of 1 to 128 characters, a value of at most %d bytes and an epoch from 1 to %d", i, wire.MaxValue, m.Epoch)
		}
	}
	if n := uint64(len(m.Entries)); m.Head < m.Prev+n {
		return m, fmt.Errorf("head: %d is before the last entry %d", m.Head, m.Prev+n)
	}
	return m, nil
}

// write appends a write on the primary and acknowledges it at once
// (async) or once enough copies applied it (sync).
func (s *Shard) write(ctx context.Context, req *wire.Request, clientEpoch uint64, h http.Header) wire.Reply {
	s.writeM.Lock()
	if to, moved := s.fencedLocked(req.City, req.User); moved {
		s.writeM.Unlock() // the key left while the request waited for its slot
		s.mv.redirected.Add(1)
		h.Set(HMovedTo, strconv.Itoa(to))
		return wire.Reply{Outcome: wire.Rejected, Reason: "moved", Served: -1}
	}
	s.mu.Lock()
	if clientEpoch > s.epoch {
		s.mu.Unlock()
		s.writeM.Unlock()
		s.stepDown(clientEpoch, -1, "a client saw a newer epoch")
		return wire.Reply{Outcome: wire.Rejected, Reason: "fenced", Served: -1}
	}
	if !s.isPrimary {
		rp := s.notPrimaryLocked()
		s.mu.Unlock()
		s.writeM.Unlock()
		return rp
	}
	epoch := s.epoch
	s.mu.Unlock()
	seq, dup, err := s.st.seqOf(req.ID)
	fenced := false
	if err == nil && !dup {
		var ok bool
		epoch, seq, ok, err = s.appendEntries([]Entry{{Key: req.Key, ID: req.ID, Value: req.Value}})
		fenced = !ok // stepped down while committing
	}
	if err != nil {
		s.writeM.Unlock()
		return wire.Reply{Outcome: wire.Error, Reason: "storage", Served: -1}
	}
	s.writeM.Unlock()
	if fenced {
		return wire.Reply{Outcome: wire.Rejected, Reason: "fenced", Served: -1}
	}
	if s.set.sync {
		if rp, ok := s.awaitAcks(ctx, seq, epoch); !ok {
			return rp
		}
	}
	s.acked.Add(1)
	return wire.Reply{Outcome: wire.OK, Wrote: true, Version: seq, Served: -1, Shard: s.shard + 1}
}

func (s *Shard) notPrimaryLocked() wire.Reply {
	if s.lost || s.primary < 0 {
		return wire.Reply{Outcome: wire.Unavailable, Reason: "no_primary", Served: -1}
	}
	return wire.Reply{Outcome: wire.Rejected, Reason: "not_primary", Served: -1}
}

// awaitAcks waits until enough copies applied seq, counted among the
// copies the primary still believes up: a silent copy holds sync writes
// until it has been silent for data.detection, as in the simulator.
func (s *Shard) awaitAcks(ctx context.Context, seq, epoch uint64) (wire.Reply, bool) {
	for {
		s.mu.Lock()
		if s.epoch != epoch || !s.isPrimary {
			s.mu.Unlock()
			return wire.Reply{Outcome: wire.Rejected, Reason: "fenced", Served: -1}, false
		}
		have, need, next := s.acksLocked(seq)
		ch := s.changed
		s.mu.Unlock()
		if have >= need {
			return wire.Reply{}, true
		}
		var timer <-chan time.Time
		if next > 0 {
			timer = s.clock.After(next)
		}
		select {
		case <-ch:
		case <-timer:
		case <-ctx.Done():
			return wire.Reply{Outcome: wire.Timeout, Served: -1}, false
		case <-s.ctx.Done():
			return wire.Reply{Outcome: wire.Timeout, Served: -1}, false
		}
	}
}

// acksLocked counts the copies that applied seq and the copies needed; next
// is when the failure detector drops the next silent copy (0: none).
func (s *Shard) acksLocked(seq uint64) (have, need int, next time.Duration) {
	now := s.clock.Now()
	believed := 0
	for _, p := range s.peers {
		silent := now.Sub(p.lastOK)
		if silent > s.set.detection {
			continue
		}
		believed++
		if p.known && p.applied >= seq {
			have++
		} else if d := s.set.detection - silent + time.Millisecond; next == 0 || d < next {
			next = d
		}
	}
	return have, min(s.set.acks, believed), next
}

// peerState is what the primary knows of one other copy.
type peerState struct {
	inst    int
	known   bool // applied and hash are the copy's last answer
	applied uint64
	hash    uint64
	lastOK  time.Time
}

// startShipping starts one shipper per other copy; they end when this copy
// steps down or ctx ends.
func (s *Shard) startShippingLocked() {
	ctx, cancel := context.WithCancel(s.ctx)
	s.stopPrim = cancel
	s.peers = map[int]*peerState{}
	now := s.clock.Now()
	for _, in := range s.reps {
		if in == s.inst {
			continue
		}
		p := &peerState{inst: in, lastOK: now}
		s.peers[in] = p
		s.wg.Add(1)
		go s.ship(ctx, p)
	}
}

// ship sends one copy the entries it lacks (async: once data.lag has
// passed since each was written) and a heartbeat when there is nothing to
// send.
func (s *Shard) ship(ctx context.Context, p *peerState) {
	defer s.wg.Done()
	addr, ok := s.addrs[p.inst]
	if !ok {
		s.log.Warn("no address for a copy; not replicating to it", "copy", p.inst)
		return
	}
	var lastSent time.Time
	for ctx.Err() == nil {
		m, wait, err := s.nextMessage(p, lastSent)
		if err != nil {
			s.log.Error("read log", "err", err)
			return
		}
		if m == nil {
			s.pause(ctx, wait)
			continue
		}
		lastSent = s.clock.Now()
		resp, err := s.peer.repl(ctx, addr, m)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.mu.Lock()
			p.known = false
			s.mu.Unlock()
			s.pause(ctx, s.set.heartbeat)
			continue
		}
		if s.onReplReply(p, m, resp) {
			return
		}
	}
}

// pause waits d or until the log changes.
func (s *Shard) pause(ctx context.Context, d time.Duration) {
	s.mu.Lock()
	ch := s.changed
	s.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-ch:
	case <-s.clock.After(d):
	}
}

// nextMessage builds the next message for copy p, or says how long to wait.
func (s *Shard) nextMessage(p *peerState, lastSent time.Time) (*Repl, time.Duration, error) {
	s.mu.Lock()
	m := &Repl{Epoch: s.epoch, From: s.inst, Head: s.applied}
	known, applied, hash := p.known, p.applied, p.hash
	upto, readyIn := s.shippableLocked()
	s.mu.Unlock()
	now := s.clock.Now()
	hbDue := s.set.heartbeat - now.Sub(lastSent)
	if !known {
		if hbDue > 0 && !lastSent.IsZero() {
			return nil, hbDue, nil
		}
		return m, 0, nil // a heartbeat first: learn where the copy is
	}
	match, err := s.matches(applied, hash)
	if err != nil {
		return nil, 0, err
	}
	if !match {
		m.Reset = true
		es, err := s.st.entries(1, upto, maxBatch)
		m.Entries = es
		return m, 0, err
	}
	if applied < upto {
		m.Prev, m.PrevHash = applied, hash
		es, err := s.st.entries(applied+1, upto, maxBatch)
		m.Entries = es
		return m, 0, err
	}
	if hbDue <= 0 {
		return m, 0, nil
	}
	if readyIn > 0 && readyIn < hbDue {
		hbDue = readyIn
	}
	return nil, hbDue, nil
}

// matches reports whether a copy's log end (seq, hash) is a point of this
// primary's log.
func (s *Shard) matches(seq, hash uint64) (bool, error) {
	s.mu.Lock()
	mine, myHash := s.applied, s.hash
	s.mu.Unlock()
	switch {
	case seq == 0:
		return hash == 0, nil
	case seq > mine:
		return false, nil
	case seq == mine:
		return hash == myHash, nil
	}
	e, ok, err := s.st.entry(seq)
	return ok && e.Hash == hash, err
}

// shippableLocked is the last entry that may ship now and, when a newer
// entry waits for data.lag, how long until it may.
func (s *Shard) shippableLocked() (uint64, time.Duration) {
	if s.set.sync || s.set.lag <= 0 {
		return s.applied, 0
	}
	now := s.clock.Now()
	for len(s.recent) > 0 && !now.Before(s.recent[0].at.Add(s.set.lag)) {
		s.recent = s.recent[1:]
	}
	if len(s.recent) == 0 {
		return s.applied, 0
	}
	return s.recent[0].seq - 1, s.recent[0].at.Add(s.set.lag).Sub(now)
}

// onReplReply records a copy's answer; true means this copy stepped down.
func (s *Shard) onReplReply(p *peerState, m *Repl, r ReplReply) bool {
	s.mu.Lock()
	if r.Fenced && r.Epoch >= s.epoch {
		s.mu.Unlock()
		s.stepDown(r.Epoch, r.Primary, "copy "+strconv.Itoa(p.inst)+" answered fenced")
		return true
	}
	p.known, p.applied, p.hash, p.lastOK = true, r.Applied, r.Hash, s.clock.Now()
	behind := float64(0)
	if s.applied > r.Applied {
		behind = float64(s.applied - r.Applied)
	}
	s.met.behind.WithLabelValues(strconv.Itoa(p.inst)).Set(behind)
	s.notifyLocked()
	s.mu.Unlock()
	return false
}

// receive applies a replication message on a copy.
func (s *Shard) receive(m *Repl) (ReplReply, error) {
	if r, done := s.admit(m); done {
		return r, nil
	}
	s.writeM.Lock()
	defer s.writeM.Unlock()
	s.mu.Lock()
	applied, hash := s.applied, s.hash
	s.mu.Unlock()
	if len(m.Entries) > 0 || m.Reset {
		if !m.Reset && (m.Prev != applied || m.PrevHash != hash) {
			return s.replyLocked(false), nil // the primary resends from where this log ends
		}
		if err := s.st.apply(m.Entries, m.Reset); err != nil {
			return ReplReply{}, err
		}
		s.mu.Lock()
		if m.Reset {
			s.applied, s.hash, s.lastEpoch, s.catching = 0, 0, 0, true
		}
		if n := len(m.Entries); n > 0 {
			last := &m.Entries[n-1]
			s.applied, s.hash, s.lastEpoch = last.Seq, last.Hash, last.Epoch
		}
		s.met.applied.Set(float64(s.applied))
		s.notifyLocked() // a request waiting for an imported key may go on
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.catching && s.applied >= m.Head && s.epoch == m.Epoch {
		s.catching = false
		s.ev.Emit(node.EvCaughtUp, s.shard, s.epoch, fmt.Sprintf("at %d from primary %d", s.applied, m.From))
	}
	return s.replyLocked(true), nil
}

func (s *Shard) replyLocked(ok bool) ReplReply {
	return ReplReply{OK: ok, Epoch: s.epoch, Primary: s.primary, Applied: s.applied, Hash: s.hash}
}

// admit checks a message's epoch: an older one is answered fenced; a newer
// one (or a first message from a new primary) is adopted, and a primary
// receiving it steps down. Two primaries of one epoch: the earlier in the
// replica list wins.
func (s *Shard) admit(m *Repl) (ReplReply, bool) {
	s.mu.Lock()
	switch {
	case m.Epoch < s.epoch,
		m.Epoch == s.epoch && s.isPrimary && m.From != s.inst && s.posOf(m.From) > s.pos:
		r := s.replyLocked(false)
		r.Fenced = true
		if s.isPrimary {
			r.Primary = s.inst
		}
		s.mu.Unlock()
		return r, true
	}
	newer := m.Epoch > s.epoch || s.primary != m.From || s.isPrimary
	wasPrimary := s.isPrimary
	s.lastHeard, s.lost = s.clock.Now(), false
	s.mu.Unlock()
	if !newer {
		return ReplReply{}, false
	}
	if wasPrimary {
		s.stepDown(m.Epoch, m.From, fmt.Sprintf("primary %d has epoch %d", m.From, m.Epoch))
		return ReplReply{}, false
	}
	s.mu.Lock()
	s.epoch, s.primary = m.Epoch, m.From
	s.met.epoch.Set(float64(m.Epoch))
	s.mu.Unlock()
	if err := s.st.setMeta(m.Epoch, m.From); err != nil {
		s.log.Error("persist epoch", "err", err)
	}
	return ReplReply{}, false
}
