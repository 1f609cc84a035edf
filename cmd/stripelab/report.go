package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

func cmdReport(args []string) error {
	fs := newFlags("report")
	out := fs.String("out", "", "output folder (default: the result's folder)")
	verbose := fs.Bool("v", false, "list every objective, not only the failed ones")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("report", pos, 1, 1); err != nil {
		return err
	}
	res, err := readResult(pos[0])
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(pos[0])
	}
	if err := reports.WriteAll(res, dir); err != nil {
		return err
	}
	if err := reports.WriteSummary(os.Stdout, res, dir, *verbose); err != nil {
		return err
	}
	if !res.Passed() {
		return fmt.Errorf("%w: %d of %s failed", errSLO, res.Failures(), scenarios.Quantity(len(res.Verdicts), "objective"))
	}
	return nil
}

// readResult loads a result, accepting a folder holding result.json.
func readResult(path string) (*reports.Result, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, reports.FileResult)
	}
	res, err := reports.ReadResult(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return res, err
}

func cmdDiff(args []string) error {
	fs := newFlags("diff")
	tolerance := fs.String("tolerance", "", "allowed worsening, e.g. availability=0.1%,latency=10%,rto=5s,lost_writes=0")
	all := fs.Bool("all", false, "list every comparison, not only regressions and improvements")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("diff", pos, 2, 2); err != nil {
		return err
	}
	tol, err := reports.ParseTolerance(*tolerance)
	if err != nil {
		return fmt.Errorf("%w: --tolerance: %v", errUsage, err)
	}
	pairs, err := diffPairs(pos[0], pos[1])
	if err != nil {
		return err
	}
	total := 0
	var rows []string
	for _, pr := range pairs {
		base, err := readResult(pr[0])
		if err != nil {
			return err
		}
		cur, err := readResult(pr[1])
		if err != nil {
			return err
		}
		changes, err := reports.Diff(base, cur, tol)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		reports.SortChanges(changes)
		for _, c := range changes {
			mark := ""
			switch {
			case c.Regression:
				mark = "REGRESSION"
			case c.Improved:
				mark = "better"
			case !*all:
				continue
			}
			rows = append(rows, strings.Join([]string{cur.Scenario, c.Measure, c.Scope, c.Base, c.New, mark}, "\t"))
		}
		total += reports.Regressions(changes)
	}
	printChanges(os.Stdout, rows, *all)
	fmt.Printf("%s compared, %s\n", scenarios.Quantity(len(pairs), "scenario"), scenarios.Quantity(total, "regression"))
	if total > 0 {
		return fmt.Errorf("%w: %s worse than the baseline beyond the tolerance", errRegression, scenarios.Quantity(total, "measure"))
	}
	return nil
}

// printChanges prints the table of changes, or one line saying there are
// none (never a bare header).
func printChanges(w io.Writer, rows []string, all bool) {
	if len(rows) == 0 {
		if all {
			fmt.Fprintln(w, "no measure to compare")
		} else {
			fmt.Fprintln(w, "no measure changed beyond the tolerance")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMEASURE\tSCOPE\tBASE\tNEW\t")
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	tw.Flush()
}

// diffPairs matches results: two result files (or folders holding one),
// or two suite folders matched by scenario sub-folder.
func diffPairs(base, cur string) ([][2]string, error) {
	isResult := func(p string) bool {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return true
		}
		_, err := os.Stat(filepath.Join(p, reports.FileResult))
		return err == nil
	}
	if isResult(base) || isResult(cur) {
		return [][2]string{{base, cur}}, nil
	}
	var pairs [][2]string
	err := filepath.WalkDir(cur, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != reports.FileResult {
			return err
		}
		rel, _ := filepath.Rel(cur, p)
		if _, err := os.Stat(filepath.Join(base, rel)); err == nil {
			pairs = append(pairs, [2]string{filepath.Join(base, rel), p})
		} else {
			fmt.Printf("(no baseline for %s)\n", rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%w: no results to compare between %s and %s", errUsage, base, cur)
	}
	return pairs, nil
}
