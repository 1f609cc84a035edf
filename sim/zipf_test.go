package sim

import (
	"context"
	"testing"

	"github.com/stripelab/stripelab/scenarios"
)

// TestZipfScenarioRuns runs a workload with a Zipf exponent below 1.
func TestZipfScenarioRuns(t *testing.T) {
	f, err := scenarios.Parse("zipf.yaml", []byte(`
run: {duration: 10s, warmup: 1s}
topology: {cities: [{name: c, azs: 2, racks: 1, machines: 2}]}
stack: {services: [{name: api}], data: {mode: none}}
workload: {rate: 500/s, users: {count: 1000}, keys: {distribution: zipf, s: 0.99}}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), scenarios.NewPlan(f), Options{})
	if err != nil || res.Totals.Counts.Offered < 4000 || res.Totals.Counts.Availability() < 0.999 {
		t.Fatalf("err %v, totals %+v", err, res.Totals.Counts)
	}
}
