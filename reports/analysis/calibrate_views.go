package analysis

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/stripelab/stripelab/reports"
)

// Write writes calibration.json, report.html, report.md and the overlay
// plots into dir.
func (c *Calibration) Write(dir string) error {
	figs, err := renderAll(c.charts())
	if err != nil {
		return err
	}
	return writeAll(dir, FileCalibration, c, c.page(), figs)
}

func (c *Calibration) page() *page {
	t := c.Tolerance
	fit := "none: the scenario as written"
	if len(c.Fit) > 0 {
		fit = strings.Join(c.Fit, "; ")
	}
	pg := &page{
		Title:   "stripelab calibrate: " + c.Scenario,
		Reading: upperFirst(c.Reading),
		Facts: []fact{
			{"Scenario", c.File}, {"Seed", strconv.FormatUint(c.Seed, 10)},
			{"Backends", "sim against " + c.RealBackend},
			{"Host overheads in the simulation", fit},
			{"Tolerances", "latency " + pctText(t.Latency) + ", availability " + pointsText(t.Availability) +
				" (" + pointsText(t.AvailabilityInFault) + " in a fault), fault times " + pctText(t.Time) + " or " +
				reports.FormatLatency(t.TimeAbs) + ", " + pctText(t.Windows) + " of the windows' percentiles"},
			{"Out of tolerance", strconv.Itoa(c.Out) + " of " + strconv.Itoa(len(c.Gaps))},
		},
		Notes: []string{"Difference is simulated minus real: points for availability and shares, time for latency and fault times. " +
			"A fault time of never means the milestone did not happen in that run. Windows compare percentiles only where both runs served at least " +
			strconv.Itoa(minWindowCount) + " requests after warm-up."},
	}
	if c.RealIncomplete {
		pg.Stopped = "the real run stopped before its end"
	}
	sec := section{ID: "gaps", Title: "Simulated against real", Head: []string{"measure", "scope", "simulated", "real", "difference", "tolerance", "within"}}
	for _, g := range c.Gaps {
		r := row{Cells: []cell{txt(g.Measure), txt(g.Scope), txt(gapValue(g.Kind, g.Sim)), txt(gapValue(g.Kind, g.Real)),
			txt(gapDiff(g)), {Text: g.Rule, Detail: g.Detail}, txt(yesNo(g.Within))}}
		if g.Kind == "share" && g.Scope == "per window" {
			r.Cells[3] = txt("")
		}
		if !g.Within {
			r.Class = "fail"
		}
		sec.Rows = append(sec.Rows, r)
	}
	pg.Sections = append(pg.Sections, sec)
	return pg
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func gapValue(kind string, v float64) string {
	switch kind {
	case "availability", "share":
		return reports.FormatPercent(v)
	case "latency", "time":
		return reports.FormatLatency(int64(v))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func gapDiff(g Gap) string {
	switch g.Kind {
	case "availability":
		return signed(g.Diff*100, 2) + " points"
	case "share":
		if g.Scope == "per window" {
			return ""
		}
		return signed(g.Diff*100, 2) + " points"
	case "latency", "time":
		if g.Sim < 0 || g.Real < 0 {
			return ""
		}
		s := "+"
		if g.Diff < 0 {
			s = "-"
		}
		return s + reports.FormatLatency(int64(math.Abs(g.Diff)))
	}
	return signed(g.Diff, 0)
}

func signed(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

var (
	colSim  = reports.SeriesColors[0]
	colReal = reports.SeriesColors[1]
)

func (c *Calibration) charts() []chart {
	return []chart{
		{"availability", func() (*plot.Plot, error) {
			return c.overlay("Availability per window, simulated and real", "availability (% served)", func(w WindowPair) (float64, float64, bool) {
				return w.SimAvail * 100, w.RealAvail * 100, w.SimOffered > 0 && w.RealOffered > 0
			})
		}},
		{"latency-p50", func() (*plot.Plot, error) {
			return c.overlay("p50 latency per window, simulated and real", "p50 latency (ms)", func(w WindowPair) (float64, float64, bool) {
				return float64(w.SimP50) / 1e6, float64(w.RealP50) / 1e6, w.SimP50 > 0 && w.RealP50 > 0
			})
		}},
		{"latency-p99", func() (*plot.Plot, error) {
			return c.overlay("p99 latency per window, simulated and real", "p99 latency (ms)", func(w WindowPair) (float64, float64, bool) {
				return float64(w.SimP99) / 1e6, float64(w.RealP99) / 1e6, w.SimP99 > 0 && w.RealP99 > 0
			})
		}},
	}
}

// overlay draws the two runs' series per window with the fault windows
// shaded behind them.
func (c *Calibration) overlay(title, ylabel string, val func(WindowPair) (float64, float64, bool)) (*plot.Plot, error) {
	p := reports.NewChart(title, "run time (s)", ylabel)
	var sim, real plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, w := range c.Windows {
		s, r, ok := val(w)
		if !ok {
			continue
		}
		x := float64(w.Start+c.WindowNS/2) / 1e9
		sim = append(sim, plotter.XY{X: x, Y: s})
		real = append(real, plotter.XY{X: x, Y: r})
		lo, hi = min(lo, s, r), max(hi, s, r)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	pad := max((hi-lo)*0.1, 0.5)
	p.Y.Min, p.Y.Max = max(0, lo-pad), hi+pad
	p.X.Min, p.X.Max = 0, float64(c.DurationNS)/1e9
	p.X.Tick.Marker = niceTicks{}
	for _, f := range c.Faults {
		end := f.End
		if end <= f.Start {
			end = c.DurationNS
		}
		x0, x1 := float64(f.Start)/1e9, float64(end)/1e9
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: p.Y.Min}, {X: x1, Y: p.Y.Min}, {X: x1, Y: p.Y.Max}, {X: x0, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		poly.Color = color.NRGBA{213, 94, 0, 40}
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	if len(c.Faults) > 0 {
		p.Legend.Add("fault windows", reports.Swatch(color.NRGBA{213, 94, 0, 70}))
	}
	for _, s := range []struct {
		name string
		xys  plotter.XYs
		c    color.Color
		dash []vg.Length
	}{{"simulated", sim, colSim, nil}, {"real (" + c.RealBackend + ")", real, colReal, []vg.Length{vg.Points(5), vg.Points(3)}}} {
		if len(s.xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: s.c, Width: vg.Points(1.6), Dashes: s.dash}
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return p, nil
}

// CalibrationIndex is the index a calibration suite writes over its scenarios.
type CalibrationIndex struct {
	Backend string             `json:"backend"`
	Entries []CalibrationEntry `json:"entries"`
}

// CalibrationEntry is one scenario of a calibration suite.
type CalibrationEntry struct {
	Scenario  string   `json:"scenario"`
	Dir       string   `json:"dir"`
	Out       int      `json:"out_of_tolerance"`
	Gaps      int      `json:"gaps"`
	Untrusted []string `json:"untrusted"`
	Error     string   `json:"error,omitempty"`
}

// FileCalibrationIndex is the index file of a calibration suite.
const FileCalibrationIndex = "calibration-index.json"

// Write writes the index as JSON, report.html and report.md into dir.
func (ix *CalibrationIndex) Write(dir string) error {
	pg := &page{Title: "stripelab calibrate: " + strconv.Itoa(len(ix.Entries)) + " scenarios against " + ix.Backend}
	out := 0
	sec := section{ID: "index", Title: "Scenarios", Head: []string{"scenario", "out of tolerance", "not to be trusted on"}}
	for _, e := range ix.Entries {
		r := row{Cells: []cell{{Text: e.Scenario, Link: e.Dir + "/report.html"}, txt(strconv.Itoa(e.Out) + " of " + strconv.Itoa(e.Gaps)), txt(strings.Join(e.Untrusted, ", "))}}
		if e.Error != "" {
			r.Cells[1], r.Cells[2] = txt("not run"), txt(e.Error)
		}
		if e.Out > 0 || e.Error != "" {
			r.Class = "fail"
			out++
		}
		sec.Rows = append(sec.Rows, r)
	}
	pg.Reading = strconv.Itoa(len(ix.Entries)-out) + " of " + strconv.Itoa(len(ix.Entries)) + " scenarios within every tolerance"
	pg.Sections = []section{sec}
	return writeAll(dir, FileCalibrationIndex, ix, pg, nil)
}
