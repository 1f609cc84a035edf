package checker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzShardAnswers feeds arbitrary /v1/role and /v1/check bodies to the
// read-back: it never panics, and every write ends found, lost or unknown.
func FuzzShardAnswers(f *testing.F) {
	f.Add(`{"primary":true,"epoch":3}`, `{"found":["1.1"],"epoch":3,"primary":true}`)
	f.Add(`{"primary":true}`, `{"found":null,"primary":true}`)
	f.Add(`not json`, `{}`)
	f.Add(`{"primary":true,"epoch":1}`, `{"found":["1.1","1.1","x"],"primary":true}`)
	f.Add(`{"primary":"yes"}`, `[`)
	f.Fuzz(func(t *testing.T, role, check string) {
		p := plan(t)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/role" {
				w.Write([]byte(role))
				return
			}
			w.Write([]byte(check))
		}))
		defer ts.Close()
		writes := []Write{{ID: "1.1", Shard: 0}, {ID: "2.1", Shard: 0}, {ID: "3.1", Shard: 1}, {ID: "4.1", Shard: 99}}
		res := Check(context.Background(), Config{Plan: p, Addr: func(int) string { return ts.Listener.Addr().String() }, Timeout: time.Second}, writes)
		if res.Found+res.Lost+res.Unknown != res.Acked || res.Acked != int64(len(writes)) {
			t.Fatalf("found %d + lost %d + unknown %d != acked %d", res.Found, res.Lost, res.Unknown, res.Acked)
		}
	})
}
