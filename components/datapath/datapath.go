// Package datapath is the client services (and data proxies) use to read
// and write a user's data: it maps the user to its shard as the Plan does,
// sends writes to the shard's current primary (learned from the copies'
// answers: a copy that is not primary says so and names the primary) and
// reads to the nearest live copy or to the primary per data.reads. In
// proxy mode (data.mode: proxy) a service sends every operation to a data
// proxy of its set instead, which routes it with this same client.
package datapath

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/shard"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// Client routes data operations. It is safe for concurrent use.
type Client struct {
	plan        *scenarios.Plan
	wc          *wire.Client
	clock       node.Clock
	addrs       map[int]string
	viaProxy    bool
	readPrimary bool
	downFor     time.Duration // how long a copy that refused a connection is skipped: data.detection
	proxies     []int         // own set first, then the city's other sets, then the rest
	nearest     [][]int       // per shard: copies nearest to this instance's machine first
	rr          atomic.Uint64

	moves []scenarios.KeyMove // the scenario's key moves (data.mode sharded, sets added or removed)

	mu    sync.Mutex
	views []view
	down  map[int]time.Time
	moved map[int]bool // by scaling.sets index: the move's copy ended (POST /admin/moved)
}

// view is what the client believes of one shard.
type view struct {
	primary int
	epoch   uint64
}

// New builds the data path of env's instance; wc carries its calls.
func New(env *node.Env, wc *wire.Client) *Client {
	p := env.Plan
	d := &p.Scenario.Stack.Data
	me := p.Instances[env.Config.Instance]
	clock := env.Clock
	if clock == nil {
		clock = node.RealClock{}
	}
	c := &Client{
		plan: p, wc: wc, clock: clock, addrs: env.Config.PeerAddrs(),
		viaProxy:    d.Mode == "proxy" && me.Role != scenarios.RoleProxy,
		readPrimary: d.Reads == "primary", downFor: d.Detection.Std(), down: map[int]time.Time{},
	}
	for _, sh := range p.Shards {
		c.views = append(c.views, view{primary: sh.Replicas[0]})
		order := slices.Clone(sh.Replicas)
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(p.Delay(me.Machine, p.Instances[a].Machine), p.Delay(me.Machine, p.Instances[b].Machine))
		})
		c.nearest = append(c.nearest, order)
	}
	c.proxies = proxiesFor(p, me.Set)
	if c.moves = p.KeyMoves(); c.moves != nil && env.Server != nil {
		env.Server.Admin("POST /admin/moved", c.handleMoved)
	}
	return c
}

// handleMoved is POST /admin/moved?change=K: change K's copy ended, so
// the keys it moved are sent straight to their new shards. Until then a
// moved key's old shard answers "moved" and the client follows it.
func (c *Client) handleMoved(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("change")
	k, err := strconv.Atoi(v)
	if err == nil && !slices.ContainsFunc(c.moves, func(m scenarios.KeyMove) bool { return m.Change == k }) {
		err = errors.New("no such move")
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("change: want the index of a scaling.sets entry that moves keys under data.mode sharded, got %q", v), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	if c.moved == nil {
		c.moved = map[int]bool{}
	}
	c.moved[k] = true
	c.mu.Unlock()
	fmt.Fprintf(w, "change %d moved\n", k)
}

// shardOf is the shard holding a user's key as far as this client knows:
// the Plan's, moved by every key move whose copy ended.
func (c *Client) shardOf(city, user int) int {
	s := c.plan.ShardOf(city, user)
	if c.moves == nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.moves {
		m := &c.moves[i]
		if m.City == city && c.moved[m.Change] {
			if to := m.To(c.plan, user); to != m.From(c.plan, user) {
				s = to
			}
		}
	}
	return s
}

func proxiesFor(p *scenarios.Plan, set int) []int {
	var own, city, rest []int
	for i, in := range p.Instances {
		switch {
		case in.Role != scenarios.RoleProxy:
		case in.Set == set:
			own = append(own, i)
		case p.Sets[in.Set].City == p.Sets[set].City:
			city = append(city, i)
		default:
			rest = append(rest, i)
		}
	}
	return append(append(own, city...), rest...)
}

// Primary is the instance the client believes primary of shard s, and
// the newest epoch it has seen there.
func (c *Client) Primary(s int) (int, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.views[s].primary, c.views[s].epoch
}

// Do reads or writes r.User's data and answers as the copy (or proxy)
// did. Reply.Wrote is true when a primary acknowledged the write.
func (c *Client) Do(ctx context.Context, r *wire.Request) wire.Reply {
	if r.City < 0 || r.City >= len(c.plan.Cities) {
		return wire.Reply{Outcome: wire.Rejected, Reason: "bad_city", Served: -1}
	}
	if len(c.plan.Shards) == 0 {
		return wire.Reply{Outcome: wire.Unavailable, Reason: "no_data", Served: -1}
	}
	if r.Hops >= wire.MaxHops {
		return wire.Reply{Outcome: wire.Rejected, Reason: "too_many_hops", Served: -1}
	}
	deadline := c.clock.Now().Add(r.Deadline)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if c.viaProxy {
		return c.toProxy(ctx, r, deadline)
	}
	s := c.shardOf(r.City, r.User)
	crossed := false
	for hop := 0; ; hop++ {
		var rp wire.Reply
		var h http.Header
		if r.Op == wire.Write || c.readPrimary {
			rp, h = c.toPrimary(ctx, r, s, deadline)
		} else {
			rp, h = c.toNearest(ctx, r, s, deadline)
		}
		rp.CrossSet = rp.CrossSet || crossed
		to, err := strconv.Atoi(h.Get(shard.HMovedTo))
		if rp.Outcome != wire.Rejected || rp.Reason != "moved" || err != nil || to < 0 || to >= len(c.plan.Shards) || to == s || hop == maxMoves {
			return rp
		}
		// the key moved on: follow it, and tell the next shard to wait for it
		q := *r
		q.Moved, r, s, crossed = true, &q, to, rp.CrossSet
	}
}

// maxMoves bounds the shards a request follows a moving key through.
const maxMoves = 4

// toPrimary sends to the believed primary and follows the copies' hints:
// not_primary or fenced naming another copy sends there; a refused
// connection tries the next copy, which names the primary it knows; a
// timeout or reset ends the request and marks the copy down, so the next
// request asks a live copy first.
func (c *Client) toPrimary(ctx context.Context, r *wire.Request, s int, deadline time.Time) (wire.Reply, http.Header) {
	target, epoch := c.Primary(s)
	tried := map[int]bool{}
	var rp wire.Reply
	var h http.Header
	if c.isDown(target) {
		// The believed primary failed lately: ask a live copy first, whose
		// answer names the primary it follows (perhaps a new one).
		if alt := c.untried(s, map[int]bool{target: true}); alt >= 0 && !c.isDown(alt) {
			target = alt
		}
	}
	for {
		tried[target] = true
		rp, h = c.send(ctx, target, r, deadline, epoch)
		hint := c.learn(s, target, rp, h)
		epoch = max(epoch, c.epochOf(s))
		switch {
		case rp.Outcome == wire.OK:
			return rp, h
		case rp.Outcome == wire.Rejected && (rp.Reason == "not_primary" || rp.Reason == "fenced"):
			if hint >= 0 && !tried[hint] {
				target = hint
				continue
			}
		case refused(rp) || (rp.Outcome == wire.Reset && r.Op == wire.Read):
			c.markDown(target)
		case rp.Outcome == wire.Timeout || rp.Outcome == wire.Reset:
			// Silent or broken (a dead host behind a network link): the
			// next request asks a live copy first. A write is not retried.
			c.markDown(target)
			return rp, h
		default:
			return rp, h // the other definite answers (shed, no_primary, errors, moved) end here
		}
		next := c.untried(s, tried)
		if next < 0 {
			return rp, h
		}
		target = next
	}
}

// toNearest reads from the nearest copy not known down, then the next.
func (c *Client) toNearest(ctx context.Context, r *wire.Request, s int, deadline time.Time) (wire.Reply, http.Header) {
	order := c.liveFirst(c.nearest[s])
	var rp wire.Reply
	var h http.Header
	for _, in := range order {
		rp, h = c.send(ctx, in, r, deadline, 0)
		c.learn(s, in, rp, h)
		switch {
		case rp.Outcome == wire.OK:
			return rp, h
		case refused(rp) || rp.Outcome == wire.Reset:
			c.markDown(in)
		case rp.Outcome == wire.Timeout:
			c.markDown(in)
			return rp, h
		case rp.Outcome == wire.Shed:
		default:
			return rp, h
		}
	}
	return rp, h
}

// toProxy sends to a data proxy of this set (round robin), falling back to
// the next one when a connection is refused (or a read's is reset); a
// proxy that failed is skipped for data.detection.
func (c *Client) toProxy(ctx context.Context, r *wire.Request, deadline time.Time) wire.Reply {
	if len(c.proxies) == 0 {
		return wire.Reply{Outcome: wire.Unavailable, Reason: "no_proxy", Served: -1}
	}
	own := 0
	for _, in := range c.proxies {
		if c.plan.Instances[in].Set == c.plan.Instances[c.proxies[0]].Set {
			own++
		}
	}
	start := int(c.rr.Add(1) % uint64(own))
	ordered := append(slices.Clone(c.proxies[start:own]), c.proxies[:start]...)
	ordered = c.liveFirst(append(ordered, c.proxies[own:]...))
	var rp wire.Reply
	for _, in := range ordered {
		rp, _ = c.send(ctx, in, r, deadline, 0)
		switch {
		case refused(rp), rp.Outcome == wire.Reset && r.Op == wire.Read:
			c.markDown(in) // nothing done (or a read): the next proxy
		case rp.Outcome == wire.Timeout, rp.Outcome == wire.Reset:
			c.markDown(in)
			return rp
		default:
			return rp
		}
	}
	return rp
}

func refused(rp wire.Reply) bool {
	return rp.Outcome == wire.Unavailable && (rp.Reason == "refused" || rp.Reason == "no_route")
}

// learn records an answer's epoch and primary; it returns the primary the
// answer names (-1 none).
func (c *Client) learn(s, from int, rp wire.Reply, h http.Header) int {
	hint := -1
	if v, err := strconv.Atoi(h.Get(shard.HPrimary)); err == nil && slices.Contains(c.plan.Shards[s].Replicas, v) {
		hint = v
	}
	e, _ := strconv.ParseUint(h.Get(shard.HEpoch), 10, 64)
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.views[s]
	switch {
	case rp.Outcome == wire.OK && rp.Wrote:
		v.primary = from
	case rp.Outcome == wire.Rejected && hint >= 0 && e >= v.epoch:
		v.primary = hint
	}
	v.epoch = max(v.epoch, e)
	return hint
}

func (c *Client) epochOf(s int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.views[s].epoch
}

func (c *Client) markDown(in int) {
	c.mu.Lock()
	c.down[in] = c.clock.Now().Add(c.downFor)
	c.mu.Unlock()
}

func (c *Client) isDown(in int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.down[in]
	return ok && c.clock.Now().Before(until)
}

// liveFirst orders instances with those not marked down first.
func (c *Client) liveFirst(ins []int) []int {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, 0, len(ins))
	var later []int
	for _, in := range ins {
		if until, ok := c.down[in]; ok && now.Before(until) {
			later = append(later, in)
			continue
		}
		out = append(out, in)
	}
	return append(out, later...)
}

// untried is the next copy of shard s not tried yet, live ones first.
func (c *Client) untried(s int, tried map[int]bool) int {
	for _, in := range c.liveFirst(c.plan.Shards[s].Replicas) {
		if !tried[in] {
			return in
		}
	}
	return -1
}

// send makes one call to an instance with the time left before deadline,
// carrying the client's newest epoch of the shard so a stale primary is
// fenced; it returns the reply and its headers.
func (c *Client) send(ctx context.Context, in int, r *wire.Request, deadline time.Time, epoch uint64) (wire.Reply, http.Header) {
	rp, h := c.sendOnce(ctx, in, r, deadline, epoch)
	// the hop left the home set whether or not it was answered
	rp.CrossSet = rp.CrossSet || r.Crosses(c.plan.Machines[c.plan.Instances[in].Machine].Set)
	return rp, h
}

func (c *Client) sendOnce(ctx context.Context, in int, r *wire.Request, deadline time.Time, epoch uint64) (wire.Reply, http.Header) {
	addr, ok := c.addrs[in]
	if !ok {
		return wire.Reply{Outcome: wire.Unavailable, Reason: "no_route", Served: -1}, http.Header{}
	}
	left := deadline.Sub(c.clock.Now())
	if left <= 0 {
		return wire.Reply{Outcome: wire.Timeout, Reason: "deadline", Served: -1}, http.Header{}
	}
	ctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	q := *r
	q.Deadline, q.Hops = left, r.Hops+1
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+wire.Path, bytes.NewReader(q.Value))
	if err != nil {
		return wire.Reply{Outcome: wire.Error, Reason: "bad_address", Served: -1}, http.Header{}
	}
	q.Encode(req.Header)
	if epoch > 0 {
		req.Header.Set(shard.HEpoch, strconv.FormatUint(epoch, 10))
	}
	resp, err := c.wc.HTTP.Do(req)
	if err != nil {
		return transportReply(ctx, err), http.Header{}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxValue+1))
	resp.Body.Close()
	if err != nil {
		return transportReply(ctx, err), resp.Header
	}
	if resp.StatusCode == http.StatusBadRequest {
		return wire.Reply{Outcome: wire.Rejected, Reason: "bad_request", Served: -1}, resp.Header
	}
	rp, err := wire.ReadReply(resp.Header, body)
	if err != nil {
		return wire.Reply{Outcome: wire.Error, Reason: "bad_reply", Served: -1}, resp.Header
	}
	return rp, resp.Header
}

func transportReply(ctx context.Context, err error) wire.Reply {
	o := wire.Classify(ctx, err)
	reason := map[wire.Outcome]string{wire.Timeout: "deadline", wire.Unavailable: "refused", wire.Reset: "reset"}[o]
	return wire.Reply{Outcome: o, Reason: reason, Served: -1}
}
