package sim

import (
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
)

// milestone returns the detail of the first event of kind for fault 0.
func milestone(res *reports.Result, kind string) string {
	for _, e := range res.Events {
		if e.Kind == kind && e.Fault == 0 {
			return e.Detail
		}
	}
	return ""
}

// An AZ lost under AZ striping with mesh discovery: the sidecars that see
// the AZ's instances die are the AZ's own, dead with them, so they are no
// milestone. The fault is first detected by a survivor (the data layer's
// detector on the lost primary's copy, after data detection 5s) and the
// first user request moves when the access layer re-homes the AZ's users
// (rehome_delay 10s), not when the shard is promoted (8s) with nobody
// alive writing to it.
func TestAZLossMilestonesComeFromSurvivors(t *testing.T) {
	_, res := runWorld(t, scenario(map[string]string{
		"FAULTS":    faultAt30("az-down", "target: az=a/a"),
		"DISCOVERY": "  discovery: {mode: mesh, detection: 2s, propagation: 1s}",
	}))
	reports.Analyze(res)
	fm := res.Measures.Faults[0]
	if d := sec(fm.Detection); d < 4.99 || d > 5.01 {
		t.Errorf("detected at +%.2fs (%q); want +5s, the shard's detector on a surviving copy", d, milestone(res, reports.EvDetected))
	}
	if det := milestone(res, reports.EvDetected); !strings.Contains(det, "primary") {
		t.Errorf("detected by %q; want the lost primary, not a copy nobody reads", det)
	}
	if r := sec(fm.Reroute); r < 9.99 || r > 10.1 {
		t.Errorf("rerouted at +%.2fs (%q); want +10s, when the access layer moved the AZ's users", r, milestone(res, reports.EvRerouted))
	}
	if f := sec(fm.FailoverDone); f < 9.99 || f > 10.1 {
		t.Errorf("failover done at +%.2fs; want the re-homing at +10s", f)
	}
}

// A shard primary crash: detected after data detection (3s here) naming
// the primary; the first write moved to the new primary right after the
// promotion (2s later), when the failover is also done.
func TestShardFailoverMilestones(t *testing.T) {
	_, res := runWorld(t, scenario(map[string]string{
		"FAULTS": faultAt30("shard-primary-down", "target: shard=0"),
		"DATA":   "  data: {mode: sharded, replicas: 2, placement: az, replication: sync, detection: 3s, promotion: 2s}",
	}))
	reports.Analyze(res)
	fm := res.Measures.Faults[0]
	if d := sec(fm.Detection); d < 2.99 || d > 3.01 || !strings.Contains(milestone(res, reports.EvDetected), "primary") {
		t.Errorf("detected at +%.2fs by %q; want +3s, the primary's failure", d, milestone(res, reports.EvDetected))
	}
	if r := sec(fm.Reroute); r < 5 || r > 5.1 || !strings.Contains(milestone(res, reports.EvRerouted), "new primary") {
		t.Errorf("rerouted at +%.2fs by %q; want the first write to the new primary just after +5s", r, milestone(res, reports.EvRerouted))
	}
}
