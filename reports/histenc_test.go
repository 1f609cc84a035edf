package reports

import (
	"math/rand/v2"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// TestHistEncoderRoundTrip writes histograms of several shapes with the
// window encoder and reads them back with the library's decoder: every
// count must come back, and the library's own encoding must decode to the
// same histogram.
func TestHistEncoderRoundTrip(t *testing.T) {
	e := newHistEncoder()
	r := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func() int64{
		"one value":   func() int64 { return 1500 },
		"lognormal":   func() int64 { return int64(2000 * r.ExpFloat64() * r.ExpFloat64()) },
		"wide":        func() int64 { return 1 + r.Int64N(3_600_000_000) },
		"low and max": func() int64 { return []int64{1, 3_600_000_000}[r.IntN(2)] },
	}
	for name, draw := range shapes {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 7, 5000} {
				h := NewHist()
				for i := 0; i < n; i++ {
					if err := h.RecordValue(draw()); err != nil {
						t.Fatal(err)
					}
				}
				// a big count, to exercise long varints
				h.RecordValues(42_000, 1<<40)
				p := hdrhistogram.NewPacked(1, 3_600_000_000, 2)
				p.MergeFrom(h)
				got, err := hdrhistogram.Decode([]byte(e.encode(p)))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if !got.Equals(h) {
					t.Fatalf("n=%d: decoded histogram differs: total %d vs %d, max %d vs %d", n, got.TotalCount(), h.TotalCount(), got.Max(), h.Max())
				}
				lib, err := hdrhistogram.Decode([]byte(EncodeHist(h)))
				if err != nil || !lib.Equals(got) {
					t.Fatalf("n=%d: the library's encoding decodes differently (%v)", n, err)
				}
			}
		})
	}
}

// BenchmarkHistEncode compares the window encoder with the library's.
func BenchmarkHistEncode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHist()
	for i := 0; i < 10000; i++ {
		h.RecordValue(int64(15000 * r.ExpFloat64()))
	}
	p := hdrhistogram.NewPacked(1, 3_600_000_000, 2)
	p.MergeFrom(h)
	b.Run("window-encoder", func(b *testing.B) {
		e := newHistEncoder()
		for i := 0; i < b.N; i++ {
			e.encode(p)
		}
	})
	b.Run("library", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := p.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
