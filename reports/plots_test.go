package reports

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestRenderPlots(t *testing.T) {
	res := synthResult(t)
	Analyze(res)
	figs, err := RenderPlots(res)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency", "availability", "throughput", "failures", "sets", "failover-0"}
	if len(figs) != len(want) {
		t.Fatalf("%d figures, want %d", len(figs), len(want))
	}
	for i, f := range figs {
		if f.Name != want[i] || f.Title == "" {
			t.Errorf("figure %d = %q %q, want %q", i, f.Name, f.Title, want[i])
		}
		img, err := png.Decode(bytes.NewReader(f.PNG))
		if err != nil {
			t.Errorf("%s.png: %v", f.Name, err)
		} else if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 576 {
			t.Errorf("%s.png is %v", f.Name, b)
		}
		if len(f.PNG) < 20_000 || len(f.SVG) < 5_000 {
			t.Errorf("%s: png %d bytes, svg %d bytes: too small to hold a plot", f.Name, len(f.PNG), len(f.SVG))
		}
		if err := wellFormedSVG(f.SVG); err != nil {
			t.Errorf("%s.svg: %v", f.Name, err)
		}
		if !bytes.Contains(f.SVG, []byte(f.Title)) && f.Name != "sets" {
			t.Errorf("%s.svg does not hold its title %q", f.Name, f.Title)
		}
	}
	if dir := os.Getenv("STRIPELAB_PLOTS_DIR"); dir != "" {
		if err := WritePlots(dir, figs); err != nil {
			t.Fatal(err)
		}
	}
}

// wellFormedSVG checks that b is well-formed XML with an <svg> root.
func wellFormedSVG(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func TestRenderPlotsDeterministic(t *testing.T) {
	render := func() []Figure {
		res := synthResult(t)
		Analyze(res)
		figs, err := RenderPlots(res)
		if err != nil {
			t.Fatal(err)
		}
		return figs
	}
	a, b := render(), render()
	for i := range a {
		if !bytes.Equal(a[i].SVG, b[i].SVG) {
			t.Errorf("%s.svg differs between two renders", a[i].Name)
		}
		if !bytes.Equal(a[i].PNG, b[i].PNG) {
			t.Errorf("%s.png differs between two renders", a[i].Name)
		}
	}
}

// TestRenderPlotsEdgeCases renders results that stress the layout: no
// traffic failures and no faults; an hour-long run with many sets.
func TestRenderPlotsEdgeCases(t *testing.T) {
	quiet := handResult(30)
	fillTotals(quiet)
	Analyze(quiet)

	long := handResult(3600)
	long.DurationNS = 3600 * sec
	long.Sets = nil
	for s := range 120 {
		long.Sets = append(long.Sets, SetInfo{Name: "city/az" + itoa(s)})
	}
	for i := 1000; i < 1300; i++ {
		setAvail(long, i, 0.95)
		long.Windows[i].SetsFailed = []SetCount{{Set: i % 120, Offered: 100, Failed: 50}}
	}
	f := addFault(long, "a fault with a rather long name", 1000*sec, 1300*sec)
	f.Detected = 1010 * sec
	addFault(long, "overlapping", 1100*sec, 1200*sec)
	fillTotals(long)
	Analyze(long)

	for name, res := range map[string]*Result{"quiet": quiet, "long": long} {
		figs, err := RenderPlots(res)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range figs {
			if _, err := png.Decode(bytes.NewReader(f.PNG)); err != nil {
				t.Errorf("%s %s.png: %v", name, f.Name, err)
			}
			if err := wellFormedSVG(f.SVG); err != nil {
				t.Errorf("%s %s.svg: %v", name, f.Name, err)
			}
		}
		if dir := os.Getenv("STRIPELAB_PLOTS_DIR"); dir != "" {
			if err := WritePlots(filepath.Join(dir, name), figs); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	figs := []Figure{{Name: "a", PNG: []byte("png"), SVG: []byte("svg")}}
	if err := WritePlots(filepath.Join(dir, "plots"), figs); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.png", "a.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, "plots", n))
		if err != nil || len(b) != 3 {
			t.Errorf("%s: %q %v", n, b, err)
		}
	}
}
