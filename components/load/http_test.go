package load

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/checker"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// gateway is a fake gateway on 127.0.0.1 speaking the wire format: it
// checks the signature and acknowledges writes.
func gateway(t testing.TB, secret []byte, bad *atomic.Int64) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST "+wire.Path, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, wire.MaxValue+1))
		req, err := wire.Decode(r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !wire.Verify(secret, &req, r.Header.Get(wire.HSig)) {
			bad.Add(1)
			wire.WriteReply(w, wire.Reply{Outcome: wire.Rejected, Reason: "bad_signature", Served: -1})
			return
		}
		wire.WriteReply(w, wire.Reply{Outcome: wire.OK, Wrote: req.Op == wire.Write, Served: -1})
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// runHTTP offers rate for dur against one fake gateway over real sockets.
func runHTTP(t *testing.T, rate, dur string) (*Generator, *collect, *checker.Log, int64) {
	secret := []byte("run-secret")
	var bad atomic.Int64
	ts := gateway(t, secret, &bad)
	p := planOf(t, scenario("  rate: "+rate+"\n  mix: {read: 80%, write: 20%}", "rehome_delay: 1s"))
	p.Scenario.Run.Duration = mustDur(t, dur)
	col, log := &collect{}, &checker.Log{}
	g, err := New(Config{Plan: p, Secret: secret, Seed: 3, Addr: func(int, int) string { return ts.Listener.Addr().String() }, Record: col.record, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g, col, log, bad.Load()
}

func mustDur(t testing.TB, s string) (d scenarios.Duration) {
	v, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.Duration(v)
}

// TestHTTPGateway: over real connections every request is signed, served,
// and its lag measured; every acknowledged write is logged.
func TestHTTPGateway(t *testing.T) {
	g, col, log, bad := runHTTP(t, "300/s", "1s")
	if bad != 0 {
		t.Fatalf("%d requests with a bad signature", bad)
	}
	writes := 0
	for _, r := range col.reqs {
		if r.Outcome != reports.OK {
			t.Fatalf("%+v", r)
		}
		if r.Write {
			writes++
		}
	}
	if len(col.reqs) == 0 || writes != log.Len() {
		t.Fatalf("%d requests, %d acknowledged writes, %d logged", len(col.reqs), writes, log.Len())
	}
	if l := g.Lag(); l.Count != int64(len(col.reqs)) {
		t.Fatalf("lag measured for %d of %d requests", l.Count, len(col.reqs))
	}
}

// TestLagAt1000 measures the generator's lag at 1000 requests/s for 3s
// against a fake gateway in the same process (set STRIPELAB_LAG=1).
func TestLagAt1000(t *testing.T) {
	if os.Getenv("STRIPELAB_LAG") == "" {
		t.Skip("set STRIPELAB_LAG=1 to measure the generator's lag")
	}
	g, col, _, _ := runHTTP(t, "1000/s", "3s")
	l := g.Lag()
	var lat []int64
	for _, r := range col.reqs {
		lat = append(lat, r.Latency)
	}
	t.Logf("%d requests in 3s; lag p50 %v p99 %v p99.9 %v max %v; per window %v", l.Count, l.P50, l.P99, l.P999, l.Max, l.WindowMax)
}

// TestHTTPHealthDraining: a node server told to drain answers its health
// checks 503 draining, which the transport reports as ErrDraining; any
// other failure is a plain error.
func TestHTTPHealthDraining(t *testing.T) {
	srv := node.NewServer(&node.Config{Instance: 0, Secret: "s"}, nil, nil, nil)
	ts := httptest.NewServer(srv.Mux)
	defer ts.Close()
	tr := NewHTTP()
	defer tr.Close()
	addr := ts.Listener.Addr().String()
	if err := tr.Health(context.Background(), addr); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/admin/drain", nil)
	req.Header.Set("Authorization", "Bearer s")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("drain: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := tr.Health(context.Background(), addr); !errors.Is(err, ErrDraining) {
		t.Fatalf("draining: %v, want ErrDraining", err)
	}
	ts.Close()
	if err := tr.Health(context.Background(), addr); err == nil || errors.Is(err, ErrDraining) {
		t.Fatalf("closed: %v, want a plain error", err)
	}
}
