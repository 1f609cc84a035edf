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
// order: latency, availability, throughput, failures, sets, the instances
// of scaled components (when the run scaled any), then one failover
// timeline per fault that has detection, reroute or failover
// times. res.Measures is used for RTO markers when present.
func RenderPlots(res *Result) ([]Figure, error) {
	if len(res.Windows) == 0 {
		return nil, nil
	}
	f := newFigures(res)
	type mk struct {
		name string
		fn   func() (*chart, error)
	}
	list := []mk{
		{"latency", f.latency}, {"availability", f.availability}, {"throughput", f.throughput},
		{"failures", f.failures}, {"sets", f.sets},
	}
	if len(res.Commands) > 0 {
		list = append(list, mk{"commands", f.commands})
	}
	if res.Scaling != nil && len(res.Scaling.Components) > 0 {
		list = append(list, mk{"instances", f.instances})
	}
	for i := range res.Faults {
		if fi := &res.Faults[i]; fi.Detected >= 0 || fi.Rerouted >= 0 || fi.FailoverDone >= 0 {
			list = append(list, mk{"failover-" + itoa(i), func() (*chart, error) { return f.failover(i) }})
		}
	}
	var out []Figure
	for _, m := range list {
		ch, err := m.fn()
		if err != nil {
			return nil, errors.Wrapf(err, "plot %s", m.name)
		}
		fig, err := render(m.name, ch)
		if err != nil {
			return nil, errors.Wrapf(err, "render %s", m.name)
		}
		out = append(out, fig)
	}
	return out, nil
}

// chart is a plot with what the reports draw around its data area: a
// strip above it for band labels and milestone glyphs, and the legend in a
// column to its right, so that neither covers or stretches the data.
type chart struct {
	*plot.Plot
	strip strip
}

func render(name string, ch *chart) (Figure, error) {
	fig := Figure{Name: name, Title: ch.Title.Text}
	img := vgimg.NewWith(vgimg.UseWH(plotW, plotH), vgimg.UseDPI(plotDPI))
	ch.draw(draw.New(img))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return fig, err
	}
	fig.PNG = bytes.Clone(b.Bytes())
	b.Reset()
	svg := vgsvg.New(plotW, plotH)
	ch.draw(draw.New(svg))
	if _, err := svg.WriteTo(&b); err != nil {
		return fig, err
	}
	fig.SVG = b.Bytes()
	return fig, nil
}

// layout is where a chart's parts go on a canvas.
type layout struct {
	plot, data, legend vg.Rectangle
	stripH             vg.Length
}

// legendGap is the space between the data area and the legend column.
const legendGap = vg.Length(12)

// arrange computes the layout of ch on c: the legend column's width from
// its entries, the data area from the axes, and the strip's rows from the
// data area's width. It leaves ch.Title.Padding raised by the strip's
// height; draw restores it.
func (ch *chart) arrange(c draw.Canvas) layout {
	var l layout
	legW := ch.Legend.Rectangle(c).Size().X
	if legW > 0 {
		legW += 2 * legendGap
	}
	left := draw.Crop(c, 0, -legW, 0, 0)
	l.plot = left.Rectangle
	l.stripH = ch.strip.arrange(ch.Plot, ch.DataCanvas(left))
	ch.Title.Padding += l.stripH
	l.data = ch.DataCanvas(left).Rectangle
	if legW > 0 {
		l.legend = vg.Rectangle{Min: vg.Point{X: left.Max.X + legendGap, Y: c.Min.Y}, Max: vg.Point{X: c.Max.X, Y: l.data.Max.Y}}
	}
	return l
}

// draw draws ch on c: the plot with its strip on the left, the legend
// column on the right, aligned with the top of the data area.
func (ch *chart) draw(c draw.Canvas) layout {
	pad, leg := ch.Title.Padding, ch.Legend
	defer func() { ch.Title.Padding, ch.Legend = pad, leg }()
	l := ch.arrange(c)
	ch.Legend = plot.NewLegend()
	left := c
	left.Rectangle = l.plot
	if !ch.strip.added && len(ch.strip.items) > 0 {
		ch.Add(&ch.strip) // drawn last, over the data
		ch.strip.added = true
	}
	ch.Plot.Draw(left)
	if l.legend.Size().X > 0 {
		leg.Top, leg.Left, leg.XOffs, leg.YOffs = true, true, 0, 0
		lc := c
		lc.Rectangle = l.legend
		leg.Draw(lc)
	}
	return l
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
	start, end float64 // the time shown, in x units: the axis spans exactly that
}

func newFigures(res *Result) *figures {
	last := res.Windows[len(res.Windows)-1].Start + res.WindowNS
	end := min(last, max(res.Reached(), res.Windows[len(res.Windows)-1].Start+1))
	return (&figures{res: res}).zoom(0, end)
}

// minutesFrom is the span from which time is labelled in minutes.
const minutesFrom = 3 * 60 * 1e9

// zoom is the same result shown over [from, to) ns, in seconds, or in
// minutes for spans over three minutes.
func (f *figures) zoom(from, to int64) *figures {
	g := &figures{res: f.res, unit: 1e9, unitName: "s", fromNS: from, toNS: to}
	if to-from > minutesFrom {
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

// base makes a titled chart with labelled axes, a grid and readable
// fonts, whose time axis spans exactly the time shown, with about ten
// round ticks; the legend goes beside the plot, not over it.
func (f *figures) base(title, ylabel string) *chart {
	p := NewChart(title, "time since start of run ("+f.unitName+")", ylabel)
	p.X.Min, p.X.Max = f.start, f.end
	p.X.Tick.Marker = timeTicks{}
	return &chart{Plot: p}
}

// timeTicks labels about ten round times (1, 2 or 5 times a power of ten
// apart) within the axis, with an unlabelled tick halfway between.
type timeTicks struct{}

func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: trimFloat(lo, 6)}}
	}
	raw := (hi - lo) / 10
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step*2) * step / 2; v <= hi+step*1e-9; v += step / 2 {
		x := math.Round(v/step*2) * step / 2
		t := plot.Tick{Value: x}
		if math.Abs(math.Remainder(x, step)) < step*1e-6 {
			t.Label = trimFloat(x, 6)
		}
		out = append(out, t)
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

func rect(x0, x1, y0, y1 float64) plotter.XYs {
	return plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// Band colours: warm-up and the windows a stop left with requests in
// flight are grey, faults orange.
var (
	colPartial = color.NRGBA{70, 70, 70, 45}
	bandEdge   = color.NRGBA{213, 94, 0, 110}
)

// band is one shaded stretch of time.
type band struct {
	x0, x1 float64
	name   string
	fill   color.Color
	edge   bool
}

// bands lists the warm-up, the faults by start time, and the windows
// holding requests whose outcome a stop left unknown, clipped to the time
// shown.
func (f *figures) bands() []band {
	var out []band
	add := func(b band) {
		b.x0, b.x1 = max(b.x0, f.start), min(b.x1, f.end)
		if b.x1 > b.x0 {
			out = append(out, b)
		}
	}
	if f.res.WarmupNS > 0 {
		add(band{0, f.x(f.res.WarmupNS), "warm-up", colWarmup, false})
	}
	for _, i := range f.faultOrder() {
		fi := &f.res.Faults[i]
		add(band{f.x(fi.Start), f.x(fi.End), fi.Name, colFault, true})
	}
	if from, to := f.partialSpan(); from >= 0 {
		add(band{f.x(from), f.x(to), "requests in flight at the stop", colPartial, false})
	}
	return out
}

// partialSpan is the stretch of windows holding requests in flight when
// the run was stopped (-1 when none).
func (f *figures) partialSpan() (int64, int64) {
	from, to := int64(-1), int64(-1)
	for i := range f.res.Windows {
		if w := &f.res.Windows[i]; w.Counts.Partial() {
			if from < 0 {
				from = w.Start
			}
			to = min(w.Start+f.res.WindowNS, f.res.Reached())
		}
	}
	return from, to
}

// shade adds the bands as translucent rectangles spanning the y axis
// (call it after setting the y range, before adding the data) and their
// labels to the strip above the plot.
func (f *figures) shade(ch *chart) {
	for _, b := range f.bands() {
		poly, err := plotter.NewPolygon(rect(b.x0, b.x1, ch.Y.Min, ch.Y.Max))
		if err != nil {
			panic(err) // finite values only
		}
		poly.Color = b.fill
		poly.LineStyle.Width = 0
		if b.edge {
			poly.LineStyle = draw.LineStyle{Color: bandEdge, Width: vg.Points(0.8)}
		}
		ch.Add(poly)
		f.bandLabel(ch, b)
	}
}

// bandLabel writes a band's name in the strip at its start.
func (f *figures) bandLabel(ch *chart, b band) {
	st := style(sansFont, 10)
	st.Color = colFaultLn
	if b.fill != colFault {
		st.Color = colGrey
	}
	ch.strip.label(b.x0, b.name, st)
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
