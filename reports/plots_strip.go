package reports

import (
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// strip is the band above a time plot's data area. It holds the labels of
// the shaded bands (warm-up, faults, windows a stop cut short) and the
// glyphs of a fault's milestones, each at its time, in as many rows as
// they need not to overlap: nothing is written over the data, and every
// plot puts its labels in the same place.
type strip struct {
	items []stripItem
	rows  int
	added bool // the strip is one of the plot's plotters
}

// stripItem is a label, or a glyph with a line down through the data
// area at its time.
type stripItem struct {
	x     float64 // in data units
	text  string
	style text.Style
	glyph *draw.GlyphStyle
	line  color.Color
	row   int
	shift vg.Length // moves a label left so that it ends inside the plot
}

// Rows of the strip.
const (
	stripRowH = vg.Length(15)
	stripGap  = vg.Length(4)
)

func (s *strip) label(x float64, name string, st text.Style) {
	s.items = append(s.items, stripItem{x: x, text: name, style: st})
}

func (s *strip) mark(x float64, g draw.GlyphStyle) {
	s.items = append(s.items, stripItem{x: x, glyph: &g, line: g.Color})
}

// extent is the span an item covers when placed at x (points).
func (it *stripItem) extent(x vg.Length) (lo, hi vg.Length) {
	if it.glyph != nil {
		r := it.glyph.Radius + vg.Points(3)
		return x - r, x + r
	}
	return x + it.shift, x + it.shift + vg.Points(3) + it.style.Width(it.text) + vg.Points(6)
}

// arrange gives every item a row, left to right, in the first row where
// it fits, and returns the strip's height (0 when empty).
func (s *strip) arrange(p *plot.Plot, data draw.Canvas) vg.Length {
	if len(s.items) == 0 {
		return 0
	}
	trX, _ := p.Transforms(&data)
	order := make([]int, len(s.items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s.items[order[a]].x < s.items[order[b]].x })
	var ends []vg.Length
	for _, i := range order {
		it := &s.items[i]
		it.shift = 0
		if _, hi := it.extent(trX(it.x)); hi > data.Max.X && it.glyph == nil {
			it.shift = data.Max.X - hi
		}
		lo, hi := it.extent(trX(it.x))
		row := 0
		for row < len(ends) && lo < ends[row] {
			row++
		}
		if row == len(ends) {
			ends = append(ends, 0)
		}
		ends[row], it.row = hi, row
	}
	s.rows = len(ends)
	return vg.Length(s.rows)*stripRowH + stripGap
}

// center is where an item's row is, above the data area c.
func (s *strip) center(c draw.Canvas, it *stripItem) vg.Length {
	return c.Max.Y + stripGap + vg.Length(it.row)*stripRowH + stripRowH/2
}

// Plot draws the items above c, the data area, and the milestone lines
// through it.
func (s *strip) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	above := c // glyphs are drawn only inside their canvas
	above.Max.Y += vg.Length(s.rows)*stripRowH + stripGap
	for i := range s.items { // the lines first, from the data to the strip
		if it := &s.items[i]; it.glyph != nil {
			ls := draw.LineStyle{Color: fade(it.line), Width: vg.Points(1.1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
			c.StrokeLine2(ls, trX(it.x), c.Min.Y, trX(it.x), c.Max.Y+stripGap)
		}
	}
	for i := range s.items {
		it := &s.items[i]
		x, y := trX(it.x), s.center(c, it)
		if it.glyph != nil {
			above.DrawGlyph(*it.glyph, vg.Point{X: x, Y: y})
			continue
		}
		st := it.style
		st.YAlign = draw.YCenter
		c.FillText(st, vg.Point{X: x + it.shift + vg.Points(3), Y: y}, it.text)
	}
}

// fade makes a colour translucent, for lines drawn across the data.
func fade(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 150}
}

// placed lists the items' boxes as arranged for the data area c: for
// tests, which check that nothing overlaps.
func (s *strip) placed(p *plot.Plot, c draw.Canvas) []vg.Rectangle {
	trX, _ := p.Transforms(&c)
	var out []vg.Rectangle
	for i := range s.items {
		it := &s.items[i]
		lo, hi := it.extent(trX(it.x))
		y := s.center(c, it)
		out = append(out, vg.Rectangle{Min: vg.Point{X: lo, Y: y - stripRowH/2}, Max: vg.Point{X: hi, Y: y + stripRowH/2}})
	}
	return out
}
