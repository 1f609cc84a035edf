package reports

import (
	"bytes"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/pkg/errors"
	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one rendered plot: Name is the file stem under plots/.
type Figure struct {
	Name  string
	Title string
	PNG   []byte
	SVG   []byte
}

// Plot sizes and resolution: 10 x 4.8 inches, PNG at 120 dpi (1200 x 576
// pixels), so that text stays readable when a report scales it down.
const (
	plotW   = 10 * vg.Inch
	plotH   = 4.8 * vg.Inch
	plotDPI = 120
)

// Colours: the Okabe-Ito palette, readable by colour-blind people.
var (
	colBlack   = color.NRGBA{0, 0, 0, 255}
	colOrange  = color.NRGBA{230, 159, 0, 255}
	colSky     = color.NRGBA{86, 180, 233, 255}
	colGreen   = color.NRGBA{0, 158, 115, 255}
	colYellow  = color.NRGBA{240, 228, 66, 255}
	colBlue    = color.NRGBA{0, 114, 178, 255}
	colVermil  = color.NRGBA{213, 94, 0, 255}
	colPurple  = color.NRGBA{204, 121, 167, 255}
	colGrey    = color.NRGBA{120, 120, 120, 255}
	colFault   = color.NRGBA{213, 94, 0, 38}
	colWarmup  = color.NRGBA{120, 120, 120, 30}
	colFaultLn = color.NRGBA{150, 50, 0, 255}
)

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

// RenderPlots draws every plot of a result as PNG and SVG, in a fixed
// order: latency, availability, throughput, failures, sets, then one
// failover timeline per fault that has detection, reroute or failover
// times. res.Measures is used for RTO markers when present.
func RenderPlots(res *Result) ([]Figure, error) {
	if len(res.Windows) == 0 {
		return nil, nil
	}
	f := newFigures(res)
	type mk struct {
		name string
		fn   func() (*plot.Plot, error)
	}
	list := []mk{
		{"latency", f.latency}, {"availability", f.availability}, {"throughput", f.throughput},
		{"failures", f.failures}, {"sets", f.sets},
	}
	for i := range res.Faults {
		if fi := &res.Faults[i]; fi.Detected >= 0 || fi.Rerouted >= 0 || fi.FailoverDone >= 0 {
			list = append(list, mk{"failover-" + itoa(i), func() (*plot.Plot, error) { return f.failover(i) }})
		}
	}
	var out []Figure
	for _, m := range list {
		p, err := m.fn()
		if err != nil {
			return nil, errors.Wrapf(err, "plot %s", m.name)
		}
		fig, err := render(m.name, p)
		if err != nil {
			return nil, errors.Wrapf(err, "render %s", m.name)
		}
		out = append(out, fig)
	}
	return out, nil
}

func render(name string, p *plot.Plot) (Figure, error) {
	fig := Figure{Name: name, Title: p.Title.Text}
	img := vgimg.NewWith(vgimg.UseWH(plotW, plotH), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(img))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return fig, err
	}
	fig.PNG = bytes.Clone(b.Bytes())
	b.Reset()
	svg := vgsvg.New(plotW, plotH)
	p.Draw(draw.New(svg))
	if _, err := svg.WriteTo(&b); err != nil {
		return fig, err
	}
	fig.SVG = b.Bytes()
	return fig, nil
}

// WritePlots writes each figure as dir/NAME.png and dir/NAME.svg.
func WritePlots(dir string, figs []Figure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrap(err, "plots")
	}
	for _, f := range figs {
		for ext, b := range map[string][]byte{".png": f.PNG, ".svg": f.SVG} {
			if err := os.WriteFile(filepath.Join(dir, f.Name+ext), b, 0o644); err != nil {
				return errors.Wrap(err, "plots")
			}
		}
	}
	return nil
}

// figures builds the plots of one result on a shared time axis.
type figures struct {
	res        *Result
	unit       float64 // ns per x unit
	unitName   string
	fromNS     int64
	toNS       int64
	start, end float64 // the time shown, in x units
	xmax       float64 // the axis goes further, to leave room for the legend
}

func newFigures(res *Result) *figures {
	last := res.Windows[len(res.Windows)-1].Start + res.WindowNS
	end := min(last, max(res.DurationNS, res.Windows[len(res.Windows)-1].Start+1))
	return (&figures{res: res}).zoom(0, end)
}

// zoom is the same result shown over [from, to) ns, in seconds or minutes.
func (f *figures) zoom(from, to int64) *figures {
	g := &figures{res: f.res, unit: 1e9, unitName: "s", fromNS: from, toNS: to}
	if to-from > 15*60*1e9 {
		g.unit, g.unitName = 60e9, "min"
	}
	g.start, g.end = g.x(from), g.x(to)
	return g
}

func (f *figures) x(ns int64) float64 { return float64(ns) / f.unit }

// mid is the x of the middle of window i.
func (f *figures) mid(i int) float64 {
	return f.x(f.res.Windows[i].Start + f.res.WindowNS/2)
}

func style(fnt font.Font, size vg.Length) text.Style {
	return text.Style{Color: colBlack, Font: font.From(fnt, size), Handler: plot.DefaultTextHandler}
}

// base makes a titled plot with labelled axes, a grid, readable fonts and
// a legend at the top right, in a margin kept free of data.
func (f *figures) base(title, ylabel string, legend []string) *plot.Plot {
	p := NewChart(title, "time since start of run ("+f.unitName+")", ylabel)
	p.Legend.YOffs = -vg.Points(4)
	f.xmax = f.start + (f.end-f.start)/(1-f.legendShare(p, legend))
	p.X.Min, p.X.Max = f.start, f.xmax
	p.X.Tick.Marker = upTo{min: f.start, max: f.end}
	return p
}

// legendShare is the share of the x axis to keep free for the legend.
func (f *figures) legendShare(p *plot.Plot, legend []string) float64 {
	w := vg.Length(0)
	for _, s := range legend {
		w = max(w, p.Legend.TextStyle.Width(s))
	}
	w += p.Legend.ThumbnailWidth + vg.Points(16)
	return min(float64(w/(plotW-vg.Points(80))), 0.4)
}

// upTo is the default ticker without the ticks outside the time shown.
type upTo struct{ min, max float64 }

func (u upTo) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(u.min, u.max) {
		if t.Value <= u.max+1e-9 && t.Value >= u.min-1e-9 {
			out = append(out, t)
		}
	}
	return out
}

// trimmedTicks are the default ticks with their labels' trailing zeros
// removed (100 rather than 100.00).
type trimmedTicks struct{}

func (trimmedTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := (plot.DefaultTicks{}).Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = trimFloat(ts[i].Value, 6)
		}
	}
	return ts
}

// yAt is the y value at share frac of the axis height.
func yAt(p *plot.Plot, frac float64) float64 {
	if _, log := p.Y.Scale.(plot.LogScale); log {
		return math.Exp(math.Log(p.Y.Min) + frac*(math.Log(p.Y.Max)-math.Log(p.Y.Min)))
	}
	return p.Y.Min + frac*(p.Y.Max-p.Y.Min)
}

func rect(x0, x1, y0, y1 float64) plotter.XYs {
	return plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// shade adds the warm-up and the fault windows as translucent rectangles
// spanning the y axis; call it after setting p.Y.Min and p.Y.Max and
// before adding the data. It returns the labels (at the top of the bands,
// or at the bottom when top is false), to add after the data.
func (f *figures) shade(p *plot.Plot, top bool) []plot.Plotter {
	from, to := f.start, f.end
	var bands []plot.Plotter
	var names []string
	var at []float64
	add := func(x0, x1 float64, fill color.Color, edge bool, name string) {
		x0, x1 = max(x0, from), min(x1, to)
		if x1 <= x0 {
			return
		}
		poly, err := plotter.NewPolygon(rect(x0, x1, p.Y.Min, p.Y.Max))
		if err != nil {
			panic(err) // finite values only
		}
		poly.Color = fill
		poly.LineStyle.Width = 0
		if edge {
			poly.LineStyle = draw.LineStyle{Color: color.NRGBA{213, 94, 0, 110}, Width: vg.Points(0.8)}
		}
		bands = append(bands, poly)
		names, at = append(names, name), append(at, x0)
	}
	if f.res.WarmupNS > 0 {
		add(0, f.x(f.res.WarmupNS), colWarmup, false, "warm-up")
	}
	for _, i := range f.faultOrder() {
		fi := &f.res.Faults[i]
		add(f.x(fi.Start), f.x(fi.End), colFault, true, fi.Name)
	}
	p.Add(bands...)
	return f.bandLabels(p, names, at, to-from, top)
}

// faultOrder lists faults by start time (then index).
func (f *figures) faultOrder() []int {
	idx := make([]int, len(f.res.Faults))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return f.res.Faults[idx[a]].Start < f.res.Faults[idx[b]].Start })
	return idx
}

// bandLabels writes names at the top of their bands, moving a label one
// row down when it would run into the previous one.
func (f *figures) bandLabels(p *plot.Plot, names []string, at []float64, span float64, top bool) []plot.Plotter {
	if len(names) == 0 {
		return nil
	}
	st := style(sansFont, 10)
	st.Color = colFaultLn
	st.YAlign = draw.YTop
	if !top {
		st.YAlign = draw.YBottom
	}
	perPt := span / float64(plotW-vg.Points(80))
	var xys plotter.XYs
	var rows []float64
	ends := []float64{}
	for i, n := range names {
		row := 0
		for row < len(ends) && at[i] < ends[row] {
			row++
		}
		if row == len(ends) {
			ends = append(ends, 0)
		}
		ends[row] = at[i] + float64(st.Width(n)+vg.Points(8))*perPt
		rows = append(rows, float64(row))
		xys = append(xys, plotter.XY{X: at[i], Y: 0})
	}
	for i := range xys {
		if top {
			xys[i].Y = yAt(p, 0.985-0.075*math.Mod(rows[i], 4))
		} else {
			xys[i].Y = yAt(p, 0.015+0.075*math.Mod(rows[i], 4))
		}
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: names})
	if err != nil {
		panic(err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i] = st
	}
	l.Offset = vg.Point{X: vg.Points(3)}
	return []plot.Plotter{plainLabels{l}}
}

// plainLabels draws labels without claiming glyph boxes, so that labels
// inside the data area do not make gonum shrink it.
type plainLabels struct{ l *plotter.Labels }

func (p plainLabels) Plot(c draw.Canvas, plt *plot.Plot) { p.l.Plot(c, plt) }

func line(xys plotter.XYs, c color.Color, width float64, dashes ...vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: dashes}
	return l, nil
}

// hline is a horizontal dashed line across the run, for an objective.
func (f *figures) hline(y float64, c color.Color) (*plotter.Line, error) {
	return line(plotter.XYs{{X: f.start, Y: y}, {X: f.end, Y: y}}, c, 1.2, vg.Points(6), vg.Points(4))
}
