// Package comptest has the helpers the component tests share (gateway,
// service): a node environment from scenario text, a resolver the test
// sets, an HTTP client served by a handler in memory, and checks of the
// answers a request handler gives. Only tests import it.
package comptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stripelab/stripelab/components/discovery"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// Secret is the run secret of the test environments.
const Secret = "s3cret"

// Indent puts pre before each line of s, trimmed, so that a test's block
// of YAML fits in a scenario at any depth.
func Indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString(pre + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

// Scenario is the text of a test scenario named name: one city of two AZs
// striped by AZ (two sets) of two machines each, a one-minute run of seed
// 7, and stack, the lines of the stack block (indented by two spaces).
func Scenario(name, stack string) string {
	return `
name: ` + name + `
run: {duration: 1m, warmup: 0s, seed: 7}
topology:
  cities:
    - {name: c1, azs: 2, racks: 1, machines: 2}
striping: {granularity: az}
stack:
` + stack
}

// Env is the environment of instance inst in role of the scenario text,
// with run secret Secret and seed 3.
func Env(t testing.TB, role, scenario string, inst int) *node.Env {
	t.Helper()
	cfg := &node.Config{Role: role, Run: "t", Scenario: scenario, Instance: inst, Secret: Secret, Seed: 3}
	p, err := cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return &node.Env{Config: cfg, Plan: p, Server: node.NewServer(cfg, nil, nil, nil), Clock: node.RealClock{}}
}

// Resolver serves fixed lists, changeable by the test.
type Resolver struct {
	mu    sync.Mutex
	lists map[int][]discovery.Endpoint
}

// Instances implements discovery.Resolver.
func (f *Resolver) Instances(svc int) []discovery.Endpoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists[svc]
}

// Close implements discovery.Resolver.
func (f *Resolver) Close() {}

// Set makes eps the list of service svc.
func (f *Resolver) Set(svc int, eps ...discovery.Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lists == nil {
		f.lists = map[int][]discovery.Endpoint{}
	}
	f.lists[svc] = eps
}

// Client is a wire client whose calls h serves in memory, so tests in a
// synctest bubble use no sockets.
func Client(h http.Handler) *wire.Client {
	return &wire.Client{HTTP: &http.Client{Transport: memTransport{h}}}
}

type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { m.h.ServeHTTP(rec, r); close(done) }()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// Admin posts to the admin path (with its query) on srv with the run
// secret, and returns the answer.
func Admin(srv *node.Server, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, nil)
	req.Header.Set("Authorization", "Bearer "+Secret)
	w := httptest.NewRecorder()
	srv.Mux.ServeHTTP(w, req)
	return w
}

// AdminGet sends an authorized GET to srv's admin path and decodes the
// JSON answer into out; it fails t unless the answer is 200.
func AdminGet(t testing.TB, srv *node.Server, path string, out any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+Secret)
	w := httptest.NewRecorder()
	srv.Mux.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// Health is srv's /healthz answer code.
func Health(srv *node.Server) int {
	w := httptest.NewRecorder()
	srv.Mux.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	return w.Code
}

// WantBadRequest serves req with h and fails unless the answer is 400
// naming want.
func WantBadRequest(t testing.TB, h http.Handler, name string, req *http.Request, want string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), want) {
		t.Errorf("%s: %d %q, want 400 naming %s", name, w.Code, w.Body.String(), want)
	}
}

// WantAnswer serves req with h and fails unless the answer is a 400 with a
// message or a wire reply: what a handler must give any input.
func WantAnswer(t testing.TB, h http.Handler, req *http.Request) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code == http.StatusBadRequest {
		if w.Body.Len() == 0 {
			t.Fatal("400 without a message")
		}
		return
	}
	if _, err := wire.ReadReply(w.Result().Header, nil); err != nil {
		t.Fatalf("status %d without a wire reply: %v", w.Code, err)
	}
}
