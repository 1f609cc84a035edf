package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/wire"
)

// benchGateway is a gateway whose only work is the signature check: no
// routing cost, no limits, queue and shedding idle; the service's time is
// under a microsecond, so it is not slept.
const benchGateway = "concurrency: 1024\ncost: 0s\nauth: {enabled: true, cost: 0s}\nshedding: {policy: none}"

// bareServer answers every request OK after reading it, with no decoding:
// the round trip every hop pays before any component logic.
func bareServer(b *testing.B) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set(wire.HOutcome, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return ln.Addr().String(), func() { hs.Close() }
}

// BenchmarkHop measures, in one run, a bare HTTP round trip on loopback
// and a request from a client through the gateway to a service (one more
// hop, with the gateway's and the service's logic), interleaved so both
// see the same machine. It reports both per request, the hop's own cost
// (the difference) and that cost over the bare round trip (goal: at most 2).
func BenchmarkHop(b *testing.B) {
	st := startStack(b, benchGateway, "1ns")
	defer st.stop()
	bare, stop := bareServer(b)
	defer stop()
	wc := wire.NewClient(4)
	defer wc.Close()
	ctx := context.Background()
	r := request(1, time.Second)
	sig := wire.Sign(st.secret, r)
	for range 200 { // warm the connections
		wc.Call(ctx, bare, r, "")
		wc.Call(ctx, st.gw, r, sig)
	}
	var bareNS, chainNS time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if rp := wc.Call(ctx, bare, r, ""); rp.Outcome != wire.OK {
			b.Fatalf("bare: %+v", rp)
		}
		t1 := time.Now()
		if rp := wc.Call(ctx, st.gw, r, sig); rp.Outcome != wire.OK {
			b.Fatalf("through the gateway: %+v", rp)
		}
		bareNS += t1.Sub(t0)
		chainNS += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(bareNS)/n, "bare-ns/rt")
	b.ReportMetric(float64(chainNS)/n, "gw+svc-ns/req")
	b.ReportMetric(float64(chainNS-bareNS)/n, "hop-ns")
	b.ReportMetric(float64(chainNS-bareNS)/float64(bareNS), "hop/bare")
}

// BenchmarkThroughput is the requests per second one gateway and one
// service sustain on one core: GOMAXPROCS=1 for the load generator's
// goroutines, the gateway and the service together (so it is a lower bound
// for the two alone), 64 requests in flight. It reports req/s (wall
// clock) and req/cpu-s (per second of CPU the process used).
func BenchmarkThroughput(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	st := startStack(b, benchGateway, "1ns")
	defer st.stop()
	wc := wire.NewClient(128)
	defer wc.Close()
	var failed atomic.Int64
	b.SetParallelism(64)
	cpu0 := cpuTime()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := request(1, time.Second)
		sig := wire.Sign(st.secret, r)
		for pb.Next() {
			if wc.Call(context.Background(), st.gw, r, sig).Outcome != wire.OK {
				failed.Add(1)
			}
		}
	})
	el, cpu := time.Since(start), cpuTime()-cpu0
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "req/cpu-s")
}

// cpuTime is the CPU time this process used so far (user and system): on a
// shared machine req/cpu-s is what one core would sustain, req/s what this
// run got.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
