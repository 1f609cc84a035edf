package shard

import (
	"testing"

	"github.com/stripelab/stripelab/components/wire"
)

func TestWriteReadReplicated(t *testing.T) {
	c := newCluster(t, syncMajority)
	reps := c.reps()
	rp := c.call(reps[0], wire.Write, "1.0", 7, "hello")
	if rp.Outcome != wire.OK || !rp.Wrote || rp.Version != 1 {
		t.Fatalf("write: %+v", rp)
	}
	rp = c.call(reps[1], wire.Write, "2.0", 7, "x")
	if rp.Outcome != wire.Rejected || rp.Reason != "not_primary" {
		t.Fatalf("write to a copy: %+v", rp)
	}
	for _, in := range reps {
		t.Log(in, c.role(in))
	}
}
