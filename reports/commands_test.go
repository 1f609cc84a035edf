package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/scenarios"
)

// cmdResult is handResult with three commands: pay (high), search
// (normal) and browse (low), each window counting 100, 600 and 300 of
// their requests, all served; a fault covers windows 2 and 3.
func cmdResult(n int) *Result {
	r := handResult(n)
	r.Commands = []CommandInfo{{Name: "pay", Priority: "high", Kind: "write", Service: "account", Share: 0.1},
		{Name: "search", Priority: "normal", Kind: "read", Service: "catalog", Share: 0.6},
		{Name: "browse", Priority: "low", Kind: "read", Service: "catalog", Share: 0.3}}
	for i := range r.Windows {
		setCmdCounts(r, i, [3]int64{100, 600, 300})
	}
	addFault(r, "crowd", 2*sec, 4*sec)
	return r
}

// setCmdCounts makes window i serve ok of each command's requests (the
// others shed), and its priorities the same as its commands.
func setCmdCounts(r *Result, i int, ok [3]int64) {
	off := [3]int64{100, 600, 300}
	w := &r.Windows[i]
	w.ByCommand = make([]Counts, 3)
	for k := range off {
		c := Counts{Offered: off[k]}
		c.Outcomes[OK], c.Outcomes[Shed] = ok[k], off[k]-ok[k]
		w.ByCommand[k] = c
	}
	setCounts(r, i, off, ok)
}

func TestCommandVerdicts(t *testing.T) {
	r := cmdResult(6)
	setCmdCounts(r, 2, [3]int64{100, 600, 30})
	setCmdCounts(r, 3, [3]int64{99, 600, 30})
	r.SLO.Commands = map[string]scenarios.CommandSLO{
		"pay":    {Availability: 0.998, AvailabilityInFault: 0.999},
		"browse": {Availability: 0.9},
		"search": {Latency: map[string]scenarios.Duration{"p99": scenarios.Duration(sec)}},
	}
	r.SLO.ShedOrder = true
	fillTotals(r)
	Analyze(r)
	m := r.Measures
	if len(m.Commands) != 3 || m.Commands[2].Name != "browse" || m.Commands[2].Counts.Outcomes[Shed] != 540 {
		t.Fatalf("command measures %+v", m.Commands)
	}
	if got := m.Faults[0].ByCommand; len(got) != 3 || got[0] != 0.995 || got[2] != 0.1 {
		t.Errorf("in-fault availability by command %v, want pay 99.5%%, browse 10%%", got)
	}
	want := map[string]bool{
		"availability [command pay]":                   true,  // 599 of 600 over the run, 99.83%
		"availability_in_fault [command pay in crowd]": false, // 199 of 200
		"availability [command browse]":                false, // 1260 of 1800
		"latency p99 [command search]":                 false, // nothing was recorded: no latency
		"shed_order [overall]":                         true,
	}
	got := map[string]bool{}
	for _, v := range r.Verdicts {
		got[v.Name()] = v.Pass
	}
	for name, pass := range want {
		if p, ok := got[name]; !ok || p != pass {
			t.Errorf("verdict %q: present %v, pass %v; want pass %v (all: %v)", name, ok, p, pass, got)
		}
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, []*Result{r}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), "availability_in_fault [command pay in crowd]") {
		t.Errorf("JUnit lacks the per-command verdict:\n%s", junit.String())
	}
}

// The shed order with commands compares the commands by their priority:
// the high-priority pay losing more than the low-priority browse breaks it
// even when the priority classes alone could not tell (here the classes
// carry no losses at all).
func TestShedOrderReadsCommandPriorities(t *testing.T) {
	r := cmdResult(5)
	setCmdCounts(r, 3, [3]int64{50, 600, 300})
	w := &r.Windows[3]
	w.ByPriority[0] = Counts{Offered: 100}
	w.ByPriority[0].Outcomes[OK] = 100
	r.SLO.ShedOrder = true
	fillTotals(r)
	Analyze(r)
	so := r.Measures.ShedOrder
	if so.Held || so.FirstViolation != 3*sec || !strings.Contains(so.Detail, "pay (high) 50.00%") {
		t.Errorf("shed order %+v; want violated at 3s by pay", so)
	}
}

func TestDiffPerCommand(t *testing.T) {
	base := cmdResult(5)
	fillTotals(base)
	cur := cmdResult(5)
	setCmdCounts(cur, 2, [3]int64{100, 600, 150})
	fillTotals(cur)
	changes, err := Diff(base, cur, Tolerance{Availability: 0.001, Latency: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var regressed []string
	for _, c := range changes {
		if c.Regression {
			regressed = append(regressed, c.Measure+" ["+c.Scope+"]")
		}
	}
	s := strings.Join(regressed, "; ")
	for _, want := range []string{"availability [command browse]", "availability [fault crowd, command browse]"} {
		if !strings.Contains(s, want) {
			t.Errorf("regressions %q lack %q", s, want)
		}
	}
	if strings.Contains(s, "command pay") {
		t.Errorf("pay did not change, but regressed: %s", s)
	}
}

func TestReportCommandTable(t *testing.T) {
	r := cmdResult(5)
	setCmdCounts(r, 2, [3]int64{100, 600, 150})
	fillTotals(r)
	Analyze(r)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| browse | low | read | catalog | 1,500 | 90.00% | crowd 75.00% | 150 |") {
		t.Errorf("markdown report lacks the browse row:\n%s", md.String())
	}
}

func TestTimeseriesPerCommand(t *testing.T) {
	r := cmdResult(5)
	setCmdCounts(r, 2, [3]int64{100, 600, 150})
	fillTotals(r)
	var b bytes.Buffer
	if err := WriteTimeseries(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if !strings.HasSuffix(lines[0], ",availability_cmd_pay,availability_cmd_search,availability_cmd_browse") {
		t.Errorf("header %q lacks the command columns", lines[0])
	}
	if !strings.HasSuffix(lines[3], ",1.000000,1.000000,0.500000") {
		t.Errorf("window 2 row %q: want browse at 50%%", lines[3])
	}
}
