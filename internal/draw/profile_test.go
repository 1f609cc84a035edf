package draw

import (
	"math"
	"testing"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// TestProfileAfterInvertsIntegral checks, for every shape, that After finds
// the time at which the integral from t0 reaches x (to within the 1 ns
// After rounds to, times the level there), and that Due agrees with it and
// stops at the end.
func TestProfileAfterInvertsIntegral(t *testing.T) {
	pct := func(v float64) scenarios.Percent { return scenarios.Percent(v) }
	shapes := map[string]scenarios.Profile{
		"constant": {Shape: "constant"},
		"ramp":     {Shape: "ramp", From: pct(0.1), To: pct(1), Start: scenarios.Duration(2 * time.Second), End: scenarios.Duration(8 * time.Second)},
		"step":     {Shape: "step", Steps: []scenarios.Step{{At: scenarios.Duration(3 * time.Second), Level: pct(2)}, {At: scenarios.Duration(6 * time.Second), Level: pct(0.5)}}},
		"spike":    {Shape: "spike", Start: scenarios.Duration(4 * time.Second), For: scenarios.Duration(time.Second), Level: pct(3)},
		"diurnal":  {Shape: "diurnal", Min: pct(0.2), Period: scenarios.Duration(10 * time.Second), PeakAt: scenarios.Duration(3 * time.Second)},
	}
	const end = int64(10 * time.Second)
	for name, sp := range shapes {
		pr := NewProfile(&sp)
		if got := pr.Constant(); got != (name == "constant") {
			t.Errorf("%s: Constant() = %v", name, got)
		}
		for _, t0 := range []int64{0, int64(1500 * time.Millisecond), int64(5 * time.Second)} {
			for _, t1 := range []int64{t0 + int64(time.Millisecond), t0 + int64(700*time.Millisecond), t0 + int64(3*time.Second)} {
				x := pr.Integral(t0, t1)
				got, ok := pr.After(t0, x, end)
				if !ok || math.Abs(float64(got-t1)) > 2 {
					t.Errorf("%s: After(%d, Integral(%d, %d)) = %d, %v; want %d", name, t0, t0, t1, got, ok, t1)
				}
				if due, dok := pr.Due(t0, x, end); dok != ok || due != got {
					t.Errorf("%s: Due = %d, %v; After = %d, %v", name, due, dok, got, ok)
				}
			}
			if _, ok := pr.Due(t0, pr.Integral(t0, end)+1e6, end); ok {
				t.Errorf("%s: due past the end from %d", name, t0)
			}
		}
	}
}
