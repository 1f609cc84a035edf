package analysis

import (
	"image/color"
	"math"
	"sort"
	"strconv"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/stripelab/stripelab/reports"
)

// chart is one figure to render, built lazily.
type chart struct {
	name string
	fn   func() (*plot.Plot, error)
}

func renderAll(charts []chart) ([]reports.Figure, error) {
	var out []reports.Figure
	for _, c := range charts {
		p, err := c.fn()
		if err != nil {
			return nil, errors.Wrapf(err, "plot %s", c.name)
		}
		fig, err := reports.RenderFigure(c.name, p)
		if err != nil {
			return nil, errors.Wrapf(err, "render %s", c.name)
		}
		out = append(out, fig)
	}
	return out, nil
}

func seriesColor(i int) color.Color { return reports.SeriesColors[i%len(reports.SeriesColors)] }

// bars is a grouped bar chart: one group per category on the x axis, one
// bar per series in each group. values[s][g] is series s in group g.
type bars struct {
	title, xlabel, ylabel string
	groups, series        []string
	values                [][]float64
	// ymin is the bottom of the y axis (0 unless set), ymax at least this.
	ymin, ymax float64
	// highlight, when >= 0, draws group highlight's bars with a black edge.
	highlight int
}

func (b bars) plot() (*plot.Plot, error) {
	p := reports.NewChart(b.title, b.xlabel, b.ylabel)
	n := len(b.series)
	groupW := (10*vg.Inch - vg.Points(120)) / vg.Length(max(len(b.groups), 1))
	w := min(groupW*0.8/vg.Length(max(n, 1)), vg.Points(60))
	hi := b.ymax
	for s := range b.values {
		vals := make(plotter.Values, len(b.groups))
		for g := range b.groups {
			vals[g] = finite(b.values[s][g])
			hi = max(hi, vals[g])
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bc.Color = seriesColor(s)
		bc.LineStyle.Width = 0
		bc.Offset = vg.Length(float64(s)-float64(n-1)/2) * w
		p.Add(bc)
		if n > 1 {
			p.Legend.Add(b.series[s], reports.Swatch(seriesColor(s)))
		}
	}
	if b.highlight >= 0 {
		p.Add(highlightGroup(b.highlight, groupW))
	}
	p.NominalX(b.groups...)
	p.Y.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max = -0.5, float64(len(b.groups))-0.5
	p.Y.Min = b.ymin
	p.Y.Max = b.ymin + (max(hi, b.ymin+1e-9)-b.ymin)*1.08 // the legend is beside the plot
	return p, nil
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// highlightGroup draws a dashed box around one group of bars.
type groupBox struct {
	g     int
	width vg.Length
}

func highlightGroup(g int, w vg.Length) plot.Plotter { return groupBox{g, w} }

func (h groupBox) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(float64(h.g))
	half := h.width * 0.46
	pts := []vg.Point{{X: x - half, Y: c.Min.Y}, {X: x + half, Y: c.Min.Y}, {X: x + half, Y: c.Max.Y}, {X: x - half, Y: c.Max.Y}, {X: x - half, Y: c.Min.Y}}
	c.StrokeLines(draw.LineStyle{Color: color.NRGBA{0, 0, 0, 200}, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}, pts)
}

// dots is a dot chart: one group per category on the x axis, one point
// per series in each group, side by side. It shows shares close to 100%
// (availability), where bars mislead either way: from zero the
// differences vanish, and from a cut axis their lengths lie. Its axis
// ends at ymax (100%), never above.
type dots struct {
	title, xlabel, ylabel string
	groups, series        []string
	values                [][]float64 // values[s][g]
	ymax                  float64
	// objective, when > 0, is drawn as a dashed line named objectiveName.
	objective     float64
	objectiveName string
	highlight     int
}

var dotShapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}}

func (d dots) plot() (*plot.Plot, error) {
	p := reports.NewChart(d.title, d.xlabel, d.ylabel)
	lo := d.ymax
	for _, vs := range d.values {
		for _, v := range vs {
			lo = min(lo, finite(v))
		}
	}
	if d.objective > 0 {
		lo = min(lo, d.objective)
	}
	pad := max((d.ymax-lo)*0.08, 0.05)
	p.Y.Min, p.Y.Max = max(0, lo-pad), d.ymax+min(pad*0.25, 0.5) // room for a dot at the top, no more
	p.Y.Tick.Marker = upTo{d.ymax}
	p.X.Min, p.X.Max = -0.5, float64(len(d.groups))-0.5
	p.NominalX(d.groups...)
	if d.objective > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: d.objective}, {X: p.X.Max, Y: d.objective}})
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: color.NRGBA{213, 94, 0, 255}, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(6), vg.Points(4)}}
		p.Add(l)
		p.Legend.Add(d.objectiveName, l)
	}
	if d.highlight >= 0 {
		p.Add(highlightGroup(d.highlight, (10*vg.Inch-vg.Points(260))/vg.Length(max(len(d.groups), 1))))
	}
	n := len(d.series)
	for s, vs := range d.values {
		xys := make(plotter.XYs, len(vs))
		for g, v := range vs {
			xys[g] = plotter.XY{X: float64(g) + (float64(s)-float64(n-1)/2)*min(0.6/float64(max(n, 1)), 0.15), Y: finite(v)}
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: seriesColor(s), Radius: vg.Points(5), Shape: dotShapes[s%len(dotShapes)]}
		p.Add(sc)
		p.Legend.Add(d.series[s], sc)
	}
	return p, nil
}

// upTo is niceTicks without the ticks above max (an axis of shares that
// leaves a little room above 100% labels nothing there).
type upTo struct{ max float64 }

func (u upTo) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (niceTicks{}).Ticks(lo, min(hi, u.max)) {
		if t.Value <= u.max+1e-9 {
			out = append(out, t)
		}
	}
	return out
}

// curve is a line chart of probes: y against offered rate, one series
// per search, with vertical markers at the limits.
type curve struct {
	title, ylabel string
	series        []string
	points        [][]plotter.XY
	log           bool
	marks         []vmark
	hline         float64 // an objective, drawn dashed when > 0
	hlineName     string
}

type vmark struct {
	name string
	x    float64
	c    color.Color
}

func (cv curve) plot() (*plot.Plot, error) {
	p := reports.NewChart(cv.title, "offered rate (requests per second)", cv.ylabel)
	lo, hi, xhi := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range cv.points {
		for _, pt := range s {
			lo, hi, xhi = min(lo, pt.Y), max(hi, pt.Y), max(xhi, pt.X)
		}
	}
	for _, m := range cv.marks {
		xhi = max(xhi, m.x)
	}
	if cv.hline > 0 {
		lo, hi = min(lo, cv.hline), max(hi, cv.hline)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if cv.log {
		lo, hi = max(lo, 0.01), max(hi, 0.02)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi*1.5)))
	} else {
		pad := max((hi-lo)*0.1, 0.05)
		p.Y.Min, p.Y.Max = max(0, lo-pad), hi+pad
		p.Y.Tick.Marker = niceTicks{}
	}
	p.X.Min, p.X.Max = 0, xhi*1.05
	p.X.Tick.Marker = niceTicks{}
	if cv.hline > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: cv.hline}, {X: xhi * 1.05, Y: cv.hline}})
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: color.NRGBA{213, 94, 0, 255}, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(6), vg.Points(4)}}
		p.Add(l)
		p.Legend.Add(cv.hlineName, l)
	}
	for _, m := range cv.marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.x, Y: p.Y.Min}, {X: m.x, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: m.c, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
		p.Add(l)
		p.Legend.Add(m.name, l)
	}
	for i, s := range cv.points {
		if len(s) == 0 {
			continue
		}
		xys := append(plotter.XYs(nil), s...)
		sort.SliceStable(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		lp, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		lp.LineStyle = draw.LineStyle{Color: seriesColor(i), Width: vg.Points(1.6)}
		sc.GlyphStyle = draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(lp, sc)
		p.Legend.Add(cv.series[i], lp, sc)
	}
	return p, nil
}

// niceTicks labels about six round values (1, 2 or 5 times a power of
// ten apart), more than gonum's default gives on short axes.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: trimZeros(strconvFloat(lo))}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		x := math.Round(v/step) * step
		out = append(out, plot.Tick{Value: x, Label: trimZeros(strconvFloat(x))})
	}
	return out
}

func strconvFloat(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
