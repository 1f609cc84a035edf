package analysis

import (
	"context"
	"fmt"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// FailoverOptions configure Failover.
type FailoverOptions struct {
	Options
	// Lose is az (the default) or city: the level whose every place is
	// lost in turn.
	Lose string
}

// FailoverSweep is the result of Failover: one row per place lost.
type FailoverSweep struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	Seed     uint64 `json:"seed"`
	Lose     string `json:"lose"`
	// AtNS and ForNS bound the loss; Window says where they come from.
	AtNS   int64  `json:"at_ns"`
	ForNS  int64  `json:"for_ns"`
	Window string `json:"window"`
	// WindowNS is the runs' metrics window (what an RTO is measured in).
	WindowNS   int64         `json:"window_ns"`
	Objectives []string      `json:"objectives"`
	Rows       []FailoverRow `json:"rows"`
	// Worst is the index of the loss that hurts most: the lowest
	// availability in its window, then the most users hit, the longest
	// RTO, the most writes lost.
	Worst   int    `json:"worst"`
	Reading string `json:"reading"`
	Runs    int    `json:"runs"`
	// Incomplete marks a sweep stopped by an interrupt: its rows say which
	// losses ran to the end, which were stopped and which never ran.
	Incomplete bool `json:"incomplete,omitempty"`
}

// FailoverRow is what losing one place did. Durations are from the start
// of the loss; -1 means it did not happen.
type FailoverRow struct {
	Place          string                         `json:"place"`
	Target         string                         `json:"target"`
	DetectionNS    int64                          `json:"detection_ns"`
	RerouteNS      int64                          `json:"reroute_ns"`
	FailoverDoneNS int64                          `json:"failover_done_ns"`
	RTONS          int64                          `json:"rto_ns"`
	LostWrites     int64                          `json:"lost_writes"`
	LostSpanNS     int64                          `json:"lost_span_ns"`
	Availability   float64                        `json:"availability"`
	ByPriority     [reports.NumPriorities]float64 `json:"availability_by_priority"`
	P99NS          int64                          `json:"p99_ns"`
	BlastUsers     float64                        `json:"blast_users"`
	UsersFailed    int64                          `json:"users_failed"`
	UsersActive    int64                          `json:"users_active"`
	BlastSets      float64                        `json:"blast_sets"`
	SetsAffected   int                            `json:"sets_affected"`
	Sets           int                            `json:"sets"`
	Passed         bool                           `json:"passed"`
	Failed         []string                       `json:"failed"`
	Dir            string                         `json:"dir"`
	// Incomplete marks a run an interrupt stopped (its figures cover what
	// it reached); NotRun one it kept from starting (no figures, no Dir).
	Incomplete bool `json:"incomplete,omitempty"`
	NotRun     bool `json:"not_run,omitempty"`
}

// complete reports whether the row's run went to its end.
func (r *FailoverRow) complete() bool { return !r.Incomplete && !r.NotRun }

// Failover loses every AZ (or city) in turn, each in its own run, for the
// scenario's first fault window (or a quarter of the run from a quarter
// in when it has no fault), with the scenario's other faults removed.
func Failover(ctx context.Context, f *scenarios.File, o FailoverOptions) (*FailoverSweep, error) {
	if o.Lose == "" {
		o.Lose = "az"
	}
	if o.Lose != "az" && o.Lose != "city" {
		return nil, badInput("unknown place kind %q to lose; expected az or city", o.Lose)
	}
	pl, err := newPool(o.Options, f)
	if err != nil {
		return nil, err
	}
	s := f.Scenario
	names := places(scenarios.NewPlan(f), o.Lose)
	if len(names) < 2 {
		return nil, badInput("the topology has one %s: losing it loses everything", o.Lose)
	}
	at, dur, fromScenario := defaultWindow(s)
	fs := &FailoverSweep{Scenario: s.Name, File: f.Path, Seed: pl.seed, Lose: o.Lose, AtNS: int64(at), ForNS: int64(dur), WindowNS: int64(s.Run.Window),
		Objectives: describeObjectives(s.SLO),
		Window:     "a quarter of the run from a quarter in (the scenario has no fault)"}
	if fromScenario {
		fs.Window = "the window of the scenario's first fault (" + faultName(s.Faults[0]) + ")"
	}
	jobs := make([]job, len(names))
	dirs := make([]string, len(names))
	for i, n := range names {
		v, err := scenarios.Derive(f, scenarios.WithFaults(lossFault(o.Lose, n, at, dur)),
			scenarios.WithName(fmt.Sprintf("%s [lose %s %s]", s.Name, o.Lose, n)))
		if err != nil {
			return nil, fmt.Errorf("losing %s %s: %w", o.Lose, n, err)
		}
		jobs[i] = job{file: v, label: "failover losing " + o.Lose + " " + n}
		dirs[i] = "runs/" + o.Lose + "-" + sanitize(n)
	}
	results, err := pl.runAll(ctx, jobs)
	if err != nil && !interrupted(ctx, err) {
		return nil, err
	}
	for i, res := range results {
		fs.Rows = append(fs.Rows, failoverRow(res, names[i], dirs[i]))
	}
	fs.Incomplete = err != nil
	fs.Worst = worstRow(fs.Rows)
	if werr := pl.writeRuns(o.Dir, results, dirs); werr != nil {
		return nil, werr
	}
	fs.Runs = pl.n
	fs.Reading = failoverReading(fs)
	return fs, err
}

func faultName(f scenarios.Fault) string {
	if f.Name != "" {
		return f.Name
	}
	return f.Kind + " " + f.Target
}

// sanitize makes a place name a folder name: shenzhen/a becomes shenzhen-a.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '/' || c == '\\' || c == ':' || c == ' ' {
			b[i] = '-'
		}
	}
	return string(b)
}

func failoverRow(res *reports.Result, place, dir string) FailoverRow {
	if res == nil {
		return FailoverRow{Place: place, NotRun: true, DetectionNS: -1, RerouteNS: -1, FailoverDoneNS: -1, RTONS: -1, Failed: []string{}}
	}
	fm := &res.Measures.Faults[0]
	fi := &res.Faults[0]
	return FailoverRow{
		Place: place, Target: fi.Target, DetectionNS: fm.Detection, RerouteNS: fm.Reroute,
		FailoverDoneNS: fm.FailoverDone, RTONS: fm.RTO, LostWrites: fm.LostWrites, LostSpanNS: fm.LostSpanNS,
		Availability: fm.Availability, ByPriority: fm.ByPriority, P99NS: fm.Latency.P99,
		BlastUsers: fm.BlastUsers, UsersFailed: fi.UsersFailed, UsersActive: fi.UsersActive,
		BlastSets: fm.BlastSets, SetsAffected: fm.SetsAffected, Sets: len(res.Sets),
		Passed: res.Passed(), Failed: failedObjectives(res), Dir: dir, Incomplete: res.Incomplete,
	}
}

// worstRow ranks the losses whose runs went to their end: lowest
// availability in the window, then most users hit, longest RTO (never
// recovering is longest), most writes lost; the first in file order on a
// full tie; -1 when no run went to its end.
func worstRow(rows []FailoverRow) int {
	rto := func(ns int64) int64 {
		if ns < 0 {
			return 1 << 62
		}
		return ns
	}
	worse := func(a, b *FailoverRow) bool {
		switch {
		case a.Availability != b.Availability:
			return a.Availability < b.Availability
		case a.BlastUsers != b.BlastUsers:
			return a.BlastUsers > b.BlastUsers
		case rto(a.RTONS) != rto(b.RTONS):
			return rto(a.RTONS) > rto(b.RTONS)
		}
		return a.LostWrites > b.LostWrites
	}
	w := -1
	for i := range rows {
		if rows[i].complete() && (w < 0 || worse(&rows[i], &rows[w])) {
			w = i
		}
	}
	return w
}

// failoverReading names the worst loss with its numbers and how the
// others compare; of an interrupted sweep, among the runs that ended.
func failoverReading(fs *FailoverSweep) string {
	if !fs.Incomplete {
		return rankedReading(fs)
	}
	done := 0
	for i := range fs.Rows {
		if fs.Rows[i].complete() {
			done++
		}
	}
	s := fmt.Sprintf("interrupted: %d of %d losses ran to the end", done, len(fs.Rows))
	if fs.Worst < 0 {
		return s + "; nothing can be ranked."
	}
	return s + "; among them, " + rankedReading(fs)
}

func rankedReading(fs *FailoverSweep) string {
	w := &fs.Rows[fs.Worst]
	s := fmt.Sprintf("losing %s %s hurts most: %s served in the window, %s of users hit, RTO %s, %d acknowledged writes lost",
		fs.Lose, w.Place, reports.FormatPercent(w.Availability), reports.FormatPercent(w.BlastUsers),
		rtoText(w.RTONS, fs.ForNS, fs.WindowNS), w.LostWrites)
	best := fs.Worst
	var lost int64
	for i := range fs.Rows {
		if !fs.Rows[i].complete() {
			continue
		}
		if fs.Rows[i].Availability > fs.Rows[best].Availability {
			best = i
		}
		lost += fs.Rows[i].LostWrites
	}
	if best != fs.Worst {
		b := &fs.Rows[best]
		s += fmt.Sprintf("; the mildest, %s, keeps %s", b.Place, reports.FormatPercent(b.Availability))
	}
	if lost == 0 {
		s += "; no loss lost an acknowledged write"
	}
	return s + "."
}
