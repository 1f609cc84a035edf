package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// num is a chart value; NaN (no data in the window) is written as null,
// which the charts draw as a gap.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(n), 'g', 6, 64), nil
}

var none = num(math.NaN())

// band is a span of run time shaded on the charts.
type band struct {
	Name    string  `json:"name"`
	StartS  float64 `json:"start_s"`
	EndS    float64 `json:"end_s"`
	Kind    string  `json:"kind"`
	Target  string  `json:"target,omitempty"`
	RTO     string  `json:"rto,omitempty"`
	Verdict string  `json:"verdict,omitempty"`
}

// named is one chart line.
type named struct {
	Name   string `json:"name"`
	Values []num  `json:"values"`
}

// series is everything the charts of one run draw, per window, with
// times in seconds of run time.
type series struct {
	ID        string  `json:"id"`
	Scenario  string  `json:"scenario"`
	Label     string  `json:"label"`
	WindowS   float64 `json:"window_s"`
	WarmupS   float64 `json:"warmup_s"`
	DurationS float64 `json:"duration_s"`
	Bands     []band  `json:"bands"`
	T         []num   `json:"t"`
	// Latency of successful requests in ms; availability in %; throughput
	// and failures in requests per second.
	Latency      []named `json:"latency_ms"`
	Availability []named `json:"availability_pct"`
	Throughput   []named `json:"throughput_per_s"`
	Failures     []named `json:"failures_per_s"`
}

func (s *Server) handleSeries(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("run")
	res, _, err := s.cat.result(id)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no run " + strconv.Quote(id)})
		return
	}
	writeJSON(w, http.StatusOK, newSeries(id, res))
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

func newSeries(id string, res *reports.Result) series {
	s := series{ID: id, Scenario: res.Scenario, Label: id, WindowS: seconds(res.WindowNS),
		WarmupS: seconds(res.WarmupNS), DurationS: seconds(res.DurationNS)}
	if res.WarmupNS > 0 {
		s.Bands = append(s.Bands, band{Name: "warm-up", Kind: "warmup", StartS: 0, EndS: s.WarmupS})
	}
	for i, f := range res.Faults {
		b := band{Name: f.Name, Kind: "fault", Target: f.Target, StartS: seconds(f.Start), EndS: seconds(f.End)}
		if i < len(res.Measures.Faults) {
			b.RTO = reports.FormatLatency(res.Measures.Faults[i].RTO)
		}
		s.Bands = append(s.Bands, b)
	}
	n := len(res.Windows)
	s.T = make([]num, n)
	lat := newNamed([]string{"p50", "p90", "p99", "p99.9"}, n)
	avail := newNamed(append([]string{"overall"}, scenarios.PriorityNames[:]...), n)
	thr := newNamed([]string{"offered", "served"}, n)
	fail := newNamed(reports.OutcomeNames[1:], n)
	per := seconds(res.WindowNS)
	for i := range res.Windows {
		w := &res.Windows[i]
		s.T[i] = num(seconds(w.Start))
		windowLatency(lat, i, &w.Latency)
		avail[0].Values[i] = availability(&w.Counts)
		for k := range w.ByPriority {
			avail[1+k].Values[i] = availability(&w.ByPriority[k])
		}
		thr[0].Values[i] = num(float64(w.Counts.Offered) / per)
		thr[1].Values[i] = num(float64(w.Counts.OK()) / per)
		for o := 1; o < int(reports.NumOutcomes); o++ {
			fail[o-1].Values[i] = num(float64(w.Counts.Outcomes[o]) / per)
		}
	}
	s.Latency, s.Availability, s.Throughput, s.Failures = lat, avail, thr, fail
	return s
}

func newNamed(names []string, n int) []named {
	out := make([]named, len(names))
	for i, name := range names {
		out[i] = named{Name: name, Values: make([]num, n)}
	}
	return out
}

func windowLatency(lat []named, i int, l *reports.Latency) {
	if l.Count == 0 {
		for k := range lat {
			lat[k].Values[i] = none
		}
		return
	}
	for k, v := range []int64{l.P50, l.P90, l.P99, l.P999} {
		lat[k].Values[i] = num(float64(v) / 1e6)
	}
}

// availability is a window's availability in percent, or none when
// nothing was offered (the window neither fails nor holds).
func availability(c *reports.Counts) num {
	if c.Offered == 0 {
		return none
	}
	return num(100 * c.Availability())
}
