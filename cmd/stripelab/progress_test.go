package main

import (
	"strings"
	"testing"
	"time"
)

// TestLineProgress checks the plain progress lines a pipeline log gets.
func TestLineProgress(t *testing.T) {
	var b strings.Builder
	p := &lineProgress{w: &b, every: 0}
	tk := p.task("az-loss", 4*time.Minute)
	tk.update(time.Minute)
	tk.done(true)
	out := b.String()
	for _, want := range []string{"az-loss:  25% (1m0s of 4m0s simulated", "az-loss: stopped after"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output %q lacks %q", out, want)
		}
	}
	var q strings.Builder
	p = &lineProgress{w: &q, every: time.Hour}
	p.task("x", time.Minute).update(30 * time.Second)
	if q.Len() != 0 {
		t.Errorf("printed %q before the interval passed", q.String())
	}
}
