package web

import (
	"fmt"
	"strings"

	"github.com/stripelab/stripelab/reports"
	"gopkg.in/yaml.v3"
)

// maxHeatColumns bounds the heat map's width: longer runs merge adjacent
// windows into one column.
const maxHeatColumns = 120

// maxHeatRows bounds its height: with more sets, only those that failed
// somewhere are shown.
const maxHeatRows = 64

// heatmap is the per-set failure map of a run as a table (it renders with
// scripts blocked): one row per set, one column per window or group of
// windows, each cell shaded by the worst window's failed share of the
// set's requests.
type heatmap struct {
	Cols   []heatCol
	Rows   []heatRow
	Hidden int // sets left out because they never failed
	Span   string
}

type heatCol struct {
	Label string
	Class string // fault, warmup or ""
}

type heatRow struct {
	Name, Availability string
	Cells              []heatCell
}

type heatCell struct {
	Class, Title string
}

// heatLevel shades a failed share: none, up to 0.1%, 1%, 10%, 50%, more.
func heatLevel(share float64) string {
	switch {
	case share <= 0:
		return "h0"
	case share <= 0.001:
		return "h1"
	case share <= 0.01:
		return "h2"
	case share <= 0.1:
		return "h3"
	case share <= 0.5:
		return "h4"
	}
	return "h5"
}

func newHeatmap(res *reports.Result, maxCols int) heatmap {
	n := len(res.Windows)
	if n == 0 || len(res.Sets) == 0 {
		return heatmap{}
	}
	per := (n + maxCols - 1) / maxCols
	cols := (n + per - 1) / per
	worst := make([][]float64, len(res.Sets))
	for s := range worst {
		worst[s] = make([]float64, cols)
	}
	for i, w := range res.Windows {
		for _, sc := range w.SetsFailed {
			if sc.Offered > 0 && sc.Set >= 0 && sc.Set < len(worst) {
				worst[sc.Set][i/per] = max(worst[sc.Set][i/per], float64(sc.Failed)/float64(sc.Offered))
			}
		}
	}
	h := heatmap{Span: reports.FormatLatency(int64(per) * res.WindowNS)}
	for c := 0; c < cols; c++ {
		start := res.Windows[c*per].Start
		end := start + int64(per)*res.WindowNS
		col := heatCol{Label: reports.FormatTime(start)}
		if start < res.WarmupNS {
			col.Class = "warmup"
		}
		for _, f := range res.Faults {
			if start < f.End && end > f.Start {
				col.Class = "fault"
			}
		}
		h.Cols = append(h.Cols, col)
	}
	for s, set := range res.Sets {
		failed := false
		for _, v := range worst[s] {
			failed = failed || v > 0
		}
		if len(res.Sets) > maxHeatRows && !failed {
			h.Hidden++
			continue
		}
		row := heatRow{Name: set.Name}
		if s < len(res.Measures.BySet) {
			row.Availability = reports.FormatPercent(res.Measures.BySet[s])
		}
		for c, v := range worst[s] {
			row.Cells = append(row.Cells, heatCell{Class: heatLevel(v),
				Title: fmt.Sprintf("%s at %s: %s failed", set.Name, h.Cols[c].Label, reports.FormatPercent(v))})
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

// textLine is one line of the scenario text; Class marks the objectives
// (the slo block) and the fault schedule.
type textLine struct {
	N     int
	Text  string
	Class string
}

// scenarioLines splits a scenario's text into lines and marks those of
// its top-level slo and faults blocks, found with yaml.v3's positions.
func scenarioLines(text string) []textLine {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	out := make([]textLine, len(lines))
	for i, l := range lines {
		out[i] = textLine{N: i + 1, Text: l}
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(text), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		class := map[string]string{"slo": "objective", "faults": "fault"}[key.Value]
		if class == "" {
			continue
		}
		for l := key.Line; l <= lastLine(val) && l <= len(out); l++ {
			out[l-1].Class = class
		}
	}
	return out
}

// lastLine is the last line a node's subtree starts on.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}
