package draw

import (
	"math"
	"math/rand/v2"
	"testing"
)

// stream is the simulator's stream id of a seed (the same numbers as its
// generator draws).
func stream(seed, id uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, StreamSeq(id))) }

// TestZipfFrequencies draws ranks for exponents below, at and above 1 and
// checks their frequencies against the exact distribution 1/k^s over n
// ranks with a chi-square test (df = n-1 = 49: above 85.4 has a chance of
// 1 in 1000 under the right distribution; the seed is fixed, so the test
// is deterministic).
func TestZipfFrequencies(t *testing.T) {
	const n, draws = 50, 200_000
	for _, s := range []float64{0.5, 0.9, 0.99, 1, 1.01, 1.1, 2, 4} {
		z := NewZipf(s, n)
		r := stream(7, StreamUsers)
		var got [n + 1]float64
		for range draws {
			k := z.Draw(r)
			if k < 1 || k > n {
				t.Fatalf("s=%v: rank %d outside [1, %d]", s, k, n)
			}
			got[k]++
		}
		var norm float64
		for k := 1; k <= n; k++ {
			norm += math.Pow(float64(k), -s)
		}
		chi2 := 0.0
		for k := 1; k <= n; k++ {
			want := draws * math.Pow(float64(k), -s) / norm
			chi2 += (got[k] - want) * (got[k] - want) / want
		}
		if chi2 > 85.4 {
			t.Errorf("s=%v: chi-square %.1f over %d ranks; the draws do not follow 1/k^s", s, chi2, n)
		}
		if p1 := got[1] / draws; math.Abs(p1-1/norm) > 0.01 {
			t.Errorf("s=%v: the top rank has %.4f of the draws, want %.4f", s, p1, 1/norm)
		}
	}
}

// TestZipfLargePopulation checks the share of the hottest users of a city
// of a million at s = 1, where it follows from the harmonic number.
func TestZipfLargePopulation(t *testing.T) {
	const n, draws = 1_000_000, 400_000
	z := NewZipf(1, n)
	r := stream(3, StreamUsers)
	top := 0
	for range draws {
		if z.Draw(r) <= 10 {
			top++
		}
	}
	harmonic := func(m int) float64 {
		h := 0.0
		for k := 1; k <= m; k++ {
			h += 1 / float64(k)
		}
		return h
	}
	want := harmonic(10) / harmonic(n)
	if got := float64(top) / draws; math.Abs(got-want) > 0.005 {
		t.Errorf("the 10 hottest of %d users send %.4f of the requests, want %.4f", n, got, want)
	}
	if k := NewZipf(0.8, 1).Draw(r); k != 1 {
		t.Errorf("a population of one drew rank %d", k)
	}
}
