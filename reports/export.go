package reports

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// This file lends the run reports' plot style to the analyses (compare,
// capacity, failover), which draw their own charts over many results.

// SeriesColors is the palette of the run reports' plots (Okabe-Ito,
// readable by colour-blind people), in the order series should take it.
var SeriesColors = []color.Color{colBlue, colOrange, colGreen, colVermil, colPurple, colSky, colYellow, colGrey, colBlack}

// NewChart is an empty plot in the style of the run reports: the same
// fonts, a light grid, a legend beside the plot (RenderFigure puts it
// there) and tick labels without trailing zeros. The caller sets the axes' ranges and adds the data.
func NewChart(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(boldFont, 15)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sansFont, 12)
		ax.Tick.Label.Font = font.From(sansFont, 10.5)
	}
	p.Y.Tick.Marker = trimmedTicks{}
	p.Legend.TextStyle.Font = font.From(sansFont, 10.5)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(22)
	p.Legend.Padding = vg.Points(2)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.NRGBA{0, 0, 0, 28}, color.NRGBA{0, 0, 0, 28}
	p.Add(grid)
	return p
}

// RenderFigure draws p as a Figure named name, at the size and resolution
// of the run reports' plots (PNG and SVG).
// Its legend, if any, goes in a column to the right of the plot, as the
// run reports' legends do, so that it never covers the data.
func RenderFigure(name string, p *plot.Plot) (Figure, error) { return render(name, &chart{Plot: p}) }

// Swatch is a legend entry filled with one colour (for bars and bands).
func Swatch(c color.Color) plot.Thumbnailer { return swatch{c} }
