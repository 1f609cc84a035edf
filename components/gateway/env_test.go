package gateway

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// scenarioText is a city of two sets (one per AZ), each with one gateway
// (instances 0 and 2, unless gw says how many) and one service instance
// (1 and 3); gw is the gateway block.
func scenarioText(gw string) string {
	if !strings.Contains(gw, "instances:") {
		gw = "instances: 1\n" + gw
	}
	return comptest.Scenario("gw-test", `  discovery: {scope: city}
  gateway:
`+comptest.Indent(gw, "    ")+`
  services:
    - {name: front, instances: 1, service_time: 1ms}
  data: {mode: none}
`)
}

const testSecret = comptest.Secret

// upstream is an in-memory service: it records what it received and
// answers OK after delay.
type upstream struct {
	mu         sync.Mutex
	delay      time.Duration
	got        []wire.Request
	addrs      []string
	concurrent int
	peak       int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := wire.Decode(r.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	u.got = append(u.got, req)
	u.addrs = append(u.addrs, r.Host)
	u.concurrent++
	u.peak = max(u.peak, u.concurrent)
	d := u.delay
	u.mu.Unlock()
	time.Sleep(d)
	u.mu.Lock()
	u.concurrent--
	u.mu.Unlock()
	wire.WriteReply(w, wire.Reply{Outcome: wire.OK, Served: -1})
}

// newTestGateway builds gateway instance 0 forwarding to u in memory; the
// resolver lists service instance 1 (set 0) unless the test changes it.
func newTestGateway(t testing.TB, gw string, u http.Handler) (*Gateway, *comptest.Resolver, *node.Env) {
	t.Helper()
	env := comptest.Env(t, "gateway", scenarioText(gw), 0)
	res := &comptest.Resolver{}
	res.Set(0, Endpoint{Instance: 1, Set: 0, Addr: "svc1"})
	g, err := New(env, Options{Resolver: res, Client: comptest.Client(u)})
	if err != nil {
		t.Fatal(err)
	}
	return g, res, env
}

var seq atomic.Int64

func request(prio int, deadline time.Duration) *wire.Request {
	return &wire.Request{ID: itoa(int(seq.Add(1))) + ".0", User: 5, City: 0, Priority: prio, Key: 9, Op: wire.Read, Deadline: deadline}
}

func itoa(n int) string { return strconv.Itoa(n) }

func handle(g *Gateway, r *wire.Request) wire.Reply {
	rp, _ := g.Handle(context.Background(), r, wire.Sign([]byte(testSecret), r), time.Now())
	return rp
}
