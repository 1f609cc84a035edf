package shard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/shard"
	"github.com/stripelab/stripelab/components/shard/shardtest"
)

func FuzzParseRepl(f *testing.F) {
	good, _ := json.Marshal(shard.Repl{Epoch: 2, From: 9, Prev: 3, Head: 4, Entries: []shard.Entry{{Seq: 4, Epoch: 2, ID: "1.0", Key: 7, Value: []byte("x")}}})
	for _, s := range []string{string(good), `{"epoch":1,"reset":true,"head":0}`, `{"epoch":0}`, `{"epoch":1,"prev":5,"entries":[{"seq":5}]}`, `[]`, ``, `{"epoch":1,"entries":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := shard.ParseRepl(b)
		if err != nil {
			return
		}
		for i, e := range m.Entries {
			if e.Seq != m.Prev+uint64(i)+1 || e.ID == "" || e.Epoch > m.Epoch {
				t.Fatalf("accepted a bad entry %d: %+v", i, e)
			}
		}
	})
}

func FuzzParseCheck(f *testing.F) {
	for _, s := range []string{`{"ids":["1.0","2.1"]}`, `{"ids":[]}`, `{"ids":[""]}`, `{}`, `{"ids":"x"}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cr, err := shard.ParseCheck(b)
		if err != nil {
			return
		}
		for _, id := range cr.IDs {
			if id == "" || len(id) > 128 {
				t.Fatalf("accepted id %q", id)
			}
		}
	})
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("2", "1")
	f.Add("", "0.5")
	f.Add("-1", "NaN")
	f.Add("18446744073709551616", "1e400")
	f.Fuzz(func(t *testing.T, epoch, factor string) {
		shard.ParseEpoch(epoch)
		if v, err := shard.ParseSlow(factor); err == nil && !(v > 0 && v <= 1000) {
			t.Fatalf("accepted factor %v", v)
		}
	})
}

// FuzzCallHandler sends arbitrary headers and bodies to a running copy's
// /v1/call and /v1/repl: every answer is a 400 with a message or a reply,
// never a panic.
func FuzzCallHandler(f *testing.F) {
	text, plan := shardtest.Plan(f, shardtest.SyncMajority)
	in := plan.Shards[0].Replicas[1] // a copy: writes answer not_primary without waiting for peers
	cfg := &node.Config{Role: "shard", Scenario: text, Instance: in, Listen: "127.0.0.1:0", DataDir: f.TempDir()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &node.Env{Config: cfg, Plan: plan, Log: log}
	env.Server = node.NewServer(cfg, log, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stop, err := shard.Start(ctx, env)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { cancel(); stop() })
	f.Add("/v1/call", "1.0", "3", "0", "normal", "3", "write", "100000", "", []byte("v"))
	f.Add("/v1/call", "1.0", "3", "0", "high", "3", "read", "100000", "4", []byte{})
	f.Add("/v1/call", "", "-1", "9", "x", "k", "op", "0", "e", []byte("v"))
	f.Add("/v1/repl", "", "", "", "", "", "", "", "", []byte(`{"epoch":1,"from":99}`))
	f.Add("/v1/check", "", "", "", "", "", "", "", "", []byte(`{"ids":["1.0"]}`))
	f.Fuzz(func(t *testing.T, path, id, user, city, prio, key, op, deadline, epoch string, body []byte) {
		switch path {
		case "/v1/call", "/v1/repl", "/v1/check":
		default:
			path = "/v1/call"
		}
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		for k, v := range map[string]string{"X-Sl-Id": id, "X-Sl-User": user, "X-Sl-City": city, "X-Sl-Priority": prio, "X-Sl-Key": key, "X-Sl-Op": op, "X-Sl-Deadline": deadline, shard.HEpoch: epoch} {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		func() {
			defer func() {
				if v := recover(); v != nil && v != http.ErrAbortHandler {
					panic(v)
				}
			}()
			env.Server.Mux.ServeHTTP(w, r)
		}()
		if w.Code == http.StatusBadRequest && w.Body.Len() == 0 {
			t.Fatalf("400 without a message")
		}
	})
}
