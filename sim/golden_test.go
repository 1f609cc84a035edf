package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stripelab/stripelab/scenarios"
)

var updateGolden = flag.Bool("update-results", false, "rewrite golden/results.sha256 from this build's results")

// TestShippedResultsUnchanged holds the analyzed result of every shipped
// scenario (but the hour-long reference) to the SHA-256 recorded in
// golden/results.sha256: a change to the model that should leave a
// scenario alone (a new feature it does not use, such as
// workload.commands) must leave its result.json byte for byte as it was.
// A change that is meant to move results rewrites the file with
// -update-results, and the commit says why.
func TestShippedResultsUnchanged(t *testing.T) {
	path := filepath.Join("golden", "results.sha256")
	want := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if h, name, ok := strings.Cut(line, "  "); ok {
				want[name] = h
			}
		}
	} else if !*updateGolden {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]string{}
	eachShipped(t, []string{"ci/smoke", "ci/shedding"}, func(t *testing.T, name string, p *scenarios.Plan) {
		sum := sha256.Sum256(resultBytes(t, p, 0))
		h := hex.EncodeToString(sum[:])
		mu.Lock()
		got[name] = h
		mu.Unlock()
		if !*updateGolden && want[name] == "" {
			t.Skipf("%s has no recorded result (a new scenario): -update-results records it", name)
		}
		if !*updateGolden && want[name] != h {
			t.Errorf("result.json of %s changed: sha256 %s, recorded %s (rerun with -update-results if the change is meant)", name, h, want[name])
		}
	})
	if *updateGolden && !testing.Short() {
		var names []string
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		var sb strings.Builder
		for _, n := range names {
			sb.WriteString(got[n] + "  " + n + "\n")
		}
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
