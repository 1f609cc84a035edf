package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/service"
	"github.com/stripelab/stripelab/components/wire"
)

// stack is a gateway and a service serving on loopback sockets.
type stack struct {
	gw, svc string // addresses
	secret  []byte
	stop    func()
}

func serve(t testing.TB, ctx context.Context, s *node.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeListener(ctx, ln, time.Second)
	return ln.Addr().String()
}

// startStack starts service instance 1 and gateway instance 0 of the test
// scenario with gw as the gateway block and svc as front's service time.
func startStack(t testing.TB, gw, serviceTime string) *stack {
	t.Helper()
	text := strings.Replace(scenarioText(gw), "service_time: 1ms", "service_time: "+serviceTime, 1)
	ctx, cancel := context.WithCancel(context.Background())
	scfg := &node.Config{Role: "service", Run: "t", Scenario: text, Instance: 1, Secret: testSecret, Seed: 1}
	sp, err := scfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	senv := &node.Env{Config: scfg, Plan: sp, Server: node.NewServer(scfg, nil, nil, nil), Clock: node.RealClock{}}
	sv, err := service.New(senv, service.Options{Resolver: &comptest.Resolver{}} /* front makes no calls */)
	if err != nil {
		t.Fatal(err)
	}
	sv.Register(senv.Server)
	svcAddr := serve(t, ctx, senv.Server)

	gcfg := &node.Config{Role: "gateway", Run: "t", Scenario: text, Instance: 0, Secret: testSecret, Seed: 1,
		Peers: []node.Peer{{Instance: 1, Addr: svcAddr}}}
	gp, err := gcfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	genv := &node.Env{Config: gcfg, Plan: gp, Server: node.NewServer(gcfg, nil, nil, nil), Clock: node.RealClock{}}
	g, err := New(genv, Options{Resolver: NewStaticResolver(genv)})
	if err != nil {
		t.Fatal(err)
	}
	g.Register(genv.Server)
	return &stack{gw: serve(t, ctx, genv.Server), svc: svcAddr, secret: []byte(testSecret), stop: func() { cancel(); g.wc.Close() }}
}

// A signed request crosses gateway and service over real sockets; both
// answer /healthz and count it in /metrics; a bad request gets a 400.
func TestOverLoopback(t *testing.T) {
	st := startStack(t, "cost: 50us", "1ms")
	defer st.stop()
	wc := wire.NewClient(4)
	defer wc.Close()
	r := request(1, time.Second)
	if rp := wc.Call(context.Background(), st.gw, r, wire.Sign(st.secret, r)); rp.Outcome != wire.OK || rp.Served != 0 {
		t.Fatalf("through the gateway: %+v", rp)
	}
	if rp := wc.Call(context.Background(), st.gw, r, "bad"); rp.Outcome != wire.Rejected {
		t.Errorf("bad signature over the wire: %+v", rp)
	}
	resp, err := http.Post("http://"+st.gw+wire.Path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), wire.HID) {
		t.Errorf("empty request: %d %q", resp.StatusCode, body)
	}
	for addr, want := range map[string][]string{
		st.gw:  {`stripelab_gateway_replies_total{outcome="ok",reason="upstream"} 1`, `stripelab_gateway_replies_total{outcome="rejected",reason="bad_signature"} 1`, "stripelab_gateway_queue_depth", "stripelab_gateway_in_flight 0", "stripelab_gateway_request_duration_seconds_bucket"},
		st.svc: {`stripelab_service_replies_total{outcome="ok",reason="ok",service="front"} 1`, "stripelab_service_queue_depth", "stripelab_service_in_flight"},
	} {
		for _, path := range []string{"/healthz", "/metrics"} {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s%s: %d", addr, path, resp.StatusCode)
			}
			if path == "/metrics" {
				for _, w := range want {
					if !strings.Contains(string(b), w) {
						t.Errorf("%s/metrics lacks %s", addr, w)
					}
				}
			}
		}
	}
}
