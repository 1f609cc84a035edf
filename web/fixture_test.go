package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/reports/analysis"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

// The fixture is a results folder made the way the CLI makes one, from
// the short ci scenarios: single runs, a suite with its index, and a
// failover analysis with its kept runs. It is built once per test binary.
var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// fixture returns the shared results folder. Tests must not write into it.
func fixture(t *testing.T) string {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "stripelab-web-")
		if fixtureErr == nil {
			fixtureErr = buildFixture(fixtureDir)
		}
	})
	if fixtureErr != nil {
		t.Fatalf("build the results fixture: %v", fixtureErr)
	}
	return fixtureDir
}

// runInto simulates a shipped scenario and writes its reports to dir, as
// `stripelab run` does (with -short, only result.json: see writeResult).
func runInto(name string, seed uint64, dir string) (*reports.Result, error) {
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		return nil, err
	}
	res, err := sim.Run(context.Background(), scenarios.NewPlan(f), sim.Options{Seed: seed})
	if err != nil {
		return nil, err
	}
	return res, writeResult(res, dir)
}

// writeResult writes every report of res into dir, or with -short (the
// race detector's runs, where rendering the plots is 25 times slower)
// only the analysed result.json, which is all the catalog reads.
func writeResult(res *reports.Result, dir string) error {
	if !testing.Short() {
		return reports.WriteAll(res, dir)
	}
	reports.Analyze(res)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return res.WriteJSON(filepath.Join(dir, reports.FileResult))
}

func buildFixture(dir string) error {
	for _, r := range []struct {
		name string
		seed uint64
		out  string
	}{
		{"ci/smoke", 0, "runs/smoke"},
		{"ci/az-failover", 4, "runs/az-failover-seed4"},
	} {
		if _, err := runInto(r.name, r.seed, filepath.Join(dir, r.out)); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	if err := fullRun("ci/az-failover", filepath.Join(dir, "runs/az-failover")); err != nil {
		return err
	}
	if err := strictSmoke(filepath.Join(dir, "runs/smoke-strict")); err != nil {
		return err
	}
	if err := buildSuite(filepath.Join(dir, "suite")); err != nil {
		return err
	}
	f, err := scenarios.LoadLibrary("ci/az-failover")
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "failover")
	sweep, err := analysis.Failover(context.Background(), f, analysis.FailoverOptions{Options: analysis.Options{
		Runner: func(ctx context.Context, p *scenarios.Plan, seed uint64) (*reports.Result, error) {
			return sim.Run(ctx, p, sim.Options{Seed: seed})
		}, Dir: out}})
	if err != nil {
		return err
	}
	return sweep.Write(out)
}

// strictText is ci/smoke with a p99 objective no run meets, so that the
// fixture holds a failing run.
func strictText() (string, error) {
	text, err := libraryText("ci/smoke")
	if err != nil {
		return "", err
	}
	out := strings.Replace(text, "latency: {p50: 25ms, p99: 60ms}", "latency: {p50: 25ms, p99: 1ms}", 1)
	if out == text {
		return "", fmt.Errorf("ci/smoke no longer has the latency objective the fixture tightens")
	}
	return out, nil
}

// fullRun writes every report of a shipped scenario's run, even with
// -short: the run page tests read its plots and links.
func fullRun(name, dir string) error {
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		return err
	}
	res, err := sim.Run(context.Background(), scenarios.NewPlan(f), sim.Options{})
	if err != nil {
		return err
	}
	return reports.WriteAll(res, dir)
}

func strictSmoke(dir string) error {
	text, err := strictText()
	if err != nil {
		return err
	}
	f, err := scenarios.Parse("smoke-strict.yaml", []byte(text))
	if err != nil {
		return err
	}
	res, err := sim.Run(context.Background(), scenarios.NewPlan(f), sim.Options{})
	if err != nil {
		return err
	}
	return writeResult(res, dir)
}

// buildSuite writes a two-scenario suite with its index, as `stripelab
// suite` does.
func buildSuite(dir string) error {
	var entries []reports.IndexEntry
	for _, name := range []string{"ci/machine-loss", "ci/shedding"} {
		rel := strings.TrimPrefix(name, "ci/")
		res, err := runInto(name, 0, filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		entries = append(entries, reports.IndexEntry{Dir: rel, Result: res, Regressions: -1})
	}
	for file, write := range map[string]func(io.Writer, []reports.IndexEntry) error{
		"index.html": reports.WriteIndexHTML, "index.md": reports.WriteIndexMarkdown,
	} {
		fh, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		err = write(fh, entries)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// serve starts the dashboard over dir on a test server.
func serve(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// get fetches a path of the test server and returns the status and body.
func get(t *testing.T, ts *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a same-origin POST (Origin set to the server's own).
func post(t *testing.T, ts *httptest.Server, path, ctype string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Origin", ts.URL)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}
