package node

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/stripelab/stripelab/scenarios"
)

// Slow is a role's /admin/slow factor: the times it spends serving (a
// service's service times, the gateway's routing cost) are multiplied by
// it. The zero value is 1, normal speed. It is safe for concurrent use.
type Slow struct{ bits atomic.Uint64 }

// Factor is the current factor.
func (s *Slow) Factor() float64 {
	if b := s.bits.Load(); b != 0 {
		return math.Float64frombits(b)
	}
	return 1
}

// ServeHTTP is the admin handler POST /admin/slow?factor=F: it sets the
// factor to F, or answers 400 with the problem when F is not a factor.
func (s *Slow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFactor(r.URL.Query().Get("factor"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.bits.Store(math.Float64bits(f))
	fmt.Fprintf(w, "factor %g\n", f)
}

// ParseFactor reads a slow factor: a positive finite number, 1 = normal speed.
func ParseFactor(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) || f > 1e6 {
		return 0, fmt.Errorf("factor: want a number above 0 and at most 1e6 (1 reverts), got %q", s)
	}
	return f, nil
}

// Stream is instance inst's random stream id, derived from the run's seed
// (Config.Seed): each concern of an instance draws from its own.
func Stream(seed uint64, inst, id int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, scenarios.Mix64(uint64(inst)<<8|uint64(id))))
}
