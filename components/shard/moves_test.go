package shard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/shard"
	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// removalText is three sets of one city under sharded data, one copy a
// shard, the third set removed: its users' keys move to the other two.
const removalText = `
name: shard-removal
run: {duration: 10s, warmup: 1s, seed: 7}
topology:
  cities:
    - {name: a, azs: 3, racks: 1, machines: 1}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  services:
    - {name: api, instances: 1, calls: [{data: request}]}
  data: {mode: sharded, replicas: 1, service_time: {dist: constant, mean: 100us}}
workload:
  rate: 10/s
  users: {count: 300}
scaling:
  copy_rate: 400/s
  sets:
    - {at: 2s, remove: a/c}
`

func removalPlan(t *testing.T) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse("removal.yaml", []byte(removalText))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// shards runs one copy of every shard of p on loopback, each knowing the
// others' addresses; it returns the copies' addresses by shard.
func shards(t *testing.T, text string, p *scenarios.Plan) []string {
	t.Helper()
	lns := map[int]net.Listener{}
	var peers []node.Peer
	for s := range p.Shards {
		in := p.Shards[s].Replicas[0]
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[in] = ln
		peers = append(peers, node.Peer{Instance: in, Addr: ln.Addr().String()})
	}
	out := make([]string, len(p.Shards))
	for s := range p.Shards {
		in := p.Shards[s].Replicas[0]
		others := slices.DeleteFunc(slices.Clone(peers), func(o node.Peer) bool { return o.Instance == in })
		c, err := shardtest.StartCopy(text, p, in, lns[in], others, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Kill)
		out[s] = lns[in].Addr().String()
	}
	return out
}

// post sends body to a copy with the run secret; it returns the status and
// the answer.
func post(t *testing.T, method, addr, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+shardtest.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRemovedShardHandsOffWriteIDs: a set removed under sharded data hands
// its keys off at the copy rate, and with each key the ids of the writes
// it took: once the copy is over the shards the keys moved to answer for
// every write the removed shard acknowledged (what the read-back after
// the run asks once the removed shard is stopped), and serve the values.
func TestRemovedShardHandsOffWriteIDs(t *testing.T) {
	p := removalPlan(t)
	moves := p.KeyMoves()
	if len(moves) != 1 || !moves[0].Remove || len(moves[0].Users) < 50 {
		t.Fatalf("want one removal moving keys, got %+v", moves)
	}
	m := &moves[0]
	addrs := shards(t, removalText, p)
	cl := wire.NewClient(4)
	defer cl.Close()
	call := func(s int, op wire.Op, id string, user int, val string) wire.Reply {
		return cl.Call(context.Background(), addrs[s], &wire.Request{ID: id, User: user, Priority: 1, Key: uint64(user), Op: op, Deadline: 2 * time.Second, Value: []byte(val)}, "")
	}
	// every moved user's key written twice on the removed shard, some thrice
	ids := map[int][]string{}
	for i, u := range m.Users {
		for n := range 2 + i%2 {
			id := fmt.Sprintf("%d.%d", u, n)
			if rp := call(m.Set, wire.Write, id, u, "v-"+id); rp.Outcome != wire.OK || !rp.Wrote {
				t.Fatalf("write %s to shard %d: %+v", id, m.Set, rp)
			}
			ids[u] = append(ids[u], id)
		}
	}
	if code, body := post(t, http.MethodPost, addrs[m.Set], fmt.Sprintf("/admin/copy?change=%d", m.Change), nil); code != http.StatusOK {
		t.Fatalf("copy start: %d %s", code, body)
	}
	rate := float64(p.Scenario.Scaling.CopyRate)
	within := m.Duration(rate) + 2*time.Second
	var st shard.CopyStatus
	for end := time.Now().Add(within); ; {
		code, body := post(t, http.MethodGet, addrs[m.Set], fmt.Sprintf("/admin/copy?change=%d", m.Change), nil)
		if code != http.StatusOK {
			t.Fatalf("copy status: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		if st.Copied == st.Keys && st.Keys > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("copy of %d keys at %.0f/s not confirmed within %s: %+v", len(m.Users), rate, within, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Keys != len(m.Users) {
		t.Fatalf("copy status %+v, want %d keys", st, len(m.Users))
	}
	byTo := map[int][]string{}
	for _, u := range m.Users {
		byTo[m.To(p, u)] = append(byTo[m.To(p, u)], ids[u]...)
	}
	for to, want := range byTo {
		cr := shardtest.Check(t, addrs[to], append(want, "never.0"))
		if len(cr.Found) != len(want) || slices.Contains(cr.Found, "never.0") {
			t.Errorf("shard %d answers for %d of the %d write ids moved to it", to, len(cr.Found), len(want))
		}
	}
	u := m.Users[0]
	last := ids[u][len(ids[u])-1]
	if rp := call(m.To(p, u), wire.Read, "r.0", u, ""); rp.Outcome != wire.OK || string(rp.Value) != "v-"+last {
		t.Errorf("read of user %d on shard %d: %+v, want v-%s", u, m.To(p, u), rp, last)
	}
	if rp := call(m.Set, wire.Write, "late.0", u, "x"); rp.Outcome != wire.Rejected || rp.Reason != "moved" {
		t.Errorf("a write to the removed shard after the copy: %+v, want rejected, moved", rp)
	}
}

// TestImportRejectsBadIDs: an import names where it goes wrong, and a key
// whose ids come in parts is imported once its last part arrives.
func TestImportRejectsBadIDs(t *testing.T) {
	p := removalPlan(t)
	m := &p.KeyMoves()[0]
	addrs := shards(t, removalText, p)
	u := m.Users[0]
	to := m.To(p, u)
	key := func(ids ...string) shard.ImportKey { return shard.ImportKey{User: u, City: m.City, IDs: ids} }
	for _, c := range []struct {
		keys []shard.ImportKey
		want string
	}{
		{[]shard.ImportKey{key("1.0", "mv/0/in/3")}, "keys[0].ids[1]"},
		{[]shard.ImportKey{key("")}, "keys[0].ids[0]"},
		{[]shard.ImportKey{key(make([]string, 4097)...)}, "write ids per call"},
	} {
		if c.want == "write ids per call" {
			for i := range c.keys[0].IDs {
				c.keys[0].IDs[i] = fmt.Sprintf("%d.0", i)
			}
		}
		code, body := post(t, http.MethodPost, addrs[to], "/v1/import", shard.Import{Change: m.Change, From: m.Set, Keys: c.keys})
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("import %s...: %d %q, want 400 naming %s", c.keys[0].IDs[0], code, body, c.want)
		}
	}
	part := key("1.0", "2.0")
	part.Partial = true
	if code, body := post(t, http.MethodPost, addrs[to], "/v1/import", shard.Import{Change: m.Change, From: m.Set, Keys: []shard.ImportKey{part}}); code != http.StatusOK || !strings.Contains(body, `"imported":0`) {
		t.Fatalf("partial import: %d %s, want no key imported yet", code, body)
	}
	rest := key("3.0")
	rest.Version, rest.Value = 9, []byte("v")
	for range 2 { // the second is a retry: nothing new
		if code, body := post(t, http.MethodPost, addrs[to], "/v1/import", shard.Import{Change: m.Change, From: m.Set, Keys: []shard.ImportKey{rest}}); code != http.StatusOK {
			t.Fatalf("last part: %d %s", code, body)
		}
	}
	if cr := shardtest.Check(t, addrs[to], []string{"1.0", "2.0", "3.0"}); len(cr.Found) != 3 {
		t.Fatalf("ids found after the parts: %+v, want 3", cr)
	}
}
