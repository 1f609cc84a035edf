package web

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/reports/analysis"
)

// rescanEvery is how often, at most, the results folder is walked again
// to find new, changed and removed results.
const rescanEvery = time.Second

// maxCachedResults is how many full results (windows and all) are kept in
// memory for the run, series and compare pages.
const maxCachedResults = 8

// runInfo is what the runs list shows of one result folder.
type runInfo struct {
	ID         string    `json:"id"` // the folder, relative to the results folder, with slashes
	Scenario   string    `json:"scenario"`
	Backend    string    `json:"backend"`
	Seed       uint64    `json:"seed"`
	When       time.Time `json:"when"`
	DurationNS int64     `json:"duration_ns"`
	// Status is PASS, FAIL or incomplete.
	Status       string  `json:"status"`
	Failures     int     `json:"objectives_failed"`
	Objectives   int     `json:"objectives"`
	Availability float64 `json:"availability"`
	P99NS        int64   `json:"p99_ns"`
	// RTONS is the longest recovery of the run's faults: -1 when one never
	// recovered, noFaults when the run had none.
	RTONS      int64    `json:"rto_ns"`
	LostWrites int64    `json:"lost_writes"`
	Faults     int      `json:"faults"`
	Group      string   `json:"group,omitempty"` // the suite or analysis folder holding it
	Files      []string `json:"files"`           // the report files present
	Err        string   `json:"error,omitempty"`

	key fileKey
}

// noFaults is RTONS of a run without faults.
const noFaults = -2

// group is a suite (a folder with index.html) or an analysis (a folder
// with compare.json, capacity.json or failover.json) holding runs.
type group struct {
	ID    string // folder relative to the results folder
	Kind  string // suite, compare, capacity, failover
	Index string // relative name of its index or report page
}

// analysisInfo is what the analyses pages show of one analysis folder.
type analysisInfo struct {
	ID, Kind, File string
	Scenario       string
	Seed           uint64
	Reading        string
	Objectives     []string
	Runs           int
	When           time.Time
	// Dirs are the kept runs' folders, relative to ID.
	Dirs []string
	Err  string

	key fileKey
}

type fileKey struct {
	size int64
	mod  time.Time
}

// analysisFiles maps each analysis' JSON file to its kind.
var analysisFiles = map[string]string{
	analysis.FileCompare: "compare", analysis.FileCapacity: "capacity", analysis.FileFailover: "failover",
}

// catalog is the index of the results folder, walked again at most every
// rescanEvery; a result is read again only when its file changed.
type catalog struct {
	root *os.Root
	dir  string

	mu       sync.Mutex
	scanned  time.Time
	runs     map[string]*runInfo
	groups   map[string]*group
	analyses map[string]*analysisInfo
	full     map[string]*cachedResult
	tick     int64
}

type cachedResult struct {
	key  fileKey
	res  *reports.Result
	used int64
}

func newCatalog(root *os.Root, dir string) *catalog {
	return &catalog{root: root, dir: dir, runs: map[string]*runInfo{}, groups: map[string]*group{},
		analyses: map[string]*analysisInfo{}, full: map[string]*cachedResult{}}
}

// invalidate makes the next look walk the folder again.
func (c *catalog) invalidate() {
	c.mu.Lock()
	c.scanned = time.Time{}
	c.mu.Unlock()
}

// snapshot returns the runs, groups and analyses, walking the folder
// first when the last walk is older than rescanEvery.
func (c *catalog) snapshot() ([]*runInfo, map[string]*group, []*analysisInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.scanned) >= rescanEvery {
		c.scan()
		c.scanned = time.Now()
	}
	runs := make([]*runInfo, 0, len(c.runs))
	for _, r := range c.runs {
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	groups := make(map[string]*group, len(c.groups))
	for k, g := range c.groups {
		groups[k] = g
	}
	as := make([]*analysisInfo, 0, len(c.analyses))
	for _, a := range c.analyses {
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool { return as[i].ID < as[j].ID })
	return runs, groups, as
}

// found is what one walk of the folder saw.
type found struct {
	results  map[string]fileKey // run folder -> its result.json
	suites   map[string]bool    // folders with an index.html
	analyses map[string]string  // folder -> the kind of analysis
	keys     map[string]fileKey // analysis folder -> its JSON file
}

// walk lists the folder's results, suites and analyses. Symlinks are not
// followed (fs.WalkDir does not descend into them and they are not
// regular files), and plots folders are skipped.
func (c *catalog) walk() found {
	f := found{results: map[string]fileKey{}, suites: map[string]bool{}, analyses: map[string]string{}, keys: map[string]fileKey{}}
	_ = fs.WalkDir(c.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable folder is left out, the rest still shown
		}
		if d.IsDir() {
			if p != "." && (d.Name() == reports.DirPlots || d.Name()[0] == '.') {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		dir, name := path.Dir(p), d.Name()
		info, err := d.Info()
		if err != nil {
			return nil
		}
		key := fileKey{info.Size(), info.ModTime()}
		switch {
		case name == reports.FileResult:
			f.results[dir] = key
		case name == "index.html":
			f.suites[dir] = true
		case analysisFiles[name] != "":
			f.analyses[dir] = analysisFiles[name]
			f.keys[dir] = key
		}
		return nil
	})
	return f
}

// scan walks the folder and reads what changed. The caller holds c.mu.
func (c *catalog) scan() {
	f := c.walk()
	runs := map[string]*runInfo{}
	for id, key := range f.results {
		if old, ok := c.runs[id]; ok && old.key == key {
			runs[id] = old
			continue
		}
		runs[id] = c.readRun(id, key)
	}
	analyses := map[string]*analysisInfo{}
	for id, kind := range f.analyses {
		key := f.keys[id]
		if old, ok := c.analyses[id]; ok && old.key == key {
			analyses[id] = old
			continue
		}
		analyses[id] = c.readAnalysis(id, kind, key)
	}
	groups := map[string]*group{}
	for id := range f.suites {
		if _, isRun := f.results[id]; !isRun {
			groups[id] = &group{ID: id, Kind: "suite", Index: "index.html"}
		}
	}
	for id, kind := range f.analyses {
		groups[id] = &group{ID: id, Kind: kind, Index: analysis.FileHTML}
	}
	for id, r := range runs {
		r.Group = enclosing(id, groups)
	}
	for id, e := range c.full {
		if r, ok := runs[id]; !ok || r.key != e.key {
			delete(c.full, id)
		}
	}
	c.runs, c.analyses, c.groups = runs, analyses, groups
}

// enclosing is the nearest folder above id that is a suite or an analysis.
func enclosing(id string, groups map[string]*group) string {
	for d := path.Dir(id); ; d = path.Dir(d) {
		if _, ok := groups[d]; ok {
			return d
		}
		if d == "." || d == "/" {
			return ""
		}
	}
}

// readRun reads one result.json and summarizes it for the list.
func (c *catalog) readRun(id string, key fileKey) *runInfo {
	ri := &runInfo{ID: id, key: key, When: key.mod, RTONS: noFaults}
	res, err := c.readResult(id)
	if err != nil {
		ri.Err, ri.Status, ri.Scenario = err.Error(), "unreadable", path.Base(id)
		return ri
	}
	summarize(ri, res)
	for _, name := range []string{reports.FileHTML, reports.FileTimeseries, reports.FileJUnit, reports.FileMarkdown} {
		if st, err := c.root.Lstat(path.Join(id, name)); err == nil && st.Mode().IsRegular() {
			ri.Files = append(ri.Files, name)
		}
	}
	return ri
}

func summarize(ri *runInfo, res *reports.Result) {
	m := res.Measures
	ri.Scenario, ri.Backend, ri.Seed, ri.DurationNS = res.Scenario, res.Backend, res.Seed, res.DurationNS
	ri.Status = "PASS"
	if !res.Passed() {
		ri.Status = "FAIL"
	}
	if res.Incomplete {
		ri.Status = "incomplete"
	}
	ri.Failures, ri.Objectives = res.Failures(), len(res.Verdicts)
	ri.Availability, ri.P99NS, ri.LostWrites, ri.Faults = m.Availability, m.Latency.P99, m.LostWrites, len(res.Faults)
	for _, f := range m.Faults {
		switch {
		case f.RTO < 0:
			ri.RTONS = -1
		case ri.RTONS != -1 && f.RTO > ri.RTONS:
			ri.RTONS = f.RTO
		}
	}
	if len(m.Faults) > 0 && ri.RTONS == noFaults {
		ri.RTONS = 0
	}
}

// errNoRun is returned for a run id the catalog does not list.
var errNoRun = errors.New("no such run")

// readResult loads and analyses a run's result.json. Only ids found by
// the walk reach it, and the file is checked to be a regular file inside
// the folder before it is read by name.
func (c *catalog) readResult(id string) (*reports.Result, error) {
	rel := path.Join(id, reports.FileResult)
	st, err := c.root.Lstat(rel)
	if err != nil || !st.Mode().IsRegular() {
		return nil, errNoRun
	}
	res, err := reports.ReadResult(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	reports.Analyze(res)
	return res, nil
}

// result returns the full, analysed result of a listed run.
func (c *catalog) result(id string) (*reports.Result, *runInfo, error) {
	c.snapshot()
	c.mu.Lock()
	ri, ok := c.runs[id]
	if !ok || ri.Err != "" {
		c.mu.Unlock()
		return nil, nil, errNoRun
	}
	c.tick++
	if e, ok := c.full[id]; ok && e.key == ri.key {
		e.used = c.tick
		c.mu.Unlock()
		return e.res, ri, nil
	}
	c.mu.Unlock()
	res, err := c.readResult(id)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.full[id] = &cachedResult{key: ri.key, res: res, used: c.tick}
	for len(c.full) > maxCachedResults {
		oldest := ""
		for k, e := range c.full {
			if oldest == "" || e.used < c.full[oldest].used {
				oldest = k
			}
		}
		delete(c.full, oldest)
	}
	return res, ri, nil
}

// readAnalysis reads the fields every analysis JSON shares, and the kept
// runs' folders (every "dir" field in it).
func (c *catalog) readAnalysis(id, kind string, key fileKey) *analysisInfo {
	a := &analysisInfo{ID: id, Kind: kind, When: key.mod, key: key}
	for name, k := range analysisFiles {
		if k == kind {
			a.File = name
		}
	}
	b, err := fs.ReadFile(c.root.FS(), path.Join(id, a.File))
	if err != nil {
		a.Err = err.Error()
		return a
	}
	var head struct {
		Scenario   string   `json:"scenario"`
		Seed       uint64   `json:"seed"`
		Reading    string   `json:"reading"`
		Objectives []string `json:"objectives"`
		Runs       int      `json:"runs"`
	}
	var all any
	if err := json.Unmarshal(b, &head); err != nil {
		a.Err = "not an analysis: " + err.Error()
		return a
	}
	_ = json.Unmarshal(b, &all)
	a.Scenario, a.Seed, a.Reading, a.Objectives, a.Runs = head.Scenario, head.Seed, head.Reading, head.Objectives, head.Runs
	collectDirs(all, &a.Dirs)
	sort.Strings(a.Dirs)
	return a
}

// collectDirs appends every string "dir" field found in v.
func collectDirs(v any, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		if d, ok := t["dir"].(string); ok && fs.ValidPath(d) {
			*out = append(*out, d)
		}
		for _, x := range t {
			collectDirs(x, out)
		}
	case []any:
		for _, x := range t {
			collectDirs(x, out)
		}
	}
}
