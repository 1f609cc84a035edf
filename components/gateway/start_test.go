package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/registry"
	"github.com/stripelab/stripelab/components/service"
	"github.com/stripelab/stripelab/components/wire"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The roles' Start functions, run by node.Run as `stripelab node` runs
// them: the registries, a service that registers itself and a gateway
// that finds it through its registry cache and serves a signed request.
// Everything stops when the context ends.
func TestStartWithRegistry(t *testing.T) {
	text := strings.Replace(scenarioText("auth: {enabled: true}"), "discovery: {scope: city}",
		"discovery: {scope: city, heartbeat: 100ms, ttl: 1s, refresh: 100ms}", 1)
	cfg := &node.Config{Role: "gateway", Scenario: text}
	p, err := cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int]node.StartFunc{0: Start, 1: service.Start}
	for _, rg := range p.Registries {
		for _, in := range rg.Instances {
			starts[in] = registry.Start
		}
	}
	addrs := map[int]string{}
	var peers []node.Peer
	for in := range starts {
		addrs[in] = freeAddr(t)
		peers = append(peers, node.Peer{Instance: in, Addr: addrs[in]})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for in, start := range starts {
		c := &node.Config{Role: p.Instances[in].Role.String(), Run: "t", Scenario: text, Instance: in, Listen: addrs[in], Peers: peers, Secret: testSecret, Seed: 1}
		wg.Go(func() {
			if err := node.Run(ctx, c, start, log); err != nil {
				t.Errorf("%s %d: %v", c.Role, in, err)
			}
		})
	}
	wc := wire.NewClient(2)
	defer wc.Close()
	// registration, a heartbeat and a refresh are a few 100ms periods
	var rp wire.Reply
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		r := request(1, time.Second)
		if rp = wc.Call(ctx, addrs[0], r, wire.Sign([]byte(testSecret), r)); rp.Outcome == wire.OK {
			break
		}
	}
	if rp.Outcome != wire.OK || rp.Served != 0 {
		t.Fatalf("through a started gateway: %+v", rp)
	}
}
