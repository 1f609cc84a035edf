package main

import (
	"context"

	"github.com/stripelab/stripelab/components/probe"
	"github.com/stripelab/stripelab/scenarios"
)

func init() {
	fitOverheads = func(ctx context.Context) ([]string, func(*scenarios.Scenario), error) {
		o, err := probe.Measure(ctx, 2000)
		if err != nil {
			return nil, nil, err
		}
		return o.Fields(), o.Apply, nil
	}
}
