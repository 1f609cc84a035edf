package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

// brokenSmoke is ci/smoke with a rate that is not a rate, and where the
// validator must place the error: the line and column of the value.
func brokenSmoke(t *testing.T) (text string, line, col int) {
	t.Helper()
	good, err := libraryText("ci/smoke")
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(good, "rate: 500/s", "rate: lots", 1)
	if text == good {
		t.Fatal("ci/smoke has no rate: 500/s line to break")
	}
	off := strings.Index(text, "rate: lots") + len("rate: ")
	line = 1 + strings.Count(text[:off], "\n")
	col = 1 + off - (strings.LastIndex(text[:off], "\n") + 1)
	return text, line, col
}

func TestValidatePlacesErrorsAtLineAndColumn(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir()})
	text, line, col := brokenSmoke(t)
	code, body := post(t, ts, "/api/validate", "text/plain", strings.NewReader(text))
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	v := decode[validation](t, body)
	if v.OK || len(v.Errors) == 0 {
		t.Fatalf("a broken scenario validated: %+v", v)
	}
	e := v.Errors[0]
	if e.Line != line || e.Col != col || e.Path != "workload.rate" {
		t.Errorf("error at %d:%d %s, want %d:%d workload.rate: %+v", e.Line, e.Col, e.Path, line, col, e)
	}
	// The same validator as `stripelab validate`: the same errors.
	_, err := scenarios.Parse(playgroundFile, []byte(text))
	if err == nil || !strings.Contains(err.Error(), e.Text) {
		t.Errorf("the editor's error %q is not the validator's %v", e.Text, err)
	}
	good, _ := libraryText("ci/smoke")
	v = decode[validation](t, mustPost(t, ts, "/api/validate", good))
	if !v.OK || len(v.Errors) != 0 || v.Name != "ci-smoke" || v.Summary == "" {
		t.Errorf("ci/smoke does not validate: %+v", v)
	}
	v = decode[validation](t, mustPost(t, ts, "/api/validate", "topology: [\n"))
	if v.OK || len(v.Errors) != 1 || v.Errors[0].Line < 1 {
		t.Errorf("a YAML syntax error: %+v", v)
	}
}

func mustPost(t *testing.T, ts *httptest.Server, path, body string) string {
	t.Helper()
	code, out := post(t, ts, path, "text/plain", strings.NewReader(body))
	if code != 200 {
		t.Fatalf("POST %s: %d %s", path, code, out)
	}
	return out
}

// sse is one server-sent event.
type sse struct {
	ID, Event, Data string
}

// readEvents reads a job's event stream to its end.
func readEvents(t *testing.T, ts *httptest.Server, path string) []sse {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "":
			out = append(out, cur)
			cur = sse{}
		case strings.HasPrefix(l, "id: "):
			cur.ID = l[4:]
		case strings.HasPrefix(l, "event: "):
			cur.Event = l[7:]
		case strings.HasPrefix(l, "data: "):
			cur.Data = l[6:]
		}
	}
	return out
}

func startJob(t *testing.T, ts *httptest.Server, req runRequest) (int, string) {
	t.Helper()
	b, _ := json.Marshal(req)
	return post(t, ts, "/api/jobs", "application/json", bytes.NewReader(b))
}

// TestPlaygroundRunIsARun runs ci/smoke from the playground: progress
// events, then done; the result lands in the results folder, is listed,
// and is byte for byte what the same scenario gives through sim.Run and
// reports.WriteAll (the code of `stripelab run`).
func TestPlaygroundRunIsARun(t *testing.T) {
	dir := t.TempDir()
	_, ts := serve(t, Config{Results: dir})
	text, _ := libraryText("ci/smoke")
	code, body := startJob(t, ts, runRequest{Text: text, Seed: "5"})
	if code != http.StatusAccepted {
		t.Fatalf("start: %d %s", code, body)
	}
	started := decode[jobStarted](t, body)
	evs := readEvents(t, ts, started.Events)
	if len(evs) < 3 {
		t.Fatalf("events %+v: want progress events then done", evs)
	}
	last := evs[len(evs)-1]
	if last.Event != "done" {
		t.Fatalf("last event %+v, want done", last)
	}
	prev := -1.0
	for i, e := range evs[:len(evs)-1] {
		if e.Event != "progress" {
			t.Fatalf("event %d is %s, want progress", i, e.Event)
		}
		p := decode[progressData](t, e.Data)
		if p.Fraction < prev || p.Fraction > 1 || p.EndNS == 0 {
			t.Errorf("progress %+v after %g", p, prev)
		}
		prev = p.Fraction
	}
	d := decode[doneData](t, last.Data)
	if !strings.HasPrefix(d.Run, playgroundDir+"/ci-smoke-") || d.Status != "PASS" || d.URL != runURL(d.Run) {
		t.Errorf("done %+v", d)
	}
	got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(d.Run), reports.FileResult))
	if err != nil {
		t.Fatal(err)
	}
	f, err := scenarios.Parse(playgroundFile, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), scenarios.NewPlan(f), sim.Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	if err := reports.WriteAll(res, ref); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(ref, reports.FileResult))
	if !bytes.Equal(got, want) {
		t.Error("the playground's result.json differs from sim.Run + reports.WriteAll of the same text and seed")
	}
	runs := decode[[]runInfo](t, mustGet(t, ts, "/api/runs"))
	if len(runs) != 1 || runs[0].ID != d.Run {
		t.Errorf("runs listed after the playground run: %+v", runs)
	}
	// A stream opened again after the end replays every event.
	if again := readEvents(t, ts, started.Events); len(again) != len(evs) {
		t.Errorf("a late stream got %d events, want %d", len(again), len(evs))
	}
}

// blocking is a backend that runs until cancelled, then returns the
// partial result the simulator gives for a cancelled run.
func blocking(started *atomic.Int32) Backend {
	return func(ctx context.Context, p *scenarios.Plan, seed uint64, progress func(now, end int64)) (*reports.Result, error) {
		started.Add(1)
		progress(1, 100)
		<-ctx.Done()
		res, _ := sim.Run(ctx, p, sim.Options{Seed: seed})
		return res, ctx.Err()
	}
}

func TestPlaygroundLimitsAndCancel(t *testing.T) {
	dir := t.TempDir()
	var started atomic.Int32
	_, ts := serve(t, Config{Results: dir, MaxJobs: 1, Sim: blocking(&started)})
	text, _ := libraryText("ci/smoke")
	code, body := startJob(t, ts, runRequest{Text: text})
	if code != http.StatusAccepted {
		t.Fatalf("start: %d %s", code, body)
	}
	first := decode[jobStarted](t, body)
	if code, body := startJob(t, ts, runRequest{Text: text}); code != http.StatusTooManyRequests {
		t.Errorf("a second run over MaxJobs=1: %d %s, want 429", code, body)
	}
	if code, _ := post(t, ts, first.Cancel, "text/plain", nil); code != http.StatusAccepted {
		t.Errorf("cancel: %d", code)
	}
	evs := readEvents(t, ts, first.Events)
	d := decode[doneData](t, evs[len(evs)-1].Data)
	if d.Status != "incomplete" || !strings.Contains(d.Note, "cancelled") {
		t.Errorf("a cancelled run ended with %+v", d)
	}
	res, err := reports.ReadResult(filepath.Join(dir, filepath.FromSlash(d.Run), reports.FileResult))
	if err != nil || !res.Incomplete {
		t.Errorf("the cancelled run's result: %v, incomplete %v", err, res != nil && res.Incomplete)
	}
	if code, body := startJob(t, ts, runRequest{Text: text}); code != http.StatusAccepted {
		t.Errorf("after the cancelled run ended, a new run: %d %s", code, body)
	}
}

func TestPlaygroundWallClockLimit(t *testing.T) {
	var started atomic.Int32
	_, ts := serve(t, Config{Results: t.TempDir(), MaxRunWall: 50 * time.Millisecond, Sim: blocking(&started)})
	text, _ := libraryText("ci/smoke")
	_, body := startJob(t, ts, runRequest{Text: text})
	evs := readEvents(t, ts, decode[jobStarted](t, body).Events)
	d := decode[doneData](t, evs[len(evs)-1].Data)
	if d.Status != "incomplete" || !strings.Contains(d.Note, "50ms") {
		t.Errorf("a run past the wall-clock limit ended with %+v", d)
	}
}

func TestPlaygroundRefuses(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir(), MaxRunDuration: 10 * time.Second})
	text, _ := libraryText("ci/smoke")
	code, body := startJob(t, ts, runRequest{Text: text})
	if v := decode[validation](t, body); code != http.StatusBadRequest || !strings.Contains(v.Limit, "10s") {
		t.Errorf("a 30s run over a 10s limit: %d %s", code, body)
	}
	broken, _, _ := brokenSmoke(t)
	code, body = startJob(t, ts, runRequest{Text: broken})
	if v := decode[validation](t, body); code != http.StatusBadRequest || v.OK || len(v.Errors) == 0 {
		t.Errorf("a broken scenario: %d %s", code, body)
	}
	_, open := serve(t, Config{Results: t.TempDir()})
	code, body = startJob(t, open, runRequest{Text: text, Seed: "x"})
	if code != http.StatusBadRequest || !strings.Contains(body, "seed") {
		t.Errorf("a bad seed: %d %s", code, body)
	}
	if code, _ := post(t, ts, "/api/jobs", "application/json", strings.NewReader("{")); code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", code)
	}
}

// TestRealBackendsNeedTheFlag checks that a real backend is neither
// offered nor accepted unless the server allows real backends.
func TestRealBackendsNeedTheFlag(t *testing.T) {
	var calls atomic.Int32
	fake := func(ctx context.Context, p *scenarios.Plan, seed uint64, progress func(now, end int64)) (*reports.Result, error) {
		calls.Add(1)
		return nil, errors.New("fake backend")
	}
	text, _ := libraryText("ci/smoke")
	for _, allow := range []bool{false, true} {
		_, ts := serve(t, Config{Results: t.TempDir(), Backends: map[string]Backend{"process": fake}, AllowRealBackends: allow})
		offered := strings.Contains(mustGet(t, ts, "/playground"), `<option value="process">`)
		if offered != allow {
			t.Errorf("allow=%v: process offered %v", allow, offered)
		}
		code, body := startJob(t, ts, runRequest{Text: text, Backend: "process"})
		switch {
		case !allow && code != http.StatusBadRequest:
			t.Errorf("without the flag, backend process: %d %s, want 400", code, body)
		case allow && code != http.StatusAccepted:
			t.Errorf("with the flag, backend process: %d %s, want 202", code, body)
		case allow:
			evs := readEvents(t, ts, decode[jobStarted](t, body).Events)
			if last := evs[len(evs)-1]; last.Event != "failed" || !strings.Contains(last.Data, "fake backend") {
				t.Errorf("the fake backend's failure: %+v", last)
			}
		}
	}
	if calls.Load() != 1 {
		t.Errorf("the real backend ran %d times, want once (only when allowed)", calls.Load())
	}
}

func TestPlaygroundPageStartsFromALibraryScenario(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir()})
	body := mustGet(t, ts, "/playground?from=az-loss")
	if !strings.Contains(body, `<option value="az-loss" selected>`) || !strings.Contains(body, "name: az-loss") {
		t.Error("the playground does not start from az-loss")
	}
	if code, _ := get(t, ts, "/playground?from=../../etc/passwd"); code != 404 {
		t.Errorf("an unknown scenario: %d, want 404", code)
	}
	text := mustGet(t, ts, "/api/library?name=ci/smoke")
	want, _ := libraryText("ci/smoke")
	if text != want {
		t.Error("/api/library does not return the shipped text")
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"ci-smoke": "ci-smoke", "../../etc": "etc", "a b/c": "a-b-c", "": "scenario", "…": "scenario"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	if n := len(safeName(strings.Repeat("x", 200))); n > 48 {
		t.Errorf("a long name keeps %d characters", n)
	}
}
