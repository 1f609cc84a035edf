package web

import (
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
)

func TestScalingFigures(t *testing.T) {
	if got := scalingFigures(&reports.Result{}); got != nil {
		t.Errorf("figures for a run without scaling: %v", got)
	}
	res := &reports.Result{Scaling: &reports.Scaling{
		Components: []reports.ScaledComponent{{Name: "api", Initial: 4, Peak: 8, Provisioned: []int32{4, 8, 6}, InstanceNS: 36e11, StaticNS: 18e11}},
		Sets:       []reports.SetAdded{{Set: "x/c", Users: 300, Moved: 100, Keys: 100, Forwarded: 7}, {Set: "x/a", Removed: true}},
	}}
	got := scalingFigures(res)
	if len(got) != 3 || got[0].Name != "Instances of api" || !strings.HasPrefix(got[0].Value, "4 at start, peak 8, 6 at end; 1 instance-hours (0.5 without") ||
		got[1].Name != "Set added x/c" || !strings.Contains(got[1].Value, "100 of 300 users moved") || got[2].Name != "Set removed x/a" {
		t.Errorf("figures %+v", got)
	}
}
