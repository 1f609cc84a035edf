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
	"github.com/stripelab/stripelab/components/shard"
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
// them: the registries, the shard of set 0, a service that registers
// itself and a gateway that finds it through its registry cache; a signed
// write is acknowledged by the shard and read back. Everything stops when
// the context ends.
func TestStartWithRegistry(t *testing.T) {
	text := scenarioText("auth: {enabled: true}")
	for old, repl := range map[string]string{
		"discovery: {scope: city}":                       "discovery: {scope: city, heartbeat: 100ms, ttl: 1s, refresh: 100ms}",
		"data: {mode: none}":                             "data: {mode: sharded, replicas: 1}",
		"{name: front, instances: 1, service_time: 1ms}": "{name: front, instances: 1, service_time: 1ms, calls: [{data: request, timeout: 500ms}]}",
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("scenario lacks %q", old)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	cfg := &node.Config{Role: "gateway", Scenario: text}
	p, err := cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int]node.StartFunc{0: Start, 1: service.Start, p.Shards[0].Replicas[0]: shard.Start}
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
		c := &node.Config{Role: p.Instances[in].Role.String(), Run: "t", Scenario: text, Instance: in, Listen: addrs[in], Peers: peers, Secret: testSecret, Seed: 1, DataDir: t.TempDir()}
		wg.Go(func() {
			if err := node.Run(ctx, c, start, log); err != nil {
				t.Errorf("%s %d: %v", c.Role, in, err)
			}
		})
	}
	wc := wire.NewClient(2)
	defer wc.Close()
	// registration, a heartbeat and a refresh are a few 100ms periods
	user := 0
	for p.HomeSet(0, user) != 0 {
		user++
	}
	var rp wire.Reply
	w := request(1, time.Second)
	w.User, w.Op, w.Value = user, wire.Write, []byte("v1")
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		w.ID = request(1, 0).ID
		if rp = wc.Call(ctx, addrs[0], w, wire.Sign([]byte(testSecret), w)); rp.Outcome == wire.OK {
			break
		}
	}
	if rp.Outcome != wire.OK || rp.Served != 0 || !rp.Wrote {
		t.Fatalf("a write through a started gateway: %+v", rp)
	}
	r := request(1, time.Second)
	r.User = user
	if rp = wc.Call(ctx, addrs[0], r, wire.Sign([]byte(testSecret), r)); rp.Outcome != wire.OK || string(rp.Value) != "v1" {
		t.Fatalf("reading it back: %+v", rp)
	}
}
