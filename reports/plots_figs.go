package reports

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// windows lists the windows overlapping the time shown.
func (f *figures) windows() []int {
	var out []int
	for i := range f.res.Windows {
		ws := f.res.Windows[i].Start
		if ws < f.toNS && ws+f.res.WindowNS > f.fromNS {
			out = append(out, i)
		}
	}
	return out
}

// seconds is the length of window i in seconds (the last may be cut short).
func (f *figures) seconds(i int) float64 {
	ws := f.res.Windows[i].Start
	end := ws + f.res.WindowNS
	if f.res.DurationNS > ws {
		end = min(end, f.res.DurationNS)
	}
	return float64(end-ws) / 1e9
}

var (
	latencyKeys   = []string{"p50", "p90", "p99", "p99.9"}
	latencyColors = []color.Color{colGreen, colBlue, colOrange, colVermil}
	classColors   = [NumPriorities]color.Color{colBlue, colGreen, colOrange}
)

func (f *figures) latency() (*chart, error) {
	series := make([]plotter.XYs, len(latencyKeys))
	lo, hi := math.Inf(1), 0.0
	for _, i := range f.windows() {
		l := &f.res.Windows[i].Latency
		if l.Count == 0 {
			continue
		}
		for k, key := range latencyKeys {
			q, _ := l.Quantile(key)
			v := max(float64(q)/1e6, 0.001)
			series[k] = append(series[k], plotter.XY{X: f.mid(i), Y: v})
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	objectives := percentileKeys(f.res.SLO.Latency)
	kept := objectives[:0]
	for _, key := range objectives {
		if f.res.SLO.Latency[key] <= 0 {
			continue // no line on a log axis
		}
		kept = append(kept, key)
		v := max(float64(f.res.SLO.Latency[key])/1e6, 0.001)
		lo, hi = min(lo, v), max(hi, v)
	}
	objectives = kept
	p := f.base("Latency of successful requests, per window", "latency (ms, log scale)")
	if hi == 0 {
		lo, hi = 1, 1000
	}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Y.Min, p.Y.Max = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi*1.15)))
	f.shade(p)
	for _, key := range objectives {
		k := indexOf(latencyKeys, key)
		c := color.Color(colGrey)
		if k >= 0 {
			c = latencyColors[k]
		}
		l, err := f.hline(max(float64(f.res.SLO.Latency[key])/1e6, 0.001), c)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(key+" objective "+FormatLatency(int64(f.res.SLO.Latency[key])), l)
	}
	for k, s := range series {
		if len(s) == 0 {
			continue
		}
		l, err := line(s, latencyColors[k], 1.6)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(latencyKeys[k], l)
	}
	return p, nil
}

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// logTicks labels every decade, and 2 and 5 times it when the axis spans
// at most three decades.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	few := math.Log10(hi/lo) <= 3.01
	for d := math.Floor(math.Log10(lo)); math.Pow(10, d) <= hi*1.0001; d++ {
		base := math.Pow(10, d)
		for m := 1.0; m < 10; m++ {
			v := m * base
			if v < lo*0.9999 || v > hi*1.0001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || few && (m == 2 || m == 5) {
				t.Label = trimFloat(v, 3)
			}
			out = append(out, t)
		}
	}
	return out
}

// availabilityRange picks a y range (in %) that shows the lowest value and
// the objective with some room.
func availabilityRange(lo, objective float64) (float64, float64) {
	lo = min(lo, objective*100, 100)
	pad := max((100-lo)*0.08, 0.05)
	return max(0, lo-pad), 100 + pad*0.6
}

func (f *figures) availability() (*chart, error) {
	var all plotter.XYs
	var classes [NumPriorities]plotter.XYs
	lo := 100.0
	for _, i := range f.windows() {
		w := &f.res.Windows[i]
		if w.Counts.Offered > 0 {
			all = append(all, plotter.XY{X: f.mid(i), Y: 100 * w.Counts.Availability()})
			lo = min(lo, all[len(all)-1].Y)
		}
		for k := range w.ByPriority {
			if c := &w.ByPriority[k]; c.Offered > 0 {
				classes[k] = append(classes[k], plotter.XY{X: f.mid(i), Y: 100 * c.Availability()})
				lo = min(lo, 100*c.Availability())
			}
		}
	}
	obj := f.objective()
	objName := "objective " + trimFloat(obj*100, 4) + "%"
	p := f.base("Availability per window, overall and by priority", "availability (% served)")
	p.Y.Min, p.Y.Max = availabilityRange(lo, obj)
	f.shade(p)
	ol, err := f.hline(obj*100, colVermil)
	if err != nil {
		return nil, err
	}
	p.Add(ol)
	for k := range classes {
		if len(classes[k]) == 0 {
			continue
		}
		l, err := line(classes[k], classColors[k], 1.2)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(priorityName(k)+" priority", l)
	}
	if len(all) > 0 {
		l, err := line(all, colBlack, 2)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("all requests", l)
	}
	p.Legend.Add(objName, ol)
	return p, nil
}

// objective is the availability objective of the result.
func (f *figures) objective() float64 {
	if f.res.Measures != nil && f.res.Measures.AvailabilityObjective > 0 {
		return f.res.Measures.AvailabilityObjective
	}
	if f.res.SLO.Availability > 0 {
		return float64(f.res.SLO.Availability)
	}
	return DefaultAvailabilityObjective
}

func (f *figures) throughput() (*chart, error) {
	var offered, served plotter.XYs
	hi := 0.0
	for _, i := range f.windows() {
		w := &f.res.Windows[i]
		s := f.seconds(i)
		offered = append(offered, plotter.XY{X: f.mid(i), Y: float64(w.Counts.Offered) / s})
		served = append(served, plotter.XY{X: f.mid(i), Y: float64(w.Counts.OK()) / s})
		hi = max(hi, float64(w.Counts.Offered)/s)
	}
	p := f.base("Offered and served throughput", "requests per second (req/s)")
	p.Y.Min, p.Y.Max = 0, max(hi*1.08, 1)
	f.shade(p)
	lo, err := line(offered, colGrey, 1.6, vg.Points(5), vg.Points(3))
	if err != nil {
		return nil, err
	}
	ls, err := line(served, colGreen, 1.6)
	if err != nil {
		return nil, err
	}
	p.Add(lo, ls)
	p.Legend.Add("offered", lo)
	p.Legend.Add("served (ok)", ls)
	return p, nil
}

var failureColors = [NumOutcomes]color.Color{nil, colOrange, colYellow, colVermil, colPurple, colSky, colGrey}

func (f *figures) failures() (*chart, error) {
	idx := f.windows()
	var reasons []Outcome
	for o := Outcome(1); o < NumOutcomes; o++ {
		for _, i := range idx {
			if f.res.Windows[i].Counts.Outcomes[o] > 0 {
				reasons = append(reasons, o)
				break
			}
		}
	}
	names := make([]string, len(reasons))
	for k, o := range reasons {
		names[k] = o.String()
	}
	cum := make([]float64, len(idx))
	hi := 0.0
	layers := make([][]float64, len(reasons)+1)
	layers[0] = append([]float64{}, cum...)
	for k, o := range reasons {
		for j, i := range idx {
			cum[j] += float64(f.res.Windows[i].Counts.Outcomes[o]) / f.seconds(i)
			hi = max(hi, cum[j])
		}
		layers[k+1] = append([]float64{}, cum...)
	}
	title := "Failed requests by reason (stacked)"
	if len(reasons) == 0 {
		title += ": none failed"
	}
	p := f.base(title, "failed requests per second (req/s)")
	p.Y.Min, p.Y.Max = 0, max(hi*1.08, 1)
	f.shade(p)
	for k := range reasons {
		poly, err := plotter.NewPolygon(f.stepBand(idx, layers[k], layers[k+1]))
		if err != nil {
			return nil, err
		}
		c := failureColors[reasons[k]].(color.NRGBA)
		c.A = 220
		poly.Color, poly.LineStyle.Width = c, 0
		p.Add(poly)
	}
	for k := len(reasons) - 1; k >= 0; k-- { // the legend reads top down like the stack
		p.Legend.Add(names[k], swatch{failureColors[reasons[k]]})
	}
	return p, nil
}

// stepBand is the outline of a stacked band between two per-window
// series, drawn as steps over each window's extent.
func (f *figures) stepBand(idx []int, lower, upper []float64) plotter.XYs {
	var out plotter.XYs
	for j, i := range idx {
		x0 := f.x(f.res.Windows[i].Start)
		x1 := x0 + f.seconds(i)*1e9/f.unit
		out = append(out, plotter.XY{X: x0, Y: upper[j]}, plotter.XY{X: x1, Y: upper[j]})
	}
	for j := len(idx) - 1; j >= 0; j-- {
		x0 := f.x(f.res.Windows[idx[j]].Start)
		x1 := x0 + f.seconds(idx[j])*1e9/f.unit
		out = append(out, plotter.XY{X: x1, Y: lower[j]}, plotter.XY{X: x0, Y: lower[j]})
	}
	return out
}

// swatch is a legend entry filled with one colour.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	c.FillPolygon(s.c, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

// Availability bands of the set heat map, worst first.
var (
	setBandNames  = []string{"< 90%", "90% to 99%", "99% to 99.9%", "99.9% to 100%", "100% (no failure)"}
	setBandColors = []color.Color{
		color.NRGBA{122, 18, 18, 255}, color.NRGBA{214, 73, 51, 255}, color.NRGBA{244, 162, 89, 255},
		color.NRGBA{250, 226, 140, 255}, color.NRGBA{236, 244, 236, 255},
	}
)

func setBand(a float64) int {
	switch {
	case a >= 1:
		return 4
	case a >= 0.999:
		return 3
	case a >= 0.99:
		return 2
	case a >= 0.9:
		return 1
	}
	return 0
}

// setCells is the heat map of sets over time: one row per set (the first
// on top), one column per window, or per group of windows when there are
// more than maxSetColumns (a group shows its worst window, so that a short
// failure stays visible). It fills the grid with the colour of 100% and
// draws each run of equal cells in a row as one rectangle, so that there
// are no seams between cells and the SVG stays small.
type setCells struct {
	x    []float64 // column edges: column c spans [x[c], x[c+1])
	band [][]int   // [set][column]
}

const maxSetColumns = 800

func (h *setCells) rowY(s int) float64 { return float64(len(h.band) - 1 - s) }

func (h *setCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	fill := func(x0, x1 float64, y0, y1 float64, col color.Color) {
		a, b := vg.Point{X: trX(x0), Y: trY(y0)}, vg.Point{X: trX(x1), Y: trY(y1)}
		c.FillPolygon(col, []vg.Point{a, {X: b.X, Y: a.Y}, b, {X: a.X, Y: b.Y}})
	}
	xmin, xmax, ymin, ymax := h.DataRange()
	fill(xmin, xmax, ymin, ymax, setBandColors[len(setBandColors)-1])
	for s, row := range h.band {
		for c0 := 0; c0 < len(row); {
			c1 := c0
			for c1+1 < len(row) && row[c1+1] == row[c0] {
				c1++
			}
			if b := row[c0]; b < len(setBandColors)-1 {
				fill(h.x[c0], h.x[c1+1], h.rowY(s)-0.5, h.rowY(s)+0.5, setBandColors[b])
			}
			c0 = c1 + 1
		}
	}
}

func (h *setCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return h.x[0], h.x[len(h.x)-1], -0.5, float64(len(h.band)) - 0.5
}

// setCellsOf bands every set's availability in every column.
func (f *figures) setCellsOf(idx []int) *setCells {
	n, per := len(f.res.Sets), (len(idx)+maxSetColumns-1)/maxSetColumns
	cols := (len(idx) + per - 1) / per
	h := &setCells{band: make([][]int, n)}
	for s := range h.band {
		h.band[s] = make([]int, cols)
		for c := range h.band[s] {
			h.band[s][c] = len(setBandColors) - 1
		}
	}
	for j, i := range idx {
		c := j / per
		if j%per == 0 {
			h.x = append(h.x, f.x(f.res.Windows[i].Start))
		}
		for _, sc := range f.res.Windows[i].SetsFailed {
			if sc.Offered > 0 && sc.Set >= 0 && sc.Set < n {
				h.band[sc.Set][c] = min(h.band[sc.Set][c], setBand(float64(sc.Offered-sc.Failed)/float64(sc.Offered)))
			}
		}
	}
	last := idx[len(idx)-1]
	h.x = append(h.x, f.x(f.res.Windows[last].Start)+f.seconds(last)*1e9/f.unit)
	return h
}

func (f *figures) sets() (*chart, error) {
	n := len(f.res.Sets)
	idx := f.windows()
	p := f.base("Availability per set over time", "set")
	p.Y.Min, p.Y.Max = -0.5, float64(max(n, 1))-0.5
	if n == 0 || len(idx) == 0 {
		p.Title.Text += ": no sets"
		return p, nil
	}
	p.Add(f.setCellsOf(idx))
	f.faultOutlines(p)
	p.Y.Tick.Marker = setTicks(f.res.Sets)
	p.Y.Tick.Label.Font.Size = vg.Points(max(7, min(10.5, 300/float64(n))))
	for k := len(setBandNames) - 1; k >= 0; k-- {
		p.Legend.Add(setBandNames[k], swatch{setBandColors[k]})
	}
	return p, nil
}

// setTicks labels the rows with set names, thinned to about 30 labels.
func setTicks(sets []SetInfo) plot.ConstantTicks {
	n := len(sets)
	step := max(1, (n+29)/30)
	var ticks plot.ConstantTicks
	for s := 0; s < n; s++ {
		t := plot.Tick{Value: float64(n - 1 - s)}
		if s%step == 0 {
			t.Label = sets[s].Name
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// faultOutlines draws the bands as dashed outlines (over a heat map,
// which would hide a shaded band) with their labels in the strip.
func (f *figures) faultOutlines(ch *chart) {
	for _, b := range f.bands() {
		poly, err := plotter.NewPolygon(rect(b.x0, b.x1, ch.Y.Min, ch.Y.Max))
		if err != nil {
			panic(err)
		}
		poly.LineStyle = draw.LineStyle{Color: colBlack, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
		if !b.edge {
			poly.LineStyle.Color = colGrey
		}
		ch.Add(poly)
		f.bandLabel(ch, b)
	}
}

// failover zooms on one fault: availability of everyone and of the set it
// hit hardest, with the milestones (detected, rerouted, failover done,
// writes lost, recovered) as glyphs in the strip above the plot, each
// with a line down through the data at its time: milestones at the same
// time stack in the strip instead of hiding each other, and the fault's
// label sits beside them, not on them.
func (f *figures) failover(fi int) (*chart, error) {
	info := &f.res.Faults[fi]
	pad := max(5*f.res.WindowNS, (info.End-info.Start)/10)
	last := info.End
	for _, t := range []int64{info.Detected, info.Rerouted, info.FailoverDone, f.recoveredAt(fi)} {
		last = max(last, t)
	}
	g := f.zoom(max(f.fromNS, info.Start-pad), min(f.toNS, last+pad))
	worstSet := g.worstSet(info)
	var all, set plotter.XYs
	lo := 100.0
	for _, i := range g.windows() {
		w := &g.res.Windows[i]
		if w.Counts.Offered > 0 {
			all = append(all, plotter.XY{X: g.mid(i), Y: 100 * w.Counts.Availability()})
			lo = min(lo, all[len(all)-1].Y)
		}
		if worstSet >= 0 {
			a := setAvailability(w, worstSet)
			set = append(set, plotter.XY{X: g.mid(i), Y: 100 * a})
			lo = min(lo, 100*a)
		}
	}
	names := []string{"all requests"}
	if worstSet >= 0 {
		names = append(names, "set "+f.res.Sets[worstSet].Name+" (hardest hit)")
	}
	p := g.base("Failover timeline: "+info.Name, "availability (% served)")
	p.Y.Min, p.Y.Max = availabilityRange(lo, f.objective())
	g.shade(p)
	ol, err := g.hline(f.objective()*100, colVermil)
	if err != nil {
		return nil, err
	}
	p.Add(ol)
	for k, s := range []plotter.XYs{all, set} {
		if len(s) == 0 {
			continue
		}
		l, err := line(s, []color.Color{colBlack, colSky}[k], []float64{2, 1.6}[k])
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(names[k], l)
	}
	p.Legend.Add("objective "+trimFloat(f.objective()*100, 4)+"%", ol)
	for _, m := range g.failoverMarks(fi) {
		gs := draw.GlyphStyle{Color: m.color, Radius: vg.Points(5), Shape: m.shape}
		p.strip.mark(g.x(m.t), gs)
		p.Legend.Add(m.name, glyphThumb{gs})
	}
	return p, nil
}

// glyphThumb is a legend entry showing one glyph.
type glyphThumb struct{ g draw.GlyphStyle }

func (t glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(t.g, c.Center()) }

// recoveredAt is when fault fi's RTO ended, or -1.
func (f *figures) recoveredAt(fi int) int64 {
	if m := f.res.Measures; m != nil && fi < len(m.Faults) && m.Faults[fi].RTO > 0 {
		return f.res.Faults[fi].Start + m.Faults[fi].RTO
	}
	return -1
}

type mark struct {
	name  string
	t     int64
	color color.Color
	shape draw.GlyphDrawer
}

func (f *figures) failoverMarks(fi int) []mark {
	info := &f.res.Faults[fi]
	var out []mark
	add := func(name string, t int64, c color.Color, s draw.GlyphDrawer) {
		if t >= 0 && f.x(t) >= f.start && f.x(t) <= f.end {
			out = append(out, mark{name + " (+" + FormatLatency(t-info.Start) + ")", t, c, s})
		}
	}
	add("detected", info.Detected, colBlue, draw.TriangleGlyph{})
	add("rerouted", info.Rerouted, colGreen, draw.SquareGlyph{})
	add("failover done", info.FailoverDone, colPurple, draw.CircleGlyph{})
	for _, e := range f.res.Events {
		if e.Kind == EvWritesLost && e.Fault == fi {
			add("writes lost", e.T, colVermil, draw.CrossGlyph{})
			break
		}
	}
	add("recovered (RTO)", f.recoveredAt(fi), colBlack, draw.RingGlyph{})
	return out
}

// worstSet is the set with the lowest availability in a window of the
// fault, or -1 when no set failed then.
func (f *figures) worstSet(info *FaultInfo) int {
	best, low := -1, 2.0
	for _, w := range f.res.Windows {
		if w.Start >= info.End || w.Start+f.res.WindowNS <= info.Start {
			continue
		}
		for _, sc := range w.SetsFailed {
			if a := float64(sc.Offered-sc.Failed) / float64(max(sc.Offered, 1)); a < low || a == low && sc.Set < best {
				best, low = sc.Set, a
			}
		}
	}
	return best
}

func setAvailability(w *Window, set int) float64 {
	for _, sc := range w.SetsFailed {
		if sc.Set == set && sc.Offered > 0 {
			return float64(sc.Offered-sc.Failed) / float64(sc.Offered)
		}
	}
	return 1
}

// commandColors cycle over the commands of the per-command plot.
var commandColors = []color.Color{colBlue, colGreen, colOrange, colPurple, colSky, colYellow, colGrey, colVermil}

// commands is the availability per window split by command (drawn only
// for results with workload.commands).
func (f *figures) commands() (*chart, error) {
	lines := make([]plotter.XYs, len(f.res.Commands))
	lo := 100.0
	for _, i := range f.windows() {
		w := &f.res.Windows[i]
		for k := range w.ByCommand {
			if c := &w.ByCommand[k]; k < len(lines) && c.Offered > 0 {
				lines[k] = append(lines[k], plotter.XY{X: f.mid(i), Y: 100 * c.Availability()})
				lo = min(lo, 100*c.Availability())
			}
		}
	}
	obj := f.objective()
	p := f.base("Availability per window by command", "availability (% served)")
	p.Y.Min, p.Y.Max = availabilityRange(lo, obj)
	f.shade(p)
	ol, err := f.hline(obj*100, colVermil)
	if err != nil {
		return nil, err
	}
	p.Add(ol)
	for k, c := range f.res.Commands {
		if len(lines[k]) == 0 {
			continue
		}
		l, err := line(lines[k], commandColors[k%len(commandColors)], 1.4)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(c.Name+" ("+c.Priority+")", l)
	}
	p.Legend.Add("objective "+trimFloat(obj*100, 4)+"%", ol)
	return p, nil
}
