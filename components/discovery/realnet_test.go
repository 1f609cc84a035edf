package discovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/discovery/disctest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/registry"
)

func freeAddr(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRealSockets runs set 0's registry copies as registry nodes
// (node.Run, real listeners on 127.0.78.x) and the resolvers over real
// HTTP: a cache fills, freezes while both copies are down (a dead instance
// stays), and drops the dead instance once the registry is back and warm.
func TestRealSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and clock")
	}
	before := runtime.NumGoroutine()
	d := disctest.Default()
	d.Heartbeat, d.TTL, d.Refresh = "200ms", "600ms", "300ms"
	p := d.Plan(t)
	disc := &p.Scenario.Stack.Discovery
	hb, ttl, refresh := time.Duration(disc.Heartbeat), time.Duration(disc.TTL), time.Duration(disc.Refresh)
	addrs := map[int]string{}
	for i := range p.Instances {
		addrs[i] = freeAddr(t, fmt.Sprintf("127.0.78.%d", 10+i))
	}
	copies := p.Registries[0].Instances
	runCopy := func(inst int) (stop func()) {
		cfg := &node.Config{Role: "registry", Run: "test", Scenario: d.Scenario(), Instance: inst, Listen: addrs[inst], Secret: "s"}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- node.Run(ctx, cfg, registry.Start, slog.New(slog.DiscardHandler)) }()
		waitHTTP(t, "http://"+addrs[inst]+"/healthz", 2*time.Second)
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("registry %d: %v", inst, err)
			}
		}
	}
	stops := map[int]func(){}
	for _, in := range copies {
		stops[in] = runCopy(in)
	}
	running := runtime.NumGoroutine() // the copies serve
	var resolvers []Resolver
	resolver := func(inst int) (Resolver, context.CancelFunc) {
		ctx, cancel := context.WithCancel(t.Context())
		env := disctest.Env(p, inst, addrs)
		r, err := New(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		resolvers = append(resolvers, r)
		return r, cancel
	}
	a, b := p.Services[0].Instances[0], p.Services[0].Instances[1]
	resolver(a)
	_, killB := resolver(b)
	gw, _ := resolver(0)
	start := time.Now()
	for len(gw.Instances(0)) < 2 {
		if time.Since(start) > registry.WarmUp(hb)+refresh+time.Second {
			t.Fatalf("cache not filled: %v", gw.Instances(0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if e := gw.Instances(0)[0]; e.Addr != addrs[e.Instance] {
		t.Fatalf("endpoint %+v, want the peer address %s", e, addrs[e.Instance])
	}
	body := get(t, "http://"+addrs[copies[0]]+"/metrics")
	if !strings.Contains(body, "stripelab_registry_leases 2") {
		t.Fatalf("metrics without two leases:\n%s", grepLines(body, "stripelab_registry"))
	}

	for _, in := range copies {
		stops[in]()
	}
	killB()
	time.Sleep(ttl + 3*refresh)
	if !has(gw.Instances(0), b) {
		t.Fatalf("the cache dropped b while every copy was down: %v", ids(gw.Instances(0)))
	}
	back := time.Now()
	for _, in := range copies {
		stops[in] = runCopy(in)
	}
	for has(gw.Instances(0), b) {
		if time.Since(back) > registry.WarmUp(hb)+refresh+time.Second {
			t.Fatal("b still listed after the registry came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(back)
	t.Logf("dead instance dropped %v after the registry came back (warm-up %v, refresh %v)", took, registry.WarmUp(hb), refresh)
	if took < registry.WarmUp(hb) {
		t.Fatalf("dropped %v after the return, before the warm-up", took)
	}
	if !has(gw.Instances(0), a) {
		t.Fatal("the live instance was dropped")
	}
	for _, r := range resolvers {
		r.Close()
	}
	settle(t, running, "with the copies running")
	for _, in := range copies {
		stops[in]()
	}
	settle(t, before, "at the end")
}

// settle waits for the goroutines to come back to n.
func settle(t *testing.T, n int, when string) {
	t.Helper()
	before := n
	for end := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%s: %d goroutines left, %d before", when, n, before)
	}
}

func waitHTTP(t *testing.T, url string, limit time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Since(start) > limit {
			t.Fatalf("%s not healthy within %v: %v", url, limit, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
