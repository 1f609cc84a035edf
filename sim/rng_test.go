package sim

import (
	"math"
	"testing"
)

// TestIntNUniform checks the direct IntN: values stay in range and are
// uniform (chi-square over 10 buckets, far below what a biased draw gives),
// including an n where the reject step is taken often.
func TestIntNUniform(t *testing.T) {
	g := newStream(1, 2)
	const draws = 200000
	var counts [10]int
	for i := 0; i < draws; i++ {
		v := g.IntN(10)
		if v < 0 || v >= 10 {
			t.Fatalf("IntN(10) = %d", v)
		}
		counts[v]++
	}
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - draws/10
		chi += d * d / (draws / 10)
	}
	if chi > 30 { // 9 degrees of freedom: p < 0.001 above 27.9
		t.Fatalf("IntN(10) not uniform: %v (chi-square %.1f)", counts, chi)
	}
	big := math.MaxInt64/3*2 + 1 // about a third of the draws are rejected
	low := 0
	for i := 0; i < 30000; i++ {
		v := g.IntN(big)
		if v < 0 || v >= big {
			t.Fatalf("IntN(%d) = %d", big, v)
		}
		if v < big/2 {
			low++
		}
	}
	if low < 14500 || low > 15500 {
		t.Fatalf("IntN(%d): %d of 30000 in the lower half", big, low)
	}
}
