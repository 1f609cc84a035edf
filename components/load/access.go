package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/stripelab/stripelab/internal/draw"
	"github.com/stripelab/stripelab/scenarios"
)

// RouteChange is the access layer acting on a change of a gateway's
// health for the users of one city: rehome_delay after its health checks
// saw it.
type RouteChange struct {
	Time    time.Time
	City    int
	Gateway int // instance
	Set     int
	Up      bool
	// Seen is when the health checks saw the change.
	Seen time.Time
	// Emptied is set when the change left the set with no gateway seen up
	// for the city's users: those homed on it are re-homed.
	Emptied bool
}

// access is the regional access layer: per city, which gateways it
// believes up (view), what its health checks last concluded (seen), and
// the change waiting for rehome_delay.
type access struct {
	p        *scenarios.Plan
	rehome   time.Duration
	failback bool
	gws      []int // gateway instances
	ord      map[int]int
	setGws   [][]int // set -> gateway instances

	mu       sync.Mutex
	view     [][]bool // [city][ordinal]
	seen     [][]bool
	fails    [][]int
	ver      [][]uint64
	everDown [][]bool
	up       [][]int         // [city][set]: gateways seen up
	timers   [][]*time.Timer // [city][ordinal]: the change waiting
	rnd      []*rand.Rand    // per city: gateway picks
	byDelay  [][]int
	onRoute  func(RouteChange)
	stopped  bool // no change is acted on after stop
}

func newAccess(p *scenarios.Plan, seed uint64, onRoute func(RouteChange)) *access {
	acc := &p.Scenario.Stack.Access
	a := &access{p: p, rehome: acc.RehomeDelay.Std(), failback: acc.Failback == nil || *acc.Failback,
		ord: map[int]int{}, setGws: make([][]int, len(p.Sets)), onRoute: onRoute}
	for i, in := range p.Instances {
		if in.Role == scenarios.RoleGateway {
			a.ord[i] = len(a.gws)
			a.gws = append(a.gws, i)
			a.setGws[in.Set] = append(a.setGws[in.Set], i)
		}
	}
	nc, ng := len(p.Cities), len(a.gws)
	grid := func() [][]bool {
		g := make([][]bool, nc)
		for c := range g {
			g[c] = make([]bool, ng)
		}
		return g
	}
	a.view, a.seen, a.everDown = grid(), grid(), grid()
	a.fails, a.ver, a.up = make([][]int, nc), make([][]uint64, nc), make([][]int, nc)
	a.timers = make([][]*time.Timer, nc)
	a.rnd, a.byDelay = make([]*rand.Rand, nc), make([][]int, nc)
	for c := range nc {
		a.fails[c], a.ver[c], a.up[c] = make([]int, ng), make([]uint64, ng), make([]int, len(p.Sets))
		a.timers[c] = make([]*time.Timer, ng)
		for o, g := range a.gws {
			if p.Instances[g].Reserve {
				continue // a slot a scale-up may start: seen once its health checks pass
			}
			a.view[c][o], a.seen[c][o] = true, true
			a.up[c][p.Instances[g].Set]++
		}
		a.rnd[c] = rand.New(rand.NewPCG(seed, scenarios.Mix64(draw.StreamRouting+uint64(c))))
		for o := range nc {
			if o != c {
				a.byDelay[c] = append(a.byDelay[c], o)
			}
		}
		sort.SliceStable(a.byDelay[c], func(i, j int) bool {
			return p.CityDelay(c, a.byDelay[c][i]) < p.CityDelay(c, a.byDelay[c][j])
		})
	}
	return a
}

// route picks the set and gateway for an attempt by user of city c: the
// home set when it is seen up, else a set of the city seen up, else of the
// nearest city with one (the user hashed over them, as the simulator
// does). -1, -1 when none is up.
func (a *access) route(c, user, home int) (int, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.up[c][home] > 0 {
		return home, a.pick(c, home)
	}
	if s := a.healthySet(c, c, user); s >= 0 {
		return s, a.pick(c, s)
	}
	for _, o := range a.byDelay[c] {
		if s := a.healthySet(c, o, user); s >= 0 {
			return s, a.pick(c, s)
		}
	}
	return -1, -1
}

func (a *access) healthySet(from, in, user int) int {
	sets := a.p.Cities[in].Sets
	n := 0
	for _, s := range sets {
		if a.up[from][s] > 0 {
			n++
		}
	}
	if n == 0 {
		return -1
	}
	k := int(scenarios.Mix64(uint64(user)^0x2545f4914f6cdd1d) % uint64(n))
	for _, s := range sets {
		if a.up[from][s] > 0 {
			if k == 0 {
				return s
			}
			k--
		}
	}
	return -1
}

func (a *access) pick(c, set int) int {
	k := a.rnd[c].IntN(a.up[c][set])
	for _, g := range a.setGws[set] {
		if a.view[c][a.ord[g]] {
			if k == 0 {
				return g
			}
			k--
		}
	}
	panic("load: access layer lost count of healthy gateways")
}

// observe takes one health check result of gateway g for city c. A
// gateway is seen down after downAfter failed checks in a row and up
// after one success; a change of what is seen is acted on rehome_delay
// later, unless a newer change supersedes it.
func (a *access) observe(c, g int, ok bool, downAfter int, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.ord[g]
	if ok {
		a.fails[c][o] = 0
	} else {
		a.fails[c][o]++
	}
	seen := a.seen[c][o]
	switch {
	case ok && !seen:
		seen = true
	case !ok && seen && a.fails[c][o] >= downAfter:
		seen = false
	default:
		return
	}
	a.seen[c][o] = seen
	a.ver[c][o]++
	ver := a.ver[c][o]
	act := func() { a.act(c, g, ver, seen, now) }
	if a.rehome <= 0 {
		a.actLocked(c, g, ver, seen, now)
		return
	}
	if t := a.timers[c][o]; t != nil {
		t.Stop() // superseded
	}
	a.timers[c][o] = time.AfterFunc(a.rehome, act)
}

func (a *access) act(c, g int, ver uint64, up bool, seenAt time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.actLocked(c, g, ver, up, seenAt)
}

func (a *access) actLocked(c, g int, ver uint64, up bool, seenAt time.Time) {
	o := a.ord[g]
	if a.stopped || ver != a.ver[c][o] || a.view[c][o] == up || (up && !a.failback && a.everDown[c][o]) {
		return
	}
	a.view[c][o] = up
	set := a.p.Instances[g].Set
	if up {
		a.up[c][set]++
	} else {
		a.up[c][set]--
		a.everDown[c][o] = true
	}
	if a.onRoute != nil {
		a.onRoute(RouteChange{Time: time.Now(), City: c, Gateway: g, Set: set, Up: up, Seen: seenAt,
			Emptied: !up && a.up[c][set] == 0 && a.p.Sets[set].City == c})
	}
}

// stop cancels the changes still waiting; once it returns OnRoute is not
// called again.
func (a *access) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	for _, ts := range a.timers {
		for o, t := range ts {
			if t != nil {
				t.Stop()
				ts[o] = nil
			}
		}
	}
}

// Healthy reports whether the access layer sends users of city c to gateway g.
func (a *access) healthy(c, g int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.view[c][a.ord[g]]
}

// checkLoop health-checks gateway g for the users of city c every period
// until ctx ends; each check waits at most timeout.
func (a *access) checkLoop(ctx context.Context, tr Transport, addr string, c, g int, period, timeout time.Duration, downAfter int) {
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := tr.Health(cctx, addr)
		cancel()
		if ctx.Err() != nil {
			return
		}
		n := downAfter
		if errors.Is(err, ErrDraining) {
			n = 1
		}
		a.observe(c, g, err == nil, n, time.Now())
	}
}
