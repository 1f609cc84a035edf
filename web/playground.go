package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// playgroundFile is the name scenario errors of the editor carry.
const playgroundFile = "playground.yaml"

// playgroundDir is where the playground's runs are written, under the
// results folder, so that they appear in the runs list.
const playgroundDir = "playground"

// defaultPlayground is the shipped scenario the editor starts from.
const defaultPlayground = "ci/smoke"

type playgroundPage struct {
	page
	From     string
	Names    []string
	Text     string
	Backends []string
	MaxRun   string
	MaxWall  string
	MaxJobs  int
}

func (s *Server) handlePlayground(w http.ResponseWriter, r *http.Request) {
	from := r.URL.Query().Get("from")
	if from == "" {
		from = defaultPlayground
	}
	text, err := libraryText(from)
	if err != nil {
		s.fail(w, http.StatusNotFound, err.Error())
		return
	}
	s.render(w, "playground", playgroundPage{page: page{Title: "Playground", Nav: "playground"}, From: from,
		Names: scenarios.LibraryNames(), Text: text, Backends: s.backends(),
		MaxRun: s.cfg.MaxRunDuration.String(), MaxWall: s.cfg.MaxRunWall.String(), MaxJobs: s.cfg.MaxJobs})
}

// libraryText is a shipped scenario's text by name (az-loss, ci/smoke).
func libraryText(name string) (string, error) {
	if !slices.Contains(scenarios.LibraryNames(), name) {
		return "", fmt.Errorf("no shipped scenario %q", name)
	}
	b, err := fs.ReadFile(scenarios.LibraryFS(), name+".yaml")
	return string(b), err
}

func (s *Server) handleLibrary(w http.ResponseWriter, r *http.Request) {
	text, err := libraryText(r.URL.Query().Get("name"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, text)
}

// backends are the backends the playground offers: the simulator, and
// the real ones only when the server was started allowing them.
func (s *Server) backends() []string {
	out := []string{"sim"}
	if s.cfg.AllowRealBackends {
		for name := range s.cfg.Backends {
			if name != "sim" {
				out = append(out, name)
			}
		}
		slices.Sort(out[1:])
	}
	return out
}

func (s *Server) backend(name string) (Backend, error) {
	if name == "" || name == "sim" {
		return s.cfg.Sim, nil
	}
	if b, ok := s.cfg.Backends[name]; ok && s.cfg.AllowRealBackends {
		return b, nil
	}
	return nil, fmt.Errorf("backend %q is not offered by this server (it offers %s; real backends need the server started with --real-backends)",
		name, strings.Join(s.backends(), ", "))
}

// scenarioError is one validation error, placed for the editor.
type scenarioError struct {
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Path string `json:"path,omitempty"`
	Msg  string `json:"msg"`
	Text string `json:"text"`
}

type validation struct {
	OK       bool            `json:"ok"`
	Name     string          `json:"name,omitempty"`
	Summary  string          `json:"summary,omitempty"`
	Duration string          `json:"duration,omitempty"`
	Errors   []scenarioError `json:"errors"`
	// Limit says why a valid scenario may not run here (too long).
	Limit string `json:"limit,omitempty"`
}

// validate runs the scenario validator on text, the same as `stripelab
// validate`, and checks the playground's limits.
func (s *Server) validate(text []byte) (*scenarios.File, validation) {
	v := validation{Errors: []scenarioError{}}
	f, err := scenarios.Parse(playgroundFile, text)
	if err != nil {
		v.Errors = placeErrors(err)
		return nil, v
	}
	p := scenarios.NewPlan(f)
	v.OK, v.Name, v.Summary, v.Duration = true, f.Scenario.Name, p.Summary(), f.Scenario.Run.Duration.String()
	if d := f.Scenario.Run.Duration.Std(); d > s.cfg.MaxRunDuration {
		v.Limit = fmt.Sprintf("run.duration %s is over the playground's limit of %s; run it with `stripelab run`", d, s.cfg.MaxRunDuration)
	}
	return f, v
}

func placeErrors(err error) []scenarioError {
	var list scenarios.ErrorList
	var one scenarios.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = scenarios.ErrorList{one}
	default:
		return []scenarioError{{Line: 1, Col: 1, Msg: err.Error(), Text: err.Error()}}
	}
	out := make([]scenarioError, 0, len(list))
	for _, e := range list {
		out = append(out, scenarioError{Line: e.Line, Col: e.Col, Path: e.Path, Msg: e.Msg, Text: e.Error()})
	}
	return out
}

// readBody reads a request body under the server's limit, answering 413
// when it is over.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body over %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "read the request: "+err.Error(), http.StatusBadRequest)
		}
		return nil, false
	}
	return b, true
}

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	_, v := s.validate(b)
	writeJSON(w, http.StatusOK, v)
}

// runRequest is the body of POST /api/jobs.
type runRequest struct {
	Text    string `json:"text"`
	Seed    string `json:"seed"`
	Backend string `json:"backend"`
}

type jobStarted struct {
	ID     string `json:"id"`
	Events string `json:"events"`
	Cancel string `json:"cancel"`
}

func (s *Server) handleStartJob(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	var req runRequest
	if err := json.Unmarshal(b, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "expected JSON {text, seed, backend}: " + err.Error()})
		return
	}
	f, v := s.validate([]byte(req.Text))
	if !v.OK || v.Limit != "" {
		writeJSON(w, http.StatusBadRequest, v)
		return
	}
	var seed uint64
	if t := strings.TrimSpace(req.Seed); t != "" {
		n, err := strconv.ParseUint(t, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "seed: expected a whole number, got " + strconv.Quote(t)})
			return
		}
		seed = n
	}
	run, err := s.backend(req.Backend)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	j, err := s.jobs.start(context.Background(), func(ctx context.Context, j *job) jobEvent {
		return s.runJob(ctx, j, f, seed, run)
	})
	if err != nil {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error": fmt.Sprintf("%d runs are already running (the playground's limit); wait or cancel one", s.cfg.MaxJobs)})
		return
	}
	base := "/api/jobs/" + j.ID
	writeJSON(w, http.StatusAccepted, jobStarted{ID: j.ID, Events: base + "/events", Cancel: base + "/cancel"})
}

// runJob runs one playground scenario the way `stripelab run` does
// (the backend, then reports.WriteAll) into a new folder under
// playground/, and returns the job's final event.
func (s *Server) runJob(ctx context.Context, j *job, f *scenarios.File, seed uint64, run Backend) jobEvent {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxRunWall)
	defer cancel()
	p := scenarios.NewPlan(f)
	if seed == 0 {
		seed = p.Scenario.Run.Seed
	}
	res, runErr := run(ctx, p, seed, j.progress)
	if res == nil {
		return jobEvent{"failed", failedData{Error: fmt.Sprintf("the run failed: %v", runErr)}}
	}
	rel, err := s.newRunDir(p.Scenario.Name)
	if err != nil {
		return jobEvent{"failed", failedData{Error: err.Error()}}
	}
	if err := reports.WriteAll(res, filepath.Join(s.cfg.Results, filepath.FromSlash(rel))); err != nil {
		return jobEvent{"failed", failedData{Error: "write the reports: " + err.Error()}}
	}
	s.cat.invalidate()
	d := doneData{Run: rel, URL: runURL(rel), Status: "PASS"}
	if !res.Passed() {
		d.Status = "FAIL"
	}
	switch {
	case errors.Is(runErr, context.DeadlineExceeded):
		d.Status, d.Note = "incomplete", fmt.Sprintf("stopped after the playground's limit of %s; what was measured is kept, marked incomplete", s.cfg.MaxRunWall)
	case errors.Is(runErr, context.Canceled):
		d.Status, d.Note = "incomplete", "cancelled; what was measured is kept, marked incomplete"
	case runErr != nil:
		d.Note = runErr.Error()
	}
	return jobEvent{"done", d}
}

// newRunDir creates a fresh folder for a playground run and returns it
// relative to the results folder. It is made through the os.Root, and
// playground/ must be a real folder (not a symlink), so the reports land
// inside the results folder.
func (s *Server) newRunDir(name string) (string, error) {
	if err := s.root.Mkdir(playgroundDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create %s: %w", playgroundDir, err)
	}
	if st, err := s.root.Lstat(playgroundDir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s in the results folder is not a folder", playgroundDir)
	}
	base := path.Join(playgroundDir, safeName(name)+"-"+time.Now().Format("20060102-150405"))
	for i := 1; i < 100; i++ {
		rel := base
		if i > 1 {
			rel += "-" + strconv.Itoa(i)
		}
		err := s.root.Mkdir(rel, 0o755)
		if err == nil {
			return rel, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create the run folder: %w", err)
		}
	}
	return "", errors.New("create the run folder: too many runs this second")
}

// safeName keeps a scenario name usable as one folder name.
func safeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 48 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "scenario"
	}
	return out
}

// handleJobEvents streams a job's events as server-sent events: every
// event from the one after Last-Event-ID (all on a first connection), then
// each new one as it happens, until the final done or failed event.
func (s *Server) handleJobEvents(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		http.NotFound(w, r)
		return
	}
	from := 0
	if id, err := strconv.Atoi(r.Header.Get("Last-Event-ID")); err == nil && id >= 0 {
		from = id + 1
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	for {
		evs, final, changed := j.since(from)
		for _, e := range evs {
			b, _ := json.Marshal(e.Data)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", from, e.Kind, b); err != nil {
				return
			}
			from++
		}
		if err := rc.Flush(); err != nil || final {
			return
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) handleCancelJob(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		http.NotFound(w, r)
		return
	}
	j.cancel()
	writeJSON(w, http.StatusAccepted, map[string]bool{"cancelled": true})
}
