package load

import (
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

const commandsWorkload = `  rate: 1000/s
  mix: {read: 60%, write: 40%}
  client: {timeout: 100ms, retries: 1, retry_budget: 0%, retry_on: [unavailable], backoff: {base: 1ms, max: 10ms, jitter: none}}
  commands:
    - {name: login, share: 20%, priority: high, kind: write, timeout: 50ms, retries: 0}
    - {name: browse, share: 50%, priority: low, kind: read, timeout: 300ms, retries: 2}
    - {name: search, share: 30%, priority: normal, kind: mixed}`

// TestCommands: requests are drawn in the commands' shares; every attempt
// carries its command's name, priority and timeout and an operation its
// kind allows, is retried as many times as its command says, and is
// recorded under its command's index.
func TestCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario(commandsWorkload, "rehome_delay: 1s"))
		if len(p.Commands) != 3 {
			t.Fatalf("plan has %d commands, want 3", len(p.Commands))
		}
		byName := map[string]scenarios.CommandPlan{}
		for _, c := range p.Commands {
			byName[c.Name] = c
		}
		var mu sync.Mutex
		var bad []string
		firstWrites := map[string]int{}
		firsts := map[string]int{}
		tr := &fake{reply: func(r *wire.Request) wire.Reply {
			mu.Lock()
			defer mu.Unlock()
			c, ok := byName[r.Command]
			switch {
			case !ok:
				bad = append(bad, "unknown command "+r.Command)
			case r.Priority != c.Priority:
				bad = append(bad, r.Command+": priority "+wire.PriorityNames[r.Priority])
			case r.Deadline != c.Timeout.Std():
				bad = append(bad, r.Command+": deadline "+r.Deadline.String())
			case c.Write == 0 && r.Op == wire.Write, c.Write == 1 && r.Op == wire.Read:
				bad = append(bad, r.Command+": op "+r.Op.String())
			}
			if strings.HasSuffix(r.ID, ".1") {
				firsts[r.Command]++
				if r.Op == wire.Write {
					firstWrites[r.Command]++
				}
			}
			return wire.Reply{Outcome: wire.Unavailable, Served: -1}
		}}
		_, col := run(t, p, tr, nil)
		if len(bad) > 0 {
			t.Fatalf("%d attempts off their command, first: %s", len(bad), bad[0])
		}
		n := float64(len(col.reqs))
		within := func(what string, got, share float64) {
			t.Helper()
			sd := math.Sqrt(n * share * (1 - share))
			if math.Abs(got-n*share) > 4*sd {
				t.Fatalf("%s: %v of %v, want %v +- %.0f", what, got, n, n*share, 4*sd)
			}
		}
		var per [3]float64
		for _, r := range col.reqs {
			c := p.Commands[r.Command]
			per[r.Command]++
			if int(r.Attempts) != c.Retries+1 || r.Outcome != reports.Unavailable {
				t.Fatalf("%s: %d attempts (%s), want %d", c.Name, r.Attempts, r.Outcome, c.Retries+1)
			}
			if int(r.Priority) != c.Priority {
				t.Fatalf("%s recorded at priority %d, want %d", c.Name, r.Priority, c.Priority)
			}
		}
		for k, c := range p.Commands {
			within(c.Name, per[k], c.Share)
			if float64(firsts[c.Name]) != per[k] {
				t.Fatalf("%s: %d first attempts sent, %v recorded", c.Name, firsts[c.Name], per[k])
			}
		}
		// search is mixed: it writes by workload.mix
		m := float64(firsts["search"])
		if sd := math.Sqrt(m * 0.4 * 0.6); math.Abs(float64(firstWrites["search"])-0.4*m) > 4*sd {
			t.Fatalf("search wrote %d of %.0f, want 40%%", firstWrites["search"], m)
		}
	})
}

// TestNoCommands: without workload.commands requests carry no command and
// are recorded under command 0 with workload.client's timeout.
func TestNoCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 100/s\n  client: {timeout: 70ms}", "rehome_delay: 1s"))
		var mu sync.Mutex
		var off int
		tr := &fake{reply: func(r *wire.Request) wire.Reply {
			mu.Lock()
			defer mu.Unlock()
			if r.Command != "" || r.Deadline != 70*time.Millisecond {
				off++
			}
			return wire.Reply{Outcome: wire.OK, Served: -1}
		}}
		_, col := run(t, p, tr, nil)
		if off > 0 || len(col.reqs) == 0 {
			t.Fatalf("%d of %d requests with a command or another timeout", off, len(col.reqs))
		}
		for _, r := range col.reqs {
			if r.Command != 0 {
				t.Fatalf("recorded command %d without commands", r.Command)
			}
		}
	})
}

// TestHorizonCommands: the horizon is the longest-lived command's.
func TestHorizonCommands(t *testing.T) {
	p := planOf(t, scenario(commandsWorkload, "rehome_delay: 1s"))
	// browse: 3 x 300ms + backoffs 1ms + 2ms; the client: 2 x 100ms + 1ms
	if got, want := Horizon(p.Scenario), 903*time.Millisecond; got != want {
		t.Fatalf("horizon %v, want %v", got, want)
	}
}
