package scenarios

import "testing"

// TestHPADecision checks the autoscaler's decision function against the
// HPA formula, its tolerance, the stabilization window and the limits.
func TestHPADecision(t *testing.T) {
	h := Autoscaler{Utilization: 0.6, Tolerance: 0.1, Min: 2, Max: 8, MaxStep: 4}
	for _, tc := range []struct {
		name                 string
		current, ready       int
		util                 float64
		wantRec              int
		windowMax, wantFinal int
	}{
		{"formula up", 2, 2, 0.94, 4, 4, 4},                  // ceil(2 x 0.94 / 0.6) = ceil(3.13)
		{"exact product not rounded up", 2, 2, 0.9, 3, 3, 3}, // 2 x 0.9 / 0.6 is 3 (3.0000000000000004 in floats)
		{"within tolerance above", 4, 4, 0.65, 4, 4, 4},      // ratio 1.083
		{"within tolerance below", 4, 4, 0.55, 4, 4, 4},      // ratio 0.917
		{"just outside tolerance", 4, 4, 0.67, 5, 5, 5},      // ratio 1.117: ceil(4.47)
		{"not ready ones do not count", 6, 2, 0.9, 3, 6, 6},  // 2 ready: 3, but 6 recommended 5 min ago
		{"formula down", 4, 4, 0.3, 2, 2, 2},
		{"stabilized down", 6, 6, 0.2, 2, 5, 5}, // the window's highest is 5
		{"stabilized never above current", 4, 4, 0.3, 2, 7, 4},
		{"step limit up", 2, 2, 2.4, 8, 8, 6}, // ceil(2 x 4) = 8, at most +4
		{"step limit down", 8, 8, 0.05, 1, 1, 4},
		{"max", 6, 6, 1.0, 10, 10, 8},
		{"min", 2, 2, 0.1, 1, 1, 2},
		{"above max after an action", 12, 12, 0.6, 12, 12, 8},
		{"nothing ready", 3, 0, 0, 3, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.Recommend(tc.current, tc.ready, tc.util)
			if rec != tc.wantRec {
				t.Fatalf("recommend(current %d, ready %d, util %v) = %d, want %d", tc.current, tc.ready, tc.util, rec, tc.wantRec)
			}
			if got := h.Decide(tc.current, rec, max(rec, tc.windowMax)); got != tc.wantFinal {
				t.Errorf("decide(current %d, rec %d, window max %d) = %d, want %d", tc.current, rec, tc.windowMax, got, tc.wantFinal)
			}
		})
	}
}
