package probe

import (
	"context"
	"testing"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

func TestMeasure(t *testing.T) {
	o, err := Measure(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if o.DirectRTT <= 0 || o.ProxiedRTT <= 0 || o.DirectRTT > time.Second || o.ProxiedRTT > time.Second {
		t.Fatalf("implausible round trips: %+v", o)
	}
	if o.Samples != 100 {
		t.Fatalf("samples %d", o.Samples)
	}
}

func TestApplyAddsTheOverheads(t *testing.T) {
	f, err := scenarios.LoadLibrary("az-loss")
	if err != nil {
		t.Fatal(err)
	}
	orig := *f.Scenario
	s := *f.Scenario
	o := Overheads{ProxiedRTT: 300 * time.Microsecond, SleepLate: 70 * time.Microsecond}
	o.Apply(&s)
	hop := scenarios.Duration(150 * time.Microsecond)
	if s.Topology.Latency.SameAZ != orig.Topology.Latency.SameAZ+hop || s.Topology.Latency.Client != orig.Topology.Latency.Client+hop {
		t.Fatalf("latency: %+v from %+v", s.Topology.Latency, orig.Topology.Latency)
	}
	for i, svc := range s.Stack.Services {
		was := orig.Stack.Services[i].ServiceTime
		got := svc.ServiceTime
		switch was.Dist {
		case "uniform":
			if got.Min != was.Min+70_000 || got.Max != was.Max+70_000 {
				t.Errorf("%s: %+v from %+v", svc.Name, got, was)
			}
		default:
			if got.Mean != was.Mean+70_000 {
				t.Errorf("%s: %+v from %+v", svc.Name, got, was)
			}
		}
	}
	if f.Scenario.Stack.Services[0].ServiceTime != orig.Stack.Services[0].ServiceTime {
		t.Fatal("Apply wrote through to the caller's services")
	}
	if len(o.Fields()) != 2 {
		t.Fatal(o.Fields())
	}
	// The fitted scenario still plans.
	nf := *f
	nf.Scenario = &s
	if p := scenarios.NewPlan(&nf); len(p.Instances) == 0 {
		t.Fatal("no instances")
	}
}
