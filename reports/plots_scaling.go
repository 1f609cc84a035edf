package reports

import (
	"image/color"
	"sort"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// colScaling shades the stretches where instances were starting.
var colScaling = color.NRGBA{86, 180, 233, 55}

// componentColors tell the scaled components apart.
var componentColors = []color.Color{colBlue, colGreen, colOrange, colPurple, colVermil, colSky, colBlack}

// instances plots every scaled component's ready instances (solid) and
// provisioned ones (dashed: starting and draining included) over time,
// with the faults and the stretches where instances were starting shaded.
func (f *figures) instances() (*chart, error) {
	sc := f.res.Scaling
	p := f.base("Instances of the scaled components", "instances over every set")
	hi := int32(1)
	for _, c := range sc.Components {
		hi = max(hi, c.Peak)
		for _, v := range c.Ready {
			hi = max(hi, v)
		}
	}
	p.Y.Min, p.Y.Max = 0, float64(hi)*1.15+0.5
	f.shade(p)
	for _, b := range f.scalingBands() {
		poly, err := plotter.NewPolygon(rect(b.x0, b.x1, p.Y.Min, p.Y.Max))
		if err != nil {
			return nil, err
		}
		poly.Color, poly.LineStyle.Width = b.fill, 0
		p.Add(poly)
		f.bandLabel(p, b)
	}
	for k, c := range sc.Components {
		col := componentColors[k%len(componentColors)]
		ready, err := line(f.steps(c.Ready), col, 1.8)
		if err != nil {
			return nil, err
		}
		prov, err := line(f.steps(c.Provisioned), col, 1.2, vg.Points(5), vg.Points(3))
		if err != nil {
			return nil, err
		}
		p.Add(prov, ready)
		p.Legend.Add(c.Name+" ready", ready)
		p.Legend.Add(c.Name+" provisioned", prov)
	}
	return p, nil
}

// steps draws per-window samples (taken at each window's end) as a step
// line over the time shown.
func (f *figures) steps(v []int32) plotter.XYs {
	var out plotter.XYs
	for _, i := range f.windows() {
		if i >= len(v) {
			break
		}
		w := f.res.Windows[i].Start
		out = append(out, plotter.XY{X: max(f.x(w), f.start), Y: float64(v[i])}, plotter.XY{X: min(f.x(w+f.res.WindowNS), f.end), Y: float64(v[i])})
	}
	if len(out) == 0 {
		out = append(out, plotter.XY{X: f.start, Y: 0})
	}
	return out
}

// scalingBands merges the stretches from each scale-up's decision to its
// instance's readiness, clipped to the time shown.
func (f *figures) scalingBands() []band {
	type span struct{ a, b int64 }
	var spans []span
	for _, s := range f.res.Scaling.Starts {
		end := s.Ready
		if end < 0 {
			end = f.res.DurationNS
		}
		spans = append(spans, span{s.Decided, end})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var out []band
	for _, s := range spans {
		if n := len(out); n > 0 && f.x(s.a) <= out[n-1].x1 {
			out[n-1].x1 = max(out[n-1].x1, f.x(s.b))
			continue
		}
		out = append(out, band{f.x(s.a), f.x(s.b), "starting", colScaling, false})
	}
	k := 0
	for _, b := range out {
		b.x0, b.x1 = max(b.x0, f.start), min(b.x1, f.end)
		if b.x1 > b.x0 {
			out[k] = b
			k++
		}
	}
	return out[:k]
}
