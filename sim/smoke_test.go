package sim

import (
	"context"
	"fmt"
	"testing"

	"github.com/stripelab/stripelab/scenarios"
)

func TestSmoke(t *testing.T) {
	f, err := scenarios.Load("/tmp/az.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	res, err := Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(res.Totals.Counts, res.Engine)
	for i := 0; i < len(res.Windows); i += 10 {
		w := res.Windows[i]
		fmt.Printf("%3ds off=%d out=%v p99=%.1fms att=%d\n", w.Start/1e9, w.Counts.Offered, w.Counts.Outcomes, float64(w.Latency.P99)/1e6, w.Attempts)
	}
	for _, e := range res.Events {
		fmt.Printf("%.3fs %s %d %s\n", float64(e.T)/1e9, e.Kind, e.Fault, e.Detail)
	}
	fmt.Printf("%+v\n", res.Faults)
}
