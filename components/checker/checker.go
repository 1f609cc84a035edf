// Package checker is the lost-write checker of the real stack, after
// Jepsen's set checker: every write a primary acknowledged is logged while
// the run goes, and after the run settles each one is read back, by its
// request id, from the current primary of its shard. A write missing there
// is lost; a shard that cannot be reached (no copy answers as primary, or
// the read-back fails) makes its writes unknown, never lost. Lost writes
// are counted per fault window with their time span (the RPO).
package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// Write is one acknowledged write.
type Write struct {
	// ID is the request id of the attempt a primary acknowledged
	// ("<n>.<attempt>"): the shard stores the write under it.
	ID    string
	User  int
	City  int
	Shard int
	Key   uint64
	// Time is when the client saw the acknowledgement, ns from the start of the run.
	Time int64
}

// Log is the acknowledged-write log, safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	writes []Write
}

// Add logs one acknowledged write.
func (l *Log) Add(w Write) {
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
}

// Len is the number of writes logged.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes)
}

// Writes returns a copy of the log.
func (l *Log) Writes() []Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Write(nil), l.writes...)
}

// Config is how the read-back reaches the shards.
type Config struct {
	Plan *scenarios.Plan
	// Addr is where the controller reaches shard copy instance i directly (host:port).
	Addr func(instance int) string
	// Secret, when set, is sent as a bearer token.
	Secret string
	// Batch is the ids per check request. Default 500.
	Batch int
	// Timeout bounds each HTTP request. Default 2s.
	Timeout time.Duration
	// FaultOf maps a write's time to the fault its loss is blamed on, -1 for none.
	FaultOf func(t int64) int
	// Client is the HTTP client; nil makes one.
	Client *http.Client
}

// Result is the read-back of a log.
type Result struct {
	Acked, Found, Lost, Unknown int64
	// MovedOn counts the writes read back from the shard their key moved
	// to because their own shard did not answer.
	MovedOn int64
	// Faults lists, by fault index, the faults with lost writes.
	Faults []FaultLoss
	// Other is the lost writes no fault is blamed for.
	Other  FaultLoss
	Shards []ShardCheck
	// Sample is up to 100 lost writes, oldest first.
	Sample []Write
}

// FaultLoss is the lost writes blamed on one fault: their count and the
// times of the oldest and newest (ns from the start of the run).
type FaultLoss struct {
	Fault       int
	Lost        int64
	First, Last int64
}

// Span is the time from the oldest lost write to the newest.
func (f FaultLoss) Span() int64 { return f.Last - f.First }

// ShardCheck is the read-back of one shard.
type ShardCheck struct {
	Shard                         int
	Primary                       int // the instance read from; -1 when none answered as primary
	Epoch                         uint64
	Checked, Found, Lost, Unknown int64
	// MovedOn counts the writes this shard could not answer for that were
	// read back from the shard their key moved to.
	MovedOn int64
	Err     string `json:",omitempty"`
}

// Role is a shard copy's GET /v1/role answer.
type Role struct {
	Instance int    `json:"instance"`
	Shard    int    `json:"shard"`
	Primary  bool   `json:"primary"`
	Epoch    uint64 `json:"epoch"`
	Applied  int64  `json:"applied"`
}

type checkReq struct {
	IDs []string `json:"ids"`
}

type checkResp struct {
	Found   []string `json:"found"`
	Epoch   uint64   `json:"epoch"`
	Primary bool     `json:"primary"`
}

// ErrNoPrimary is a shard with no copy answering as primary.
var ErrNoPrimary = errors.New("no copy answers as primary")

// Check reads back every write of the log, shard by shard in parallel. A
// write its shard cannot answer for (no copy answers: its set was removed)
// whose key later moved to another shard under sharded data is read back
// again from there: a key's import carries the ids of the writes to it.
func Check(ctx context.Context, cfg Config, writes []Write) Result {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	moves := cfg.Plan.KeyMoves()
	res := Result{Acked: int64(len(writes))}
	checks := make([]ShardCheck, len(cfg.Plan.Shards))
	for s := range checks {
		checks[s] = ShardCheck{Shard: s, Primary: -1}
	}
	var pending []item
	for _, w := range writes {
		if w.Shard < 0 || w.Shard >= len(checks) {
			res.Unknown++
			continue
		}
		pending = append(pending, item{w: w, shard: w.Shard, after: -1})
	}
	var all []Write
	for len(pending) > 0 {
		byShard := make([][]item, len(checks))
		for _, it := range pending {
			byShard[it.shard] = append(byShard[it.shard], it)
		}
		rounds := make([]round, len(checks))
		var wg sync.WaitGroup
		for s := range byShard {
			if len(byShard[s]) > 0 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rounds[s] = checkShard(ctx, &cfg, s, byShard[s])
				}()
			}
		}
		wg.Wait()
		pending = nil
		for s, r := range rounds {
			c := &checks[s]
			if r.check.Checked == 0 {
				continue
			}
			c.Checked += r.check.Checked
			c.Found += r.check.Found
			c.Lost += r.check.Lost
			if r.check.Primary >= 0 || c.Primary < 0 {
				c.Primary, c.Epoch = r.check.Primary, r.check.Epoch
			}
			if r.check.Err != "" {
				c.Err = r.check.Err
			}
			res.Found += r.check.Found
			res.Lost += r.check.Lost
			all = append(all, r.lost...)
			for _, it := range r.unknown {
				if m, to := movedOut(cfg.Plan, moves, it); m >= 0 {
					c.MovedOn++
					res.MovedOn++
					pending = append(pending, item{w: it.w, shard: to, after: m})
					continue
				}
				c.Unknown++
				res.Unknown++
			}
		}
	}
	res.Shards = checks
	res.blame(all, cfg.FaultOf)
	return res
}

// item is a write to read back from a shard; after is the last key move
// it followed (-1: none).
type item struct {
	w     Write
	shard int
	after int
}

// movedOut is the first key move after it.after that took its write's key
// out of it.shard (its set removed, or the key homed on an added set), and
// the shard the key went to; -1 when there is none. The import carried the
// ids of the writes to the key, so the new shard answers for them.
func movedOut(p *scenarios.Plan, moves []scenarios.KeyMove, it item) (int, int) {
	for i := it.after + 1; i < len(moves); i++ {
		m := &moves[i]
		if m.City != it.w.City || m.From(p, it.w.User) != it.shard {
			continue
		}
		if to := m.To(p, it.w.User); to != it.shard {
			return i, to
		}
	}
	return -1, -1
}

func (res *Result) blame(lost []Write, faultOf func(int64) int) {
	sort.Slice(lost, func(i, j int) bool { return lost[i].Time < lost[j].Time })
	res.Sample = lost[:min(len(lost), 100)]
	by := map[int]*FaultLoss{}
	res.Other.Fault = -1
	for _, w := range lost {
		f := -1
		if faultOf != nil {
			f = faultOf(w.Time)
		}
		fl := &res.Other
		if f >= 0 {
			if by[f] == nil {
				by[f] = &FaultLoss{Fault: f}
			}
			fl = by[f]
		}
		if fl.Lost == 0 {
			fl.First = w.Time
		}
		fl.Lost++
		fl.Last = w.Time
	}
	for _, fl := range by {
		res.Faults = append(res.Faults, *fl)
	}
	sort.Slice(res.Faults, func(i, j int) bool { return res.Faults[i].Fault < res.Faults[j].Fault })
}

// round is one shard's read-back of some writes: its counts, and the
// writes it found missing (lost) or could not answer for (unknown).
type round struct {
	check   ShardCheck
	lost    []Write
	unknown []item
}

// checkShard reads back writes from shard s's current primary; a batch
// that fails is retried once after finding the primary again.
func checkShard(ctx context.Context, cfg *Config, s int, its []item) round {
	r := round{check: ShardCheck{Shard: s, Primary: -1, Checked: int64(len(its))}}
	sc := &r.check
	prim, epoch, err := findPrimary(ctx, cfg, s)
	if err != nil {
		sc.Err, r.unknown = err.Error(), its
		return r
	}
	sc.Primary, sc.Epoch = prim, epoch
	for i := 0; i < len(its); i += cfg.Batch {
		b := its[i:min(i+cfg.Batch, len(its))]
		found, err := checkBatch(ctx, cfg, prim, b)
		if err != nil {
			if p, e, err2 := findPrimary(ctx, cfg, s); err2 == nil {
				sc.Primary, sc.Epoch, prim = p, e, p
				found, err = checkBatch(ctx, cfg, prim, b)
			}
		}
		if err != nil {
			sc.Err = err.Error()
			r.unknown = append(r.unknown, b...)
			continue
		}
		for _, it := range b {
			if found[it.w.ID] {
				sc.Found++
			} else {
				sc.Lost++
				r.lost = append(r.lost, it.w)
			}
		}
	}
	return r
}

// findPrimary asks every copy of shard s for its role: the primary is the
// copy answering primary with the highest epoch.
func findPrimary(ctx context.Context, cfg *Config, s int) (int, uint64, error) {
	best, epoch := -1, uint64(0)
	var errs []error
	for _, in := range cfg.Plan.Shards[s].Replicas {
		var r Role
		if err := cfg.do(ctx, http.MethodGet, in, "/v1/role", nil, &r); err != nil {
			errs = append(errs, err)
			continue
		}
		if r.Primary && (best < 0 || r.Epoch > epoch) {
			best, epoch = in, r.Epoch
		}
	}
	if best < 0 {
		return -1, 0, fmt.Errorf("shard %d: %w (%v)", s, ErrNoPrimary, errors.Join(errs...))
	}
	return best, epoch, nil
}

func checkBatch(ctx context.Context, cfg *Config, inst int, b []item) (map[string]bool, error) {
	ids := make([]string, len(b))
	for i, it := range b {
		ids[i] = it.w.ID
	}
	var resp checkResp
	if err := cfg.do(ctx, http.MethodPost, inst, "/v1/check", checkReq{IDs: ids}, &resp); err != nil {
		return nil, err
	}
	if !resp.Primary {
		return nil, fmt.Errorf("instance %d is no longer primary", inst)
	}
	found := make(map[string]bool, len(resp.Found))
	for _, id := range resp.Found {
		found[id] = true
	}
	return found, nil
}

func (cfg *Config) do(ctx context.Context, method string, inst int, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+cfg.Addr(inst)+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cfg.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.Secret)
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("instance %d %s: %w", inst, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("instance %d %s: %w", inst, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("instance %d %s: status %d: %.200s", inst, path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("instance %d %s: %w", inst, path, err)
	}
	return nil
}
