package network

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/scenarios"
)

// echo is an upstream on 127.0.0.1 answering "ok".
func echo(t testing.TB) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(ts.Close)
	return ts
}

func newLink(t testing.TB, delay time.Duration, jitter float64) (*Server, *Link) {
	ts := echo(t)
	s := NewServer(context.Background(), 1)
	t.Cleanup(s.Close)
	l, err := s.Add(Spec{Listen: "127.0.0.1:0", Upstream: ts.Listener.Addr().String(), From: 0, To: 0, Delay: delay, Jitter: jitter})
	if err != nil {
		t.Fatal(err)
	}
	return s, l
}

func client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
}

func get(c *http.Client, addr string) (time.Duration, error) {
	t0 := time.Now()
	resp, err := c.Post("http://"+addr+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && string(b) != "ok" {
		err = errors.New("bad body " + string(b))
	}
	return time.Since(t0), err
}

// TestBaseDelay: a round trip through a link takes at least twice its
// one-way delay, at most twice delay plus jitter plus slack for the host.
func TestBaseDelay(t *testing.T) {
	const delay = 3 * time.Millisecond
	_, l := newLink(t, delay, 0.5)
	c := client(time.Second)
	if _, err := get(c, l.Listen); err != nil { // dial
		t.Fatal(err)
	}
	for range 5 {
		d, err := get(c, l.Listen)
		if err != nil {
			t.Fatal(err)
		}
		if d < 2*delay {
			t.Fatalf("round trip %v, want at least %v", d, 2*delay)
		}
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionDropTimesOut(t *testing.T) {
	_, l := newLink(t, 0, 0)
	c := client(200 * time.Millisecond)
	if _, err := get(c, l.Listen); err != nil {
		t.Fatal(err)
	}
	if err := l.Partition("f0", Upstream, false); err != nil {
		t.Fatal(err)
	}
	if l.Verify() == nil {
		t.Fatal("Verify passed with a partition on the link")
	}
	_, err := get(c, l.Listen)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("through a blackhole: %v, want a timeout", err)
	}
	if err := l.Remove("f0"); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(c, l.Listen); err != nil {
		t.Fatalf("after the revert: %v", err)
	}
}

func TestPartitionRejectResets(t *testing.T) {
	_, l := newLink(t, 0, 0)
	c := client(2 * time.Second)
	if err := l.Partition("f1", Both, true); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err := get(c, l.Listen)
	if err == nil {
		t.Fatal("a reject partition let a request through")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("reject timed out (%v), want an error at once", err)
	}
	if el := time.Since(t0); el >= 2*time.Second {
		t.Fatalf("reject took %v", el)
	}
	if err := l.Remove("f1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestLatencyFaultAdds(t *testing.T) {
	const extra = 20 * time.Millisecond
	_, l := newLink(t, 0, 0)
	c := client(time.Second)
	get(c, l.Listen)
	if err := l.Latency("f2", Downstream, extra, 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	d, err := get(c, l.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if d < extra {
		t.Fatalf("with %v extra one way: %v", extra, d)
	}
	l.Remove("f2")
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestLossAllTimesOut(t *testing.T) {
	_, l := newLink(t, 0, 0)
	c := client(150 * time.Millisecond)
	if err := l.Loss("f3", Upstream, 1); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := get(c, l.Listen); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("at 100%% loss: %v, want a timeout", err)
	}
	l.Remove("f3")
	if _, err := get(c, l.Listen); err != nil {
		t.Fatalf("after the loss ended: %v", err)
	}
}

func TestDownRefusesUpServes(t *testing.T) {
	_, l := newLink(t, 0, 0)
	c := client(time.Second)
	l.Down()
	if l.Verify() == nil {
		t.Fatal("Verify passed on a link that is down")
	}
	if _, err := get(c, l.Listen); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("down: %v, want connection refused", err)
	}
	if err := l.Up(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(c, l.Listen); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func loadPlan(t testing.TB, name string) *scenarios.Plan {
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// TestPlanLinks checks the pair rules on library scenarios against the
// Plan: every gateway reaches an upstream instance of its set, every shard
// copy reaches the others of its shard, every city reaches every gateway,
// and no pair is listed twice.
func TestPlanLinks(t *testing.T) {
	for _, name := range []string{"ci/smoke", "registry-outage", "cross-city-partition"} {
		p := loadPlan(t, name)
		ps := PlanLinks(p)
		has := map[[3]int]bool{}
		for _, x := range ps {
			k := [3]int{x.From, x.City, x.To}
			if has[k] {
				t.Fatalf("%s: pair %v twice", name, x)
			}
			has[k] = true
			if !x.User() && x.Delay != time.Duration(p.Delay(x.From, p.Instances[x.To].Machine)) {
				t.Fatalf("%s: pair %v delay %v", name, x, x.Delay)
			}
		}
		for i, in := range p.Instances {
			switch in.Role {
			case scenarios.RoleGateway:
				for c := range p.Cities {
					if !has[[3]int{-1, c, i}] {
						t.Fatalf("%s: city %d has no link to gateway %d", name, c, i)
					}
				}
				found := false
				for _, j := range p.Services[0].Instances {
					found = found || (p.Instances[j].Set == in.Set && has[[3]int{in.Machine, p.Machines[in.Machine].City, j}])
				}
				if !found {
					t.Fatalf("%s: gateway %d reaches no upstream of its set", name, i)
				}
			case scenarios.RoleShard:
				for _, r := range p.Shards[in.Shard].Replicas {
					if r != i && !has[[3]int{in.Machine, p.Machines[in.Machine].City, r}] {
						t.Fatalf("%s: shard copy %d does not reach copy %d", name, i, r)
					}
				}
			}
		}
		if p.Scenario.Stack.Discovery.Mode == "registry" {
			reg := p.Registries[0].Instances[0]
			n := 0
			for _, x := range ps {
				if x.To == reg {
					n++
				}
			}
			if n == 0 {
				t.Fatalf("%s: nobody reaches registry copy %d", name, reg)
			}
		}
	}
}

// TestCutStreams: a one-way partition from machine A to B cuts only the
// stream whose messages go from A to B.
func TestCutStreams(t *testing.T) {
	f := &faults.Planned{Kind: faults.Partition, Machines: []int{1}, PeerMachines: []int{2}, Params: faults.Params{Direction: "one-way"}}
	c := NewCut(f)
	if st, ok := c.Streams(1, 2); !ok || st != Upstream {
		t.Fatalf("1 calling 2: %v %v, want upstream", st, ok)
	}
	if st, ok := c.Streams(2, 1); !ok || st != Downstream {
		t.Fatalf("2 calling 1: %v %v, want downstream (the replies 1 -> 2)", st, ok)
	}
	if _, ok := c.Streams(0, 2); ok {
		t.Fatal("machine 0 is outside the cut")
	}
	f.Params.Direction = "both"
	if st, _ := NewCut(f).Streams(2, 1); st != Both {
		t.Fatalf("both ways: %v", st)
	}
	// no peer: a city in the target is cut off for its own users
	g := &faults.Planned{Kind: faults.Partition, Machines: []int{0, 1}, Cities: []int{0}, PeerAll: true, Params: faults.Params{Direction: "both"}}
	if st, ok := NewCut(g).Streams(-1, 0); !ok || st != Both {
		t.Fatalf("own users: %v %v", st, ok)
	}
}

// TestInjectRevert applies a planned partition to a server's links and
// checks that exactly the crossing links carry it and that the revert is
// verified.
func TestInjectRevert(t *testing.T) {
	ts := echo(t)
	s := NewServer(context.Background(), 7)
	defer s.Close()
	p := loadPlan(t, "ci/smoke")
	// links from machine 0 to every instance
	var n int
	for i := range p.Instances {
		if _, err := s.Add(Spec{Listen: "127.0.0.1:0", Upstream: ts.Listener.Addr().String(), From: 0, To: i}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	f := &faults.Planned{Index: 3, Kind: faults.Partition, Machines: []int{0}, PeerAll: true, Params: faults.Params{Direction: "both", Action: "drop"}}
	inj, err := s.Inject(p, f)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, in := range p.Instances {
		if in.Machine != 0 {
			want++
		}
	}
	if len(inj.Links) != want {
		t.Fatalf("partition touched %d links, want %d (instances off machine 0)", len(inj.Links), want)
	}
	if inj.Verify() == nil || s.VerifyAll() == nil {
		t.Fatal("verify passed during the fault")
	}
	if err := inj.Revert(); err != nil {
		t.Fatal(err)
	}
	if err := inj.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyAll(); err != nil {
		t.Fatal(err)
	}
}

func newLinkTo(t testing.TB, up string) (*Server, *Link) {
	s := NewServer(context.Background(), 1)
	t.Cleanup(s.Close)
	l, err := s.Add(Spec{Listen: "127.0.0.1:0", Upstream: up})
	if err != nil {
		t.Fatal(err)
	}
	return s, l
}

// TestDeadHost: a dead host's link holds open connections silent even
// when the instance's side closes, and accepts new ones without answering,
// so callers time out; Alive closes what was held and serves again.
func TestDeadHost(t *testing.T) {
	ts := echo(t)
	_, l := newLinkTo(t, ts.Listener.Addr().String())
	const timeout = 150 * time.Millisecond
	old := client(timeout)
	if _, err := get(old, l.Listen); err != nil {
		t.Fatal(err)
	}
	if err := l.Dead(); err != nil {
		t.Fatal(err)
	}
	if l.Verify() == nil {
		t.Fatal("Verify passed on a dead host's link")
	}
	ts.CloseClientConnections() // the instance's kernel closes its side
	var ne net.Error
	if _, err := get(old, l.Listen); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("open connection to a dead host: %v, want a timeout", err)
	}
	if _, err := get(client(timeout), l.Listen); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("new connection to a dead host: %v, want a timeout", err)
	}
	if err := l.Alive(); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(client(time.Second), l.Listen); err != nil {
		t.Fatalf("after Alive: %v", err)
	}
}

// TestDownClosesOpenConnections: Down closes a connection in use (the
// caller sees an error at once, not a timeout).
func TestDownClosesOpenConnections(t *testing.T) {
	_, l := newLink(t, 0, 0)
	c := client(time.Second)
	if _, err := get(c, l.Listen); err != nil {
		t.Fatal(err)
	}
	l.Down()
	t0 := time.Now()
	if _, err := get(c, l.Listen); err == nil {
		t.Fatal("a request went through a link that is down")
	}
	if el := time.Since(t0); el >= time.Second {
		t.Fatalf("took %v: want an error before the timeout", el)
	}
}

// TestClosedConnectionsForgotten: a link does not keep every connection
// it ever carried.
func TestClosedConnectionsForgotten(t *testing.T) {
	_, l := newLink(t, 0, 0)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	const n = 300
	for range n {
		if _, err := get(c, l.Listen); err != nil {
			t.Fatal(err)
		}
	}
	l.mu.Lock()
	kept := len(l.conns)
	l.mu.Unlock()
	if kept >= 2*n {
		t.Fatalf("%d connections tracked after %d closed ones", kept, n)
	}
}

// TestPlanLinksProxyCityScope: in proxy mode services reach the data
// proxies of their scope (city) and never a shard, proxies reach every
// shard copy, and a gateway reaches every upstream instance of its city.
func TestPlanLinksProxyCityScope(t *testing.T) {
	f, err := scenarios.Parse("proxy.yaml", []byte(`name: proxy
topology:
  cities:
    - {name: a, azs: 2, racks: 1, machines: 2}
    - {name: b, azs: 1, racks: 1, machines: 2}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  discovery: {mode: mesh, scope: city}
  services:
    - {name: api, instances: 1, calls: [{data: request}]}
  data:
    mode: proxy
    shards: 2
    replicas: 2
    placement: az
    proxy: {instances: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	has := map[[2]int]bool{}
	for _, x := range PlanLinks(p) {
		if !x.User() {
			has[[2]int{x.From, x.To}] = true
		}
	}
	city := func(i int) int { return p.Machines[p.Instances[i].Machine].City }
	for i, in := range p.Instances {
		for j, to := range p.Instances {
			link := has[[2]int{in.Machine, j}]
			var want bool
			switch {
			case in.Role == scenarios.RoleService && to.Role == scenarios.RoleProxy:
				want = city(i) == city(j)
			case in.Role == scenarios.RoleService && to.Role == scenarios.RoleShard:
				want = false
			case in.Role == scenarios.RoleProxy && to.Role == scenarios.RoleShard:
				want = true
			case in.Role == scenarios.RoleGateway && to.Role == scenarios.RoleService:
				want = city(i) == city(j)
			default:
				continue
			}
			if want && !link {
				t.Fatalf("%s %d (machine %d) has no link to %s %d", in.Role, i, in.Machine, to.Role, j)
			}
			// another instance on the same machine may need the link: only
			// check absence when none does
			if !want && link && !machineNeeds(p, in.Machine, j) {
				t.Fatalf("machine %d has a link to %s %d that nothing on it calls", in.Machine, to.Role, j)
			}
		}
	}
}

// machineNeeds reports whether an instance on machine m other than a
// service calls instance j (a proxy or shard copy reaching a shard).
func machineNeeds(p *scenarios.Plan, m, j int) bool {
	for i, in := range p.Instances {
		if in.Machine != m || i == j {
			continue
		}
		if p.Instances[j].Role == scenarios.RoleShard && (in.Role == scenarios.RoleProxy ||
			(in.Role == scenarios.RoleShard && in.Shard == p.Instances[j].Shard)) {
			return true
		}
	}
	return false
}

func TestAddAfterClose(t *testing.T) {
	s := NewServer(context.Background(), 1)
	s.Close()
	if _, err := s.Add(Spec{Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}
