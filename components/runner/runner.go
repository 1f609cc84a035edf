package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stripelab/stripelab/components/load"
	"github.com/stripelab/stripelab/components/network"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Options configure one real run.
type Options struct {
	// Host runs the instances (required).
	Host Host
	// Binary is the stripelab executable (default os.Executable()).
	Binary string
	// Seed overrides the scenario's run.seed when not 0.
	Seed uint64
	// Keep leaves the run folder in place.
	Keep bool
	// Log receives progress lines (bring-up, the fault ledger); nil: none.
	Log io.Writer
	// Progress, when set, is called about once a second with the run's time.
	Progress func(now time.Duration)
	// Settle is how long the stack runs without load after the end before
	// the lost-write read-back; 0 derives it from the scenario's detection,
	// promotion, lag and refresh times.
	Settle time.Duration
	// HealthTimeout bounds the wait for one start group's /healthz (default 30s).
	HealthTimeout time.Duration
}

// Outcome is what a real run leaves: the Result, the fault ledger, the
// run's id and its bring-up time.
type Outcome struct {
	Result  *reports.Result
	Ledger  []LedgerEntry
	RunID   string
	BringUp time.Duration
	// Checked, Unknown and Lost count the acknowledged writes read back;
	// MovedOn those of them read back from the shard their key moved to
	// because the shard that took them was removed with its set.
	Checked, Unknown, Lost, MovedOn int
}

// RunID makes a run id: the scenario's name, the time and a random suffix.
func RunID(name string) string {
	b := make([]byte, 3)
	rand.Read(b)
	clean := regexp.MustCompile(`[^a-zA-Z0-9_.-]+`).ReplaceAllString(name, "-")
	return fmt.Sprintf("%s-%s-%s", clean, time.Now().UTC().Format("20060102T150405"), hex.EncodeToString(b))
}

// runner is the state of one run.
type runner struct {
	opts   Options
	plan   *scenarios.Plan
	run    *Run
	host   Host
	cfgs   []*node.Config
	net    *network.Server
	rec    *Rec
	ledger Ledger
	t0     time.Time
	admin  *http.Client
	log    func(format string, args ...any)

	mu        sync.Mutex
	instDown  []int  // faults holding each instance down
	parked    []bool // instances not running by the plan (slots a scale-up may start, stopped ones): no revert starts them
	scale     *scaler
	machDown  []int // faults holding each machine down
	slow      []float64
	fstate    []faultState
	after     []int64 // last event seq seen per instance
	load      Load
	checked   checkResult
	undos     []*undo
	health    func(ctx context.Context, i int) error  // tests: instead of GET /healthz
	adminHook func(i int, path string) error          // tests: instead of admin POSTs
	getHook   func(i int, path string, out any) error // tests: instead of admin GETs
}

type faultState struct {
	active  bool
	killed  map[int]bool // instances it killed
	started time.Time
	ended   time.Time
}

// Execute runs plan on the host in opts and returns its Outcome. When ctx
// ends early (Ctrl-C) it stops everything and returns the partial result,
// marked incomplete, with ctx's error. Every process of the run is stopped
// and its folder removed (unless Keep) on every path.
func Execute(ctx context.Context, plan *scenarios.Plan, opts Options) (out *Outcome, err error) {
	if opts.Host == nil {
		return nil, errors.New("runner: no host")
	}
	if opts.Binary == "" {
		if opts.Binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = 30 * time.Second
	}
	seed := opts.Seed
	if seed == 0 {
		seed = plan.Scenario.Run.Seed
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	r := newRunner(plan, opts, &Run{ID: RunID(plan.Scenario.Name), Plan: plan, Binary: opts.Binary, Secret: hex.EncodeToString(secret), Seed: seed, Keep: opts.Keep})
	r.admin = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 5 * time.Second}}
	r.log = func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	out = &Outcome{RunID: r.run.ID}
	defer func() {
		if p := recover(); p != nil {
			r.teardown()
			panic(p)
		}
	}()
	defer r.teardown()

	if err := r.host.Prepare(ctx, r.run); err != nil {
		return out, fmt.Errorf("bring-up: %w", err)
	}
	t := time.Now() // after Prepare, which may wait for another run's lock
	if err := r.bringUp(ctx); err != nil {
		return out, fmt.Errorf("bring-up: %w", err)
	}
	out.BringUp = time.Since(t)
	r.rec.SetEngine("bring_up_ms", out.BringUp.Milliseconds())
	r.log("stack up in %s: %s", out.BringUp.Truncate(time.Millisecond), plan.Summary())

	end, runErr := r.drive(ctx)
	incomplete := runErr != nil
	n, verified := r.ledger.Reverts()
	r.rec.SetEngine("reverts", int64(n))
	r.rec.SetEngine("reverts_verified", int64(verified))
	out.Checked, out.Unknown, out.Lost, out.MovedOn = r.checked.checked, r.checked.unknown, r.checked.lost, r.checked.movedOn
	out.Result = r.rec.Finish(int64(end), incomplete)
	reports.Analyze(out.Result)
	out.Ledger = r.ledger.Entries()
	return out, runErr
}

// newRunner is the state of one run of plan before bring-up: nothing
// down, every machine at its normal speed, the Plan's slots parked.
func newRunner(plan *scenarios.Plan, opts Options, run *Run) *runner {
	r := &runner{
		opts: opts, plan: plan, host: opts.Host, run: run,
		instDown: make([]int, len(plan.Instances)), machDown: make([]int, len(plan.Machines)),
		slow: make([]float64, len(plan.Machines)), fstate: make([]faultState, len(plan.Faults)),
		after: make([]int64, len(plan.Instances)), parked: make([]bool, len(plan.Instances)),
		log: func(string, ...any) {},
		rec: NewRec(reports.NewRecorder(plan, run.Seed, opts.Host.Name(), horizon(plan))),
	}
	for i := range r.slow {
		r.slow[i] = 1
	}
	for i, in := range plan.Instances {
		r.parked[i] = in.Reserve
	}
	return r
}

// horizon is the longest a request can live: every attempt's timeout and
// the backoffs between, with room to spare.
func horizon(p *scenarios.Plan) int64 {
	return int64(load.Horizon(p.Scenario) + 2*time.Second)
}

func (r *runner) teardown() {
	if r.load != nil {
		r.load.Close()
	}
	if r.net != nil {
		r.net.Close()
	}
	if err := r.host.Cleanup(); err != nil {
		r.log("cleanup: %v", err)
	}
	r.admin.CloseIdleConnections()
}

// bringUp builds the network and starts the instances group by group,
// each healthy before the next.
func (r *runner) bringUp(ctx context.Context) error {
	where := ""
	if d, ok := r.host.(interface{ Dir() string }); ok {
		where = " in " + d.Dir()
	}
	r.log("run %s on the %s backend%s", r.run.ID, r.host.Name(), where)
	r.cfgs = Configs(r.run, r.host)
	r.net = network.NewServer(ctx, scenarios.Mix64(r.run.Seed^0x6e6574))
	jitter := network.Jitter(r.plan)
	for _, pr := range network.PlanLinks(r.plan) {
		listen := ""
		if pr.User() {
			listen = r.host.UserListen(pr.City, pr.To)
		} else {
			listen = r.host.LinkListen(pr.From, pr.To)
		}
		sp := network.Spec{Name: pr.Name(), Listen: listen, Upstream: r.host.InstanceAddr(pr.To), From: pr.From, City: pr.City, To: pr.To, Delay: pr.Delay, Jitter: jitter}
		if _, err := r.net.Add(sp); err != nil {
			return err
		}
	}
	started := make([]bool, len(r.plan.Machines))
	for _, all := range StartOrder(r.plan) {
		var g []int
		for _, i := range all {
			if !r.parked[i] {
				g = append(g, i)
			}
		}
		if len(g) == 0 {
			continue
		}
		byMachine := map[int][]*node.Config{}
		var ms []int
		for _, i := range g {
			m := r.plan.Instances[i].Machine
			if byMachine[m] == nil {
				ms = append(ms, m)
			}
			byMachine[m] = append(byMachine[m], r.cfgs[i])
		}
		for _, m := range ms {
			var err error
			if !started[m] {
				err = r.host.StartMachine(ctx, m, byMachine[m])
				started[m] = true
			} else {
				for _, c := range byMachine[m] {
					if err = r.host.Start(ctx, c); err != nil {
						break
					}
				}
			}
			if err != nil {
				return err
			}
		}
		if err := r.waitHealthy(ctx, g, r.opts.HealthTimeout); err != nil {
			return err
		}
	}
	// machines with no instance: start them empty (a container still runs)
	for m := range r.plan.Machines {
		if !started[m] {
			if err := r.host.StartMachine(ctx, m, nil); err != nil {
				return err
			}
		}
	}
	return r.warm(ctx)
}

// warm waits until discovery has seen every instance: one refresh (and
// heartbeat) in registry mode, detection plus propagation in mesh mode.
func (r *runner) warm(ctx context.Context) error {
	d := r.plan.Scenario.Stack.Discovery
	w := d.Refresh.Std() + d.Heartbeat.Std()
	if d.Mode == "mesh" {
		w = d.Propagation.Std() + time.Second
	}
	w = min(max(w, 500*time.Millisecond), 5*time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(w):
	}
	return nil
}

// waitHealthy waits until every instance of ids answers /healthz.
func (r *runner) waitHealthy(ctx context.Context, ids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	left := append([]int(nil), ids...)
	for len(left) > 0 {
		var still []int
		var last error
		for _, i := range left {
			if err := r.healthy(ctx, i); err != nil {
				still = append(still, i)
				last = err
			}
		}
		left = still
		if len(left) == 0 {
			r.tellRestarted(ids)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d instances not healthy after %s (instance %d: %v)", len(left), timeout, left[0], last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func (r *runner) healthy(ctx context.Context, i int) error {
	if r.health != nil {
		return r.health(ctx, i)
	}
	if !r.host.Alive(i) {
		return fmt.Errorf("%s %d is not running", r.cfgs[i].Role, i)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.host.InstanceAddr(i)+"/healthz", nil)
	resp, err := r.admin.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", resp.Status)
	}
	return nil
}

// now is the run's time.
func (r *runner) now() time.Duration { return time.Since(r.t0) }

// drive runs the load, the fault timeline and the event poller for the
// scenario's duration, then settles and reads back the writes. It returns
// how far the run got.
func (r *runner) drive(ctx context.Context) (time.Duration, error) {
	dur := r.plan.Scenario.Run.Duration.Std()
	tctx, stopTimeline := context.WithCancel(ctx)
	defer stopTimeline()
	var wg sync.WaitGroup
	r.t0 = time.Now()
	ld, err := newLoad(ctx, r)
	if err != nil {
		return 0, err
	}
	r.load = ld
	r.scale = newScaler(r)
	scaleDone := make(chan struct{})
	sctx, stopScaling := context.WithCancel(ctx)
	defer stopScaling()
	if r.scale != nil {
		go func() { defer close(scaleDone); r.scale.run(sctx) }()
	} else {
		close(scaleDone)
	}
	pctx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()
	timelineDone := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); r.poll(pctx) }()
	go func() { defer close(timelineDone); r.timeline(tctx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var stopped error
	for done := false; !done; {
		select {
		case <-ctx.Done():
			stopped = ctx.Err()
			done = true
		case <-ld.Done():
			done = true
		case <-tick.C:
			now := r.now()
			if r.opts.Progress != nil {
				r.opts.Progress(min(now, dur))
			}
			r.rec.Flush(int64(now))
		}
	}
	end := min(r.now(), dur)
	<-ld.Done()
	stopTimeline()
	<-timelineDone // an injection under way finishes before the reverts
	stopScaling()
	<-scaleDone
	r.scale.finish(end)
	if stopped != nil {
		// interrupted: revert quickly, the teardown follows
		r.opts.HealthTimeout = min(r.opts.HealthTimeout, 5*time.Second)
	}
	// revert what is still active (faults that last to the end, and all
	// of them after an interrupt), then settle
	r.revertAll()
	if stopped == nil {
		settle := r.settle()
		r.log("settling %s before the read-back", settle.Truncate(time.Millisecond))
		select {
		case <-ctx.Done():
			stopped = ctx.Err()
		case <-time.After(settle):
		}
	}
	if stopped == nil {
		r.checked = r.check(ctx)
	}
	stopPoll()
	wg.Wait()
	r.drainEvents()
	r.load.Finish(r)
	return end, stopped
}

// settle is how long the stack needs after the load to finish its
// failovers and catch-ups: the async lag and a second, and for a fault
// that ended less than detection + promotion before the end, the rest of
// that (at most 15s).
func (r *runner) settle() time.Duration {
	if r.opts.Settle > 0 {
		return r.opts.Settle
	}
	if len(r.plan.Shards) == 0 {
		return 500 * time.Millisecond
	}
	d := r.plan.Scenario.Stack.Data
	s := d.Lag.Std() + time.Second
	dur := r.plan.Scenario.Run.Duration.Std()
	for _, f := range r.plan.Faults {
		if left := time.Duration(f.End) + d.Detection.Std() + d.Promotion.Std() - dur; left > 0 {
			s = max(s, left+d.Lag.Std()+time.Second)
		}
	}
	return min(s, 15*time.Second)
}

// adminPost sends an admin request to instance i.
func (r *runner) adminPost(i int, path string) error {
	if r.adminHook != nil {
		return r.adminHook(i, path)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.host.InstanceAddr(i)+path, nil)
	req.Header.Set("Authorization", "Bearer "+r.run.Secret)
	resp, err := r.admin.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %d: %s: %s %s", r.cfgs[i].Role, i, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
