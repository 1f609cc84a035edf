package reports

import (
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// arranged lays a chart out on a canvas of the reports' size.
func arranged(ch *chart) (layout, draw.Canvas) {
	c := draw.New(vgimg.NewWith(vgimg.UseWH(plotW, plotH), vgimg.UseDPI(plotDPI)))
	pad := ch.Title.Padding
	l := ch.arrange(c)
	data := c
	data.Rectangle = l.data
	ch.Title.Padding = pad
	return l, data
}

func overlap(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

// timeCharts builds every time plot of res.
func timeCharts(t *testing.T, res *Result) map[string]*chart {
	f := newFigures(res)
	out := map[string]*chart{}
	for name, fn := range map[string]func() (*chart, error){
		"latency": f.latency, "availability": f.availability, "throughput": f.throughput,
		"failures": f.failures, "sets": f.sets, "failover-0": func() (*chart, error) { return f.failover(0) },
	} {
		ch, err := fn()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = ch
	}
	return out
}

// TestTimePlotLayout checks the time plots of a 2-minute and an hour-long
// run: the time axis ends where the run does; the legend sits in its own
// column right of the data, inside the image; the band labels (warm-up
// included) are in the strip above the data in every plot, none over
// another; an hour is labelled in minutes with enough ticks.
func TestTimePlotLayout(t *testing.T) {
	short := synthResult(t)
	Analyze(short)
	long := handResult(3600)
	long.DurationNS, long.WarmupNS = 3600*sec, 60*sec
	f := addFault(long, "lose c/a", 1000*sec, 1300*sec)
	f.Detected, f.Rerouted = 1010*sec, 1020*sec
	fillTotals(long)
	Analyze(long)
	for name, res := range map[string]*Result{"2m": short, "1h": long} {
		for plot, ch := range timeCharts(t, res) {
			what := name + " " + plot
			end := newFigures(res).end
			if plot != "failover-0" && ch.X.Max != end {
				t.Errorf("%s: the time axis ends at %v, the run at %v", what, ch.X.Max, end)
			}
			l, data := arranged(ch)
			lw := ch.Legend.Rectangle(data).Size().X
			if lw > 0 && (l.legend.Min.X < l.data.Max.X || l.legend.Max.X > plotW || l.legend.Max.Y > plotH) {
				t.Errorf("%s: legend %v is not beside the data %v inside the image", what, l.legend, l.data)
			}
			if name == "2m" && lw == 0 {
				t.Errorf("%s: no legend", what)
			}
			if l.legend.Size().X < lw {
				t.Errorf("%s: legend column %v narrower than its entries (%v): swatches would be clipped", what, l.legend.Size().X, lw)
			}
			boxes := ch.strip.placed(ch.Plot, data)
			warm := false
			for i, b := range boxes {
				warm = warm || ch.strip.items[i].text == "warm-up"
				if b.Min.Y < l.data.Max.Y || b.Max.Y > plotH {
					t.Errorf("%s: %q at %v is not in the strip above the data (%v)", what, ch.strip.items[i].text, b, l.data)
				}
				for j := range i {
					if overlap(b, boxes[j]) {
						t.Errorf("%s: %q and %q overlap", what, ch.strip.items[i].text, ch.strip.items[j].text)
					}
				}
			}
			if !warm && plot != "failover-0" {
				t.Errorf("%s: no warm-up label in the strip", what)
			}
		}
	}
	g := newFigures(long)
	ticks := 0
	for _, tk := range (timeTicks{}).Ticks(g.start, g.end) {
		if tk.Label != "" {
			ticks++
		}
	}
	if g.unitName != "min" || g.end != 60 || ticks < 6 {
		t.Errorf("an hour-long run: unit %s, end %v, %d labelled ticks", g.unitName, g.end, ticks)
	}
	if s := newFigures(short); s.unitName != "s" {
		t.Errorf("a 2-minute run in %s", s.unitName)
	}
}

// TestFailoverMarkersDoNotHide gives a fault milestones that coincide in
// pairs (rerouted when writes were lost, failover done when availability
// recovered, as in the shipped az-loss) and checks that no glyph covers
// another or the fault's label.
func TestFailoverMarkersDoNotHide(t *testing.T) {
	res := synthResult(t)
	fi := &res.Faults[0]
	fi.Detected, fi.Rerouted, fi.FailoverDone = fi.Start+10*sec, fi.Start+15*sec, fi.Start+20*sec
	res.Events = append(res.Events, Event{T: fi.Start + 15*sec, Kind: EvWritesLost, Fault: 0})
	Analyze(res)
	res.Measures.Faults[0].RTO = 20 * sec
	ch, err := newFigures(res).failover(0)
	if err != nil {
		t.Fatal(err)
	}
	_, data := arranged(ch)
	boxes := ch.strip.placed(ch.Plot, data)
	glyphs := 0
	for i, b := range boxes {
		if ch.strip.items[i].glyph != nil {
			glyphs++
		}
		for j := range i {
			if overlap(b, boxes[j]) {
				t.Errorf("strip items %d (%q) and %d (%q) overlap: %v %v", i, ch.strip.items[i].text, j, ch.strip.items[j].text, b, boxes[j])
			}
		}
	}
	if glyphs != 5 {
		t.Errorf("%d milestone glyphs, want 5", glyphs)
	}
}
