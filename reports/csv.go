package reports

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// TimeseriesHeader is the header row of timeseries.csv. Availability is a
// fraction (empty when a window had no traffic), latency in milliseconds
// (of successful requests), unknown counts the requests in flight when
// a run was stopped early, warmup is 1 for warm-up windows and
// faults_active lists the indexes of the faults overlapping the window,
// separated by ";". A run that scaled adds, per scaled component, its
// ready and provisioned instances at the end of the window
// (ready_NAME, provisioned_NAME), after the one column per command a
// result with workload.commands adds (availability_cmd_NAME).
var TimeseriesHeader = []string{
	"time_s", "offered", "ok", "shed", "rate_limited", "timeout", "error", "unavailable", "unknown",
	"availability", "availability_high", "availability_normal", "availability_low",
	"p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms",
	"attempts", "cross_region", "cross_set", "writes_acked", "warmup", "faults_active",
}

// WriteTimeseries writes timeseries.csv: one row per window, for spreadsheets.
func WriteTimeseries(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	head := TimeseriesHeader
	var comps []ScaledComponent
	if res.Scaling != nil {
		comps = res.Scaling.Components
	}
	for _, c := range res.Commands {
		head = append(head[:len(head):len(head)], "availability_cmd_"+c.Name)
	}
	for _, c := range comps {
		head = append(head[:len(head):len(head)], "ready_"+c.Name, "provisioned_"+c.Name)
	}
	if err := cw.Write(head); err != nil {
		return errors.Wrap(err, "write timeseries")
	}
	row := make([]string, 0, len(head))
	for i := range res.Windows {
		row = timeseriesRow(row[:0], res, i)
		for _, c := range comps {
			row = append(row, sample(c.Ready, i), sample(c.Provisioned, i))
		}
		if err := cw.Write(row); err != nil {
			return errors.Wrap(err, "write timeseries")
		}
	}
	cw.Flush()
	return errors.Wrap(cw.Error(), "write timeseries")
}

func timeseriesRow(row []string, res *Result, i int) []string {
	win := &res.Windows[i]
	c := &win.Counts
	row = append(row, fmtFloat(float64(win.Start)/1e9, 3), i64(c.Offered))
	for o := range c.Outcomes {
		row = append(row, i64(c.Outcomes[o]))
	}
	row = append(row, csvAvail(c))
	for k := range win.ByPriority {
		row = append(row, csvAvail(&win.ByPriority[k]))
	}
	l := &win.Latency
	for _, v := range []int64{l.P50, l.P90, l.P99, l.P999, l.Max} {
		if l.Count == 0 {
			row = append(row, "")
		} else {
			row = append(row, fmtFloat(float64(v)/1e6, 3))
		}
	}
	warm := "0"
	if win.Start < res.WarmupNS {
		warm = "1"
	}
	row = append(row, i64(win.Attempts), i64(win.CrossRegion), i64(win.CrossSet), i64(win.Writes), warm,
		strings.Join(activeFaults(res, win.Start, win.Start+res.WindowNS), ";"))
	for k := range res.Commands {
		if k < len(win.ByCommand) {
			row = append(row, csvAvail(&win.ByCommand[k]))
		} else {
			row = append(row, "")
		}
	}
	return row
}

// activeFaults lists the indexes of the faults overlapping [start, end).
func activeFaults(res *Result, start, end int64) []string {
	var out []string
	for i, f := range res.Faults {
		if f.Start < end && f.End > start {
			out = append(out, strconv.Itoa(i))
		}
	}
	return out
}

func csvAvail(c *Counts) string {
	if c.Offered == 0 {
		return ""
	}
	return fmtFloat(c.Availability(), 6)
}

func fmtFloat(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// sample is v[i] in a CSV cell, empty past its end.
func sample(v []int32, i int) string {
	if i >= len(v) {
		return ""
	}
	return strconv.Itoa(int(v[i]))
}
