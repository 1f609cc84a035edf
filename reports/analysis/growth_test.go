package analysis

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// growSrc adds the reserved AZ c at 20s (ready at 25s, routed at 30s).
const growSrc = `
run: {duration: 60s, warmup: 5s, seed: 2}
topology:
  cities: [{name: a, azs: 3, racks: 1, machines: 2}]
striping: {granularity: az, reserve: [a/c]}
stack:
  access: {rehome_delay: 5s}
  services: [{name: api, instances: 2, calls: [{data: request, timeout: 300ms}]}]
  data: {mode: sharded, replicas: 2, placement: az}
workload: {rate: 500/s, users: {count: 9k}}
scaling: {startup: 5s, copy_rate: 500/s, sets: [{at: 20s, add: a/c}]}
slo: {availability: 99%}
`

// The growth case: the same users move under sharded and proxy storage;
// only sharded copies keys and forwards requests meanwhile.
func TestCompareGrowth(t *testing.T) {
	f := parse(t, "grow.yaml", growSrc)
	dir := t.TempDir()
	o := opts(2)
	o.Dir = dir
	g, err := CompareGrowth(context.Background(), f, GrowthOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != 2 || g.Cases[0].Mode != "sharded" || g.Cases[1].Mode != "proxy" {
		t.Fatalf("cases %+v", g.Cases)
	}
	sh, px := g.Cases[0].Sets[0], g.Cases[1].Sets[0]
	if sh.Moved != px.Moved || sh.Moved == 0 {
		t.Errorf("moved %d under sharded, %d under proxy; want the same users", sh.Moved, px.Moved)
	}
	if sh.Keys != sh.Moved || sh.Forwarded == 0 || px.Keys != 0 || px.Forwarded != 0 {
		t.Errorf("sharded %d keys, %d forwarded; proxy %d keys, %d forwarded", sh.Keys, sh.Forwarded, px.Keys, px.Forwarded)
	}
	if g.Cases[0].CrossSetAfter != 0 || g.Cases[1].CrossSetAfter <= g.Cases[1].CrossSetBefore {
		t.Errorf("cross-set after: sharded %v, proxy %v (before %v); want 0 and a rise", g.Cases[0].CrossSetAfter, g.Cases[1].CrossSetAfter, g.Cases[1].CrossSetBefore)
	}
	if err := g.Write(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "### Growth by data mode") || !strings.Contains(string(md), "| proxy | a/c |") {
		t.Errorf("report.md:\n%s", md)
	}
	for _, m := range []string{"sharded", "proxy"} {
		if _, err := os.Stat(filepath.Join(dir, "runs", m, "result.json")); err != nil {
			t.Errorf("run folder of %s: %v", m, err)
		}
	}
}

func TestCompareGrowthNeedsASetAdded(t *testing.T) {
	f := parse(t, "static.yaml", strings.Replace(growSrc, "sets: [{at: 20s, add: a/c}]", "sets: []", 1))
	if _, err := CompareGrowth(context.Background(), f, GrowthOptions{Options: opts(1)}); !errors.Is(err, ErrBadInput) {
		t.Errorf("got %v, want a bad input error", err)
	}
	f = parse(t, "grow.yaml", growSrc)
	if _, err := CompareGrowth(context.Background(), f, GrowthOptions{Options: opts(1), Modes: []string{"sharded", "tape"}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("unknown mode: got %v, want a bad input error", err)
	}
}
