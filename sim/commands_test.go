package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// cmdSpan sums command c's counts over the windows starting in [from, to) seconds.
func cmdSpan(res *reports.Result, c int, from, to float64) reports.Counts {
	var n reports.Counts
	for _, w := range res.Windows {
		if s := float64(w.Start) / 1e9; s >= from && s < to {
			n.Add(&w.ByCommand[c])
		}
	}
	return n
}

func commandIndex(t *testing.T, res *reports.Result, name string) int {
	t.Helper()
	for i, c := range res.Commands {
		if c.Name == name {
			return i
		}
	}
	t.Fatalf("no command %q in %v", name, res.Commands)
	return -1
}

func libraryResult(t *testing.T, name string, edit func(string) string) *reports.Result {
	t.Helper()
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		t.Fatal(err)
	}
	text := string(f.Text)
	if edit != nil {
		text = edit(text)
	}
	_, res := runWorld(t, text)
	return res
}

// Under the flash crowd the gateways shed by the command's priority: the
// high-priority login and pay keep every request while browse (low) is
// shed, and swapping the priorities of login and browse swaps who is shed,
// so it is the command's priority, not its service or share, that decides.
func TestCommandsOverloadShedsByPriority(t *testing.T) {
	res := libraryResult(t, "overload-commands", nil)
	in := func(name string) reports.Counts { return cmdSpan(res, commandIndex(t, res, name), 60, 120) }
	for _, name := range []string{"login", "pay"} {
		if c := in(name); c.Availability() < 0.999 || c.Outcomes[reports.Shed] > 0 {
			t.Errorf("%s (high) in the crowd: availability %.4f, %d shed; want it whole", name, c.Availability(), c.Outcomes[reports.Shed])
		}
	}
	browse, search := in("browse"), in("search")
	if browse.Availability() > 0.9 || browse.Outcomes[reports.Shed] < browse.Offered/10 {
		t.Errorf("browse (low) in the crowd: availability %.4f, %d of %d shed; want it shed first", browse.Availability(), browse.Outcomes[reports.Shed], browse.Offered)
	}
	if search.Availability() < browse.Availability()+0.05 {
		t.Errorf("search (normal) %.4f is not above browse (low) %.4f", search.Availability(), browse.Availability())
	}
	if testing.Short() {
		return
	}
	swapped := libraryResult(t, "overload-commands", func(s string) string {
		s = strings.Replace(s, "{name: login, share: 6%, priority: high", "{name: login, share: 6%, priority: low", 1)
		return strings.Replace(s, "{name: browse, share: 30%, priority: low", "{name: browse, share: 30%, priority: high", 1)
	})
	login := cmdSpan(swapped, commandIndex(t, swapped, "login"), 60, 120)
	browse2 := cmdSpan(swapped, commandIndex(t, swapped, "browse"), 60, 120)
	if login.Outcomes[reports.Shed] == 0 || login.Availability() > 0.95 {
		t.Errorf("login made low priority: availability %.4f, %d shed; want it shed", login.Availability(), login.Outcomes[reports.Shed])
	}
	if browse2.Availability() < 0.999 {
		t.Errorf("browse made high priority: availability %.4f; want it whole", browse2.Availability())
	}
}

// An AZ loss hits every command alike: requests draw their command
// independently of their user, so each command loses the share of its
// requests whose users are homed in the lost AZ until re-homing, within
// binomial noise of the others.
func TestCommandsAZLossProportional(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4-minute run")
	}
	res := libraryResult(t, "az-loss-commands", nil)
	all, _, _, _ := span(res, 60, 180)
	loss := 1 - all.Availability()
	if loss < 0.01 {
		t.Fatalf("the AZ loss cost only %.4f of the fault window", loss)
	}
	for i, c := range res.Commands {
		n := cmdSpan(res, i, 60, 180)
		l := 1 - n.Availability()
		se := math.Sqrt(loss * (1 - loss) / float64(n.Offered))
		// pay retries more (3 retries, a 2s timeout), so it may lose less
		if l > loss+4*se+0.002 || (c.Name != "pay" && l < loss-4*se-0.002) {
			t.Errorf("%s lost %.4f of its requests in the fault, all commands %.4f (se %.4f)", c.Name, l, loss, se)
		}
	}
}

// commandsBase is a two-city layout with a global data layer whose
// primaries are all in city a and a copy of every shard in city b; every
// user lives in b. Tests replace the marked lines.
const commandsBase = `
run: {duration: 30s, warmup: 5s, seed: 5}
topology:
  cities:
    - {name: a, azs: 2, racks: 1, machines: 2}
    - {name: b, azs: 2, racks: 1, machines: 2}
  latency: {cross_city: 20ms}
striping: {granularity: az}
stack:
  services:
    - {name: shop, instances: 2, concurrency: 16, service_time: 1ms, calls: [{data: request, timeout: 300ms}]} #SHOP
    - {name: slow, instances: 2, concurrency: 64, service_time: 30ms}
  data: {mode: global, primary: city=a, shards: 4, replicas: 2, placement: city}
workload:
  rate: 1k/s
  users: {count: 10k, by_city: {a: 0%, b: 100%}}
  client: {timeout: 1s, retries: 0, retry_budget: 0}
  commands: [{name: look, share: 50%, kind: read, service: shop}, {name: buy, share: 50%, kind: write, service: shop}] #COMMANDS
`

func commandsScenario(repl map[string]string) string {
	lines := strings.Split(commandsBase, "\n")
	for i, l := range lines {
		for k, v := range repl {
			if strings.HasSuffix(l, "#"+k) {
				lines[i] = v
			}
		}
	}
	return strings.Join(lines, "\n")
}

// A read-only command never reaches a primary: its data calls read the
// nearest copy (in the users' own city b), while the write command's go to
// the primaries in city a. Made mixed, the same command would write.
func TestReadCommandNeverReachesPrimary(t *testing.T) {
	w, res := runWorld(t, commandsScenario(nil))
	lookP, lookC := w.CommandDataOps(0)
	buyP, buyC := w.CommandDataOps(1)
	if lookP != 0 || lookC == 0 {
		t.Errorf("look (read): %d operations on a primary, %d on another copy; want none on a primary", lookP, lookC)
	}
	if buyP == 0 || buyC != 0 {
		t.Errorf("buy (write): %d operations on a primary, %d on another copy; want all on the primary", buyP, buyC)
	}
	look, buy := res.Totals.ByCommand[0], res.Totals.ByCommand[1]
	if look.Availability() != 1 || buy.Availability() != 1 {
		t.Errorf("availability look %.4f buy %.4f, want 1", look.Availability(), buy.Availability())
	}
	if lookLat, buyLat := res.Totals.LatencyByCommand[0].P50, res.Totals.LatencyByCommand[1].P50; buyLat < lookLat+int64(35e6) {
		t.Errorf("p50 look %s buy %s: the write should pay the round trip to city a (40ms)", dur(lookLat), dur(buyLat))
	}
	mixed, _ := runWorld(t, commandsScenario(map[string]string{"COMMANDS": "  commands: [{name: look, share: 50%, kind: mixed, service: shop}, {name: buy, share: 50%, kind: write, service: shop}]"}))
	if p, _ := mixed.CommandDataOps(0); p == 0 {
		t.Errorf("look made mixed reached no primary: the kind is not what keeps it off")
	}
}

// Each command goes to its own service with its own client timeout and
// retries: a command on the slow service with a timeout below its service
// time always times out (and retries), one on the fast service never does.
func TestCommandServiceTimeoutAndRetries(t *testing.T) {
	w, res := runWorld(t, commandsScenario(map[string]string{
		"SHOP":     "    - {name: shop, instances: 2, concurrency: 16, service_time: 1ms}",
		"COMMANDS": "  commands: [{name: fast, share: 70%, service: shop}, {name: hurried, share: 30%, service: slow, timeout: 20ms, retries: 2}]",
	}))
	fast, hurried := res.Totals.ByCommand[0], res.Totals.ByCommand[1]
	if fast.Availability() != 1 {
		t.Errorf("fast: availability %.4f, want 1", fast.Availability())
	}
	if hurried.Outcomes[reports.Timeout] != hurried.Offered {
		t.Errorf("hurried: %d of %d timed out; want all (30ms of work, a 20ms timeout)", hurried.Outcomes[reports.Timeout], hurried.Offered)
	}
	shop, slow := w.ServiceQueueStats(0), w.ServiceQueueStats(1)
	share := float64(slow.Arrivals) / float64(slow.Arrivals+shop.Arrivals)
	// hurried sends 30% of the requests, each three times (2 retries)
	want := 0.3 * 3 / (0.7 + 0.3*3)
	if math.Abs(share-want) > 0.02 {
		t.Errorf("slow received %.3f of the service calls, want %.3f (30%% of requests, 3 attempts each)", share, want)
	}
	if lat := res.Totals.LatencyByCommand[0]; lat.Count == 0 || lat.P99 > int64(30e6) {
		t.Errorf("fast p99 %s", dur(lat.P99))
	}
}
