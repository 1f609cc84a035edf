package main

import (
	"strings"
	"testing"
)

// The real backends refuse, with exit 2 and the field, what they do not
// carry out, before starting anything.
func TestRealBackendsRefuseWhatTheyDoNotCarryOut(t *testing.T) {
	for _, c := range []struct{ name, field string }{
		{"gray-failure-outlier", "stack.resilience.outlier"},
	} {
		code, _, stderr := cliOut(t, "run", c.name, "--backend", "process", "--out", t.TempDir(), "--quiet")
		if code != 2 || !strings.Contains(stderr, c.field) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s", c.name, code, stderr, c.field)
		}
		code, _, stderr = cliOut(t, "calibrate", c.name, "--out", t.TempDir(), "--quiet")
		if code != 2 || !strings.Contains(stderr, c.field) {
			t.Errorf("calibrate %s: exit %d, stderr %q; want 2 naming %s", c.name, code, stderr, c.field)
		}
	}
}
