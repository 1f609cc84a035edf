package network

import (
	"context"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/wire"
)

// BenchmarkHop compares one wire request to an HTTP server directly and
// through a link with no delay (the proxy's own cost) and with the default
// same-rack delay of 100us each way.
func BenchmarkHop(b *testing.B) {
	ts := echo(b)
	s := NewServer(context.Background(), 1)
	defer s.Close()
	zero, err := s.Add(Spec{Name: "zero", Listen: "127.0.0.1:0", Upstream: ts.Listener.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	rack, err := s.Add(Spec{Name: "rack", Listen: "127.0.0.1:0", Upstream: ts.Listener.Addr().String(), Delay: 100 * time.Microsecond})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, addr string }{
		{"direct", ts.Listener.Addr().String()}, {"proxied", zero.Listen}, {"proxied-100us", rack.Listen},
	} {
		b.Run(c.name, func(b *testing.B) {
			wc := wire.NewClient(4)
			defer wc.Close()
			r := wire.Request{ID: "1.1", Priority: 1, Deadline: time.Second}
			ctx := context.Background()
			for b.Loop() {
				r.Deadline = time.Second
				wc.Call(ctx, c.addr, &r, "")
			}
		})
	}
}
