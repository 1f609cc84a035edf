package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// Keys move between shards when a set is added or removed under
// data.mode sharded (Plan.KeyMoves). The shard a user's key leaves copies
// it to the shard it goes to, each key at its moment of the copy
// (KeyMove.Due at scaling.copy_rate), as the simulator does; until then
// it serves the key (the request crossed sets: forwarded). The handoff of
// a key is three steps, each in a log, so that any copy promoted later
// knows where the key is:
//
//  1. the old primary appends an out marker (mv/<change>/out/<user>)
//     under the write lock: from then on it answers a request for that
//     key "moved", naming the new shard (X-Sl-Moved-To), and no write to
//     it can follow; the key's value is frozen;
//  2. it sends the value to the new shard's primary (POST /v1/import),
//     which appends an in marker (mv/<change>/in/<user>) holding it: from
//     then on the new shard serves the key;
//  3. a request the old shard redirected (X-Sl-Moved) that reaches the new
//     shard before the in marker waits for it, within its deadline.
//
// POST /admin/copy?change=K starts change K's copy on the primary of an
// old shard (the start is a log entry too); GET /admin/copy?change=K tells
// how far it is. Markers are entries like any write, replicated and
// recovered from disk, and never removed: the old shard keeps the writes
// it took before the move, and the lost-write checker reads each write
// back from the shard that took it (wire.Reply.Shard).

// HMovedTo is the header of a "moved" answer: the shard the key went to.
const HMovedTo = "X-Sl-Moved-To"

// markerKey is the log key of a marker with no user value: above any user.
const markerKey = uint64(1) << 63

// copyTick is how often an old primary hands off the keys whose moment came.
const copyTick = 10 * time.Millisecond

// moves is a shard's part in the scenario's key moves.
type moves struct {
	all  []scenarios.KeyMove
	mine [][]int // per move, the users whose key leaves this shard, in copy order
	rate float64

	mu         sync.Mutex
	start      map[int]time.Time // per move index, when its copy started (read from the log)
	cursor     []int             // per move, the next of mine to hand off
	epoch      uint64            // the epoch the cursors belong to
	unconfirm  [][]int           // per move, users fenced here whose import is not confirmed
	prim       map[int]int       // per shard copied to, the copy last seen taking imports
	wake       chan struct{}
	forwarded  atomic.Int64
	redirected atomic.Int64
	imported   atomic.Int64
}

func newMoves(p *scenarios.Plan, shard int) *moves {
	m := &moves{all: p.KeyMoves(), rate: float64(p.Scenario.Scaling.CopyRate), start: map[int]time.Time{}, wake: make(chan struct{}, 1)}
	for i := range m.all {
		var mine []int
		for _, u := range m.all[i].Users {
			if m.all[i].From(p, u) == shard {
				mine = append(mine, u)
			}
		}
		m.mine = append(m.mine, mine)
	}
	m.cursor = make([]int, len(m.all))
	m.unconfirm = make([][]int, len(m.all))
	return m
}

func startID(change int) string     { return fmt.Sprintf("mv/%d/start", change) }
func outID(change, user int) string { return fmt.Sprintf("mv/%d/out/%d", change, user) }
func inID(change, user int) string  { return fmt.Sprintf("mv/%d/in/%d", change, user) }

// has reports whether this copy's log holds the entry with id.
func (s *Shard) has(id string) bool {
	_, ok, err := s.st.seqOf(id)
	return err == nil && ok
}

// placement is where a copy believes a user's key is.
type placement struct {
	loc     int                // the shard holding it, as far as this copy knows
	pending *scenarios.KeyMove // this shard is the key's next place, the import not here yet
	moving  bool               // the key is on its way from here: its copy started, it is not fenced yet
	known   bool               // this shard held the key at some point
}

// place follows the user's key through the moves this copy can see.
func (s *Shard) place(city, user int) placement {
	p := s.env.Plan
	pl := placement{loc: p.ShardOf(city, user)}
	pl.known = pl.loc == s.shard
	for i := range s.mv.all {
		m := &s.mv.all[i]
		if m.City != city {
			continue
		}
		from, to := m.From(p, user), m.To(p, user)
		if from == to {
			continue
		}
		switch s.shard {
		case from:
			pl.known = true
			if !s.has(outID(m.Change, user)) {
				pl.moving = s.started(i)
				return pl
			}
		case to:
			if !s.has(inID(m.Change, user)) {
				pl.pending = m
				return pl
			}
			pl.known = true
		default:
			return pl // not this shard's move: where it went is not known here
		}
		pl.loc = to
	}
	return pl
}

// started reports whether move i's copy started (its start entry is in the log).
func (s *Shard) started(i int) bool {
	_, ok := s.copyStart(i)
	return ok
}

// copyStart is when move i's copy started, from its start entry.
func (s *Shard) copyStart(i int) (time.Time, bool) {
	s.mv.mu.Lock()
	t, ok := s.mv.start[i]
	s.mv.mu.Unlock()
	if ok {
		return t, true
	}
	seq, ok, err := s.st.seqOf(startID(s.mv.all[i].Change))
	if err != nil || !ok {
		return time.Time{}, false
	}
	e, ok, err := s.st.entry(seq)
	if err != nil || !ok {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(string(e.Value), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	t = time.Unix(0, ns)
	s.mv.mu.Lock()
	s.mv.start[i] = t
	s.mv.mu.Unlock()
	return t, true
}

// routeMoved decides a request for a key that is not (or no longer) here:
// nil to serve it here, else the answer. A redirected request reaching
// the key's next shard before its import waits for it.
func (s *Shard) routeMoved(ctx context.Context, req *wire.Request, h http.Header) *wire.Reply {
	if len(s.mv.all) == 0 {
		if s.env.Plan.ShardOf(req.City, req.User) != s.shard {
			return &wire.Reply{Outcome: wire.Rejected, Reason: "wrong_shard", Served: -1}
		}
		return nil
	}
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		pl := s.place(req.City, req.User)
		switch {
		case pl.loc == s.shard && pl.pending == nil:
			if pl.moving {
				s.mv.forwarded.Add(1)
			}
			return nil
		case pl.pending != nil && (req.Moved || pl.loc != s.shard && !pl.known):
			// redirected here (or sent here by a client that knows the copy
			// ended): the import is on its way
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return &wire.Reply{Outcome: wire.Timeout, Reason: "deadline", Served: -1}
			case <-s.ctx.Done():
				return &wire.Reply{Outcome: wire.Timeout, Reason: "deadline", Served: -1}
			}
		case pl.known || pl.pending != nil:
			s.mv.redirected.Add(1)
			h.Set(HMovedTo, strconv.Itoa(pl.loc))
			return &wire.Reply{Outcome: wire.Rejected, Reason: "moved", Served: -1}
		}
		return &wire.Reply{Outcome: wire.Rejected, Reason: "wrong_shard", Served: -1}
	}
}

// fencedLocked reports whether a write for user must not be appended here
// because the key left (an out marker was appended after the request was
// routed). The caller holds writeM.
func (s *Shard) fencedLocked(city, user int) (int, bool) {
	if len(s.mv.all) == 0 {
		return 0, false
	}
	pl := s.place(city, user)
	return pl.loc, pl.loc != s.shard || pl.pending != nil
}

// appendEntries appends entries on the primary (the caller holds writeM),
// numbering and chaining them; it returns the epoch and the last sequence
// number, or ok false when this copy is not primary.
func (s *Shard) appendEntries(es []Entry) (epoch, last uint64, ok bool, err error) {
	s.mu.Lock()
	if !s.isPrimary {
		s.mu.Unlock()
		return 0, 0, false, nil
	}
	epoch, prev, seq := s.epoch, s.hash, s.applied
	for i := range es {
		seq++
		es[i].Seq, es[i].Epoch = seq, epoch
		es[i].Hash = chain(prev, &es[i])
		prev = es[i].Hash
	}
	s.mu.Unlock()
	if err := s.st.apply(es, false); err != nil {
		return 0, 0, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.applied, s.hash, s.lastEpoch = seq, prev, epoch
	for i := range es {
		s.recent = append(s.recent, pending{es[i].Seq, now})
	}
	s.met.applied.Set(float64(seq))
	s.notifyLocked()
	return epoch, seq, s.isPrimary && s.epoch == epoch, nil
}

// commit appends entries and waits, under sync replication, for the
// copies' acknowledgements; ok false when this copy is not (or no longer) primary.
func (s *Shard) commit(ctx context.Context, es []Entry) (bool, error) {
	s.writeM.Lock()
	epoch, last, ok, err := s.appendEntries(es)
	s.writeM.Unlock()
	if err != nil || !ok {
		return false, err
	}
	if s.set.sync {
		if _, ok := s.awaitAcks(ctx, last, epoch); !ok {
			return false, nil
		}
	}
	return true, nil
}

// CopyStatus is the answer of GET /admin/copy: this copy's part in one
// key move.
type CopyStatus struct {
	Change  int  `json:"change"`
	Primary bool `json:"primary"`
	Started bool `json:"started"`
	// Keys is the keys leaving this shard; Fenced those handed off (out
	// marker in this copy's log); Copied those the new shard confirmed
	// (the primary knows; a copy reports its fenced).
	Keys   int `json:"keys"`
	Fenced int `json:"fenced"`
	Copied int `json:"copied"`
	// Forwarded is the requests this copy served for a key on its way
	// out; Redirected those it answered "moved"; Imported the keys it
	// received.
	Forwarded  int64 `json:"forwarded"`
	Redirected int64 `json:"redirected"`
	Imported   int64 `json:"imported"`
}

// moveOf is the index of scaling.sets entry change's move; -1 when it
// moves no keys.
func (m *moves) moveOf(change int) int {
	for i := range m.all {
		if m.all[i].Change == change {
			return i
		}
	}
	return -1
}

// moveIndex reads the change query parameter: the index of its move.
func (s *Shard) moveIndex(r *http.Request) (int, error) {
	v := r.URL.Query().Get("change")
	if c, err := strconv.Atoi(v); err == nil {
		if i := s.mv.moveOf(c); i >= 0 {
			return i, nil
		}
	}
	return 0, fmt.Errorf("change: want the index of a scaling.sets entry that moves keys under data.mode sharded, got %q", v)
}

func (s *Shard) handleCopyStart(w http.ResponseWriter, r *http.Request) {
	i, err := s.moveIndex(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !s.started(i) {
		now := s.clock.Now()
		id := startID(s.mv.all[i].Change)
		if !s.commitOrAnswer(w, r, []Entry{{Key: markerKey, ID: id, Value: []byte(strconv.FormatInt(now.UnixNano(), 10))}}) {
			return
		}
		s.ev.Emit(node.EvCopyStarted, s.shard, 0, fmt.Sprintf("change %d: %d keys leave shard %d", s.mv.all[i].Change, len(s.mv.mine[i]), s.shard))
	}
	select {
	case s.mv.wake <- struct{}{}:
	default:
	}
	writeJSON(w, s.copyStatus(i))
}

// commitOrAnswer commits entries for a handler; when it cannot (storage,
// or this copy is not primary) it answers the failure and returns false.
func (s *Shard) commitOrAnswer(w http.ResponseWriter, r *http.Request, es []Entry) bool {
	ok, err := s.commit(r.Context(), es)
	switch {
	case err != nil:
		http.Error(w, "storage: "+err.Error(), http.StatusInternalServerError)
	case !ok:
		s.notPrimaryAnswer(w)
	}
	return err == nil && ok
}

func (s *Shard) notPrimaryAnswer(w http.ResponseWriter) {
	s.mu.Lock()
	prim := s.primary
	s.mu.Unlock()
	if prim >= 0 {
		w.Header().Set(HPrimary, strconv.Itoa(prim))
	}
	http.Error(w, "not the primary", http.StatusConflict)
}

func (s *Shard) handleCopyStatus(w http.ResponseWriter, r *http.Request) {
	i, err := s.moveIndex(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, s.copyStatus(i))
}

func (s *Shard) copyStatus(i int) CopyStatus {
	m := &s.mv.all[i]
	st := CopyStatus{Change: m.Change, Started: s.started(i), Keys: len(s.mv.mine[i]),
		Forwarded: s.mv.forwarded.Load(), Redirected: s.mv.redirected.Load(), Imported: s.mv.imported.Load()}
	for _, u := range s.mv.mine[i] {
		if s.has(outID(m.Change, u)) {
			st.Fenced++
		}
	}
	s.mu.Lock()
	st.Primary = s.isPrimary
	epoch := s.epoch
	s.mu.Unlock()
	st.Copied = st.Fenced
	s.mv.mu.Lock()
	if st.Primary && s.mv.epoch == epoch {
		st.Copied -= len(s.mv.unconfirm[i])
		st.Copied = min(st.Copied, s.mv.cursor[i]) // not yet scanned in this epoch: not known confirmed
	}
	s.mv.mu.Unlock()
	return st
}

// Import is the body of POST /v1/import: keys handed off by an old shard.
type Import struct {
	Change int         `json:"change"`
	From   int         `json:"from"`
	Keys   []ImportKey `json:"keys"`
}

// ImportKey is one user's key and its value when it left (Version 0: no
// data), with the request ids of the writes to it the old shard held: the
// new shard keeps them, so a write acknowledged before the move is read
// back from the key's new home once the old shard is gone.
type ImportKey struct {
	User    int      `json:"user"`
	City    int      `json:"city"`
	Version uint64   `json:"version"`
	Value   []byte   `json:"value,omitempty"`
	IDs     []string `json:"ids,omitempty"`
	// Partial carries only some of the ids of a key written more often
	// than one call holds: the key itself follows in a later call.
	Partial bool `json:"partial,omitempty"`
}

// maxImportIDs bounds the write ids of one import call.
const maxImportIDs = 4096

// parseImport reads and checks an import against the plan: every key must
// leave shard From for this shard in that change.
func (s *Shard) parseImport(body []byte) (Import, error) {
	var im Import
	if err := json.Unmarshal(body, &im); err != nil {
		return im, fmt.Errorf(`body: want {"change":K,"from":S,"keys":[{"user":U,"city":C,"version":V,"value":"<base64>"}]}: %v`, err)
	}
	idx := s.mv.moveOf(im.Change)
	if idx < 0 {
		return im, fmt.Errorf("change: %d moves no keys", im.Change)
	}
	if len(im.Keys) > maxBatch {
		return im, fmt.Errorf("keys: at most %d per call, got %d", maxBatch, len(im.Keys))
	}
	p, m := s.env.Plan, &s.mv.all[idx]
	ids := 0
	for j, k := range im.Keys {
		if k.City != m.City || k.User < p.UserCities[m.City].First || k.User >= p.UserCities[m.City].First+p.UserCities[m.City].Count {
			return im, fmt.Errorf("keys[%d]: user %d is not a user of city %d", j, k.User, m.City)
		}
		if m.From(p, k.User) != im.From || m.To(p, k.User) != s.shard {
			return im, fmt.Errorf("keys[%d]: user %d does not move from shard %d to shard %d in change %d", j, k.User, im.From, s.shard, im.Change)
		}
		if len(k.Value) > wire.MaxValue {
			return im, fmt.Errorf("keys[%d]: a value is at most %d bytes", j, wire.MaxValue)
		}
		ids += len(k.IDs)
		for n, id := range k.IDs {
			if id == "" || len(id) > 128 || isMarker(id) {
				return im, fmt.Errorf("keys[%d].ids[%d]: want a request id of 1 to 128 characters, not a move marker", j, n)
			}
		}
	}
	if ids > maxImportIDs {
		return im, fmt.Errorf("keys: at most %d write ids per call, got %d", maxImportIDs, ids)
	}
	return im, nil
}

func (s *Shard) handleImport(w http.ResponseWriter, r *http.Request) {
	body, ok := s.peerBody(w, r, "import")
	if !ok {
		return
	}
	im, err := s.parseImport(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var es []Entry
	keys := 0
	for _, k := range im.Keys {
		if s.has(inID(im.Change, k.User)) {
			continue // imported before (a retry, or a new primary of the old shard)
		}
		for _, id := range k.IDs {
			if !s.has(id) {
				es = append(es, Entry{Key: markerKey | uint64(k.User), ID: id})
			}
		}
		if k.Partial {
			continue
		}
		keys++
		e := Entry{Key: markerKey | uint64(k.User), ID: inID(im.Change, k.User)}
		if k.Version > 0 {
			e.Key, e.Value = uint64(k.User), k.Value // the key's value from now on
		}
		es = append(es, e)
	}
	if len(es) > 0 {
		if !s.commitOrAnswer(w, r, es) {
			return
		}
		s.mv.imported.Add(int64(keys))
	}
	writeJSON(w, map[string]int{"imported": keys})
}

// copier hands off the keys leaving this shard while it is primary, each
// once its moment of the copy came.
func (s *Shard) copier() {
	defer s.wg.Done()
	if len(s.mv.all) == 0 {
		return
	}
	t := s.clock.NewTicker(copyTick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.mv.wake:
		}
		for i := range s.mv.all {
			if len(s.mv.mine[i]) > 0 {
				s.copyStep(i)
			}
		}
	}
}

// copyStep fences the keys of move i whose moment came and sends them,
// with those not confirmed before, to their new shards.
func (s *Shard) copyStep(i int) {
	start, ok := s.copyStart(i)
	if !ok {
		return
	}
	s.mu.Lock()
	primary, epoch := s.isPrimary, s.epoch
	s.mu.Unlock()
	if !primary {
		return
	}
	m := &s.mv.all[i]
	p := s.env.Plan
	s.mv.mu.Lock()
	if s.mv.epoch != epoch { // a new primary: find out again what was handed off
		s.mv.epoch = epoch
		for j := range s.mv.cursor {
			s.mv.cursor[j], s.mv.unconfirm[j] = 0, nil
		}
	}
	cur := s.mv.cursor[i]
	s.mv.mu.Unlock()
	now := s.clock.Now()
	mine := s.mv.mine[i]
	var due, fence []int
	for cur < len(mine) && len(due) < maxBatch && !now.Before(start.Add(m.Due(mine[cur], s.mv.rate))) {
		u := mine[cur]
		due = append(due, u)
		if !s.has(outID(m.Change, u)) {
			fence = append(fence, u)
		}
		cur++
	}
	if len(fence) > 0 {
		es := make([]Entry, len(fence))
		for j, u := range fence {
			es[j] = Entry{Key: markerKey | uint64(u), ID: outID(m.Change, u), Value: []byte(strconv.Itoa(m.To(p, u)))}
		}
		ok, err := s.commit(s.ctx, es)
		if err != nil || !ok {
			return // the next tick (or the next primary) tries again
		}
	}
	s.mv.mu.Lock()
	if s.mv.epoch == epoch {
		s.mv.cursor[i] = cur
		s.mv.unconfirm[i] = append(s.mv.unconfirm[i], due...)
	}
	send := append([]int(nil), s.mv.unconfirm[i]...)
	s.mv.mu.Unlock()
	if len(send) == 0 {
		return
	}
	byTo := map[int][]int{}
	for _, u := range send {
		byTo[m.To(p, u)] = append(byTo[m.To(p, u)], u)
	}
	var done []int
	for to, us := range byTo {
		for j := 0; j < len(us); j += maxBatch {
			b := us[j:min(j+maxBatch, len(us))]
			if s.sendKeys(m, to, b) == nil {
				done = append(done, b...)
			}
		}
	}
	s.mv.mu.Lock()
	defer s.mv.mu.Unlock()
	if s.mv.epoch != epoch {
		return
	}
	left := s.mv.unconfirm[i][:0]
	gone := map[int]bool{}
	for _, u := range done {
		gone[u] = true
	}
	for _, u := range s.mv.unconfirm[i] {
		if !gone[u] {
			left = append(left, u)
		}
	}
	s.mv.unconfirm[i] = left
	if len(done) > 0 && len(left) == 0 && s.mv.cursor[i] == len(mine) {
		s.ev.Emit(node.EvCopied, s.shard, epoch, fmt.Sprintf("change %d: %d keys left shard %d", m.Change, len(mine), s.shard))
	}
}

// sendKeys imports users' keys (frozen by their out markers) into shard
// to's primary, following its copies' primary hints.
func (s *Shard) sendKeys(m *scenarios.KeyMove, to int, users []int) error {
	im, ids := Import{Change: m.Change, From: s.shard}, 0
	for _, u := range users {
		v, ver, err := s.st.latest(uint64(u))
		if err != nil {
			return err
		}
		k := ImportKey{User: u, City: m.City, Version: ver, Value: v}
		if k.IDs, err = s.st.idsOf(u); err != nil {
			return err
		}
		if len(im.Keys) > 0 && ids+len(k.IDs) > maxImportIDs {
			if err := s.sendImport(to, &im); err != nil {
				return err
			}
			im.Keys, ids = nil, 0
		}
		for len(k.IDs) > maxImportIDs { // a key written more often than one call carries
			part := Import{Change: m.Change, From: s.shard, Keys: []ImportKey{{User: u, City: m.City, IDs: k.IDs[:maxImportIDs], Partial: true}}}
			if err := s.sendImport(to, &part); err != nil {
				return err
			}
			k.IDs = k.IDs[maxImportIDs:]
		}
		im.Keys, ids = append(im.Keys, k), ids+len(k.IDs)
	}
	return s.sendImport(to, &im)
}

// sendImport posts one import to shard to's primary, following its copies'
// primary hints.
func (s *Shard) sendImport(to int, im *Import) error {
	reps := s.env.Plan.Shards[to].Replicas
	s.mv.mu.Lock()
	first := s.mv.primaryOf(to, reps[0])
	s.mv.mu.Unlock()
	order := append([]int{first}, reps...)
	var last error
	for _, in := range order {
		addr, ok := s.addrs[in]
		if !ok {
			last = fmt.Errorf("no route to instance %d", in)
			continue
		}
		var out map[string]int
		if last = s.peer.do(s.ctx, http.MethodPost, addr, "/v1/import", im, &out); last == nil {
			s.mv.mu.Lock()
			s.mv.setPrimary(to, in)
			s.mv.mu.Unlock()
			return nil
		}
	}
	return last
}

// primaryOf is the copy of shard to last seen taking imports.
func (m *moves) primaryOf(to, def int) int {
	if p, ok := m.prim[to]; ok {
		return p
	}
	return def
}

func (m *moves) setPrimary(to, in int) {
	if m.prim == nil {
		m.prim = map[int]int{}
	}
	m.prim[to] = in
}
