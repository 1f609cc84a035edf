package gateway

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/wire"
)

// FuzzGatewayRequest feeds the gateway's request parser arbitrary header
// values and bodies: it answers 400 with a message or a wire reply, never
// panics. sign signs what decodes, so accepted requests run the whole path.
func FuzzGatewayRequest(f *testing.F) {
	f.Add("1.0", "5", "0", "normal", "9", "read", "250000", "0", "", []byte(nil), true)
	f.Add("7.2", "1099511627776", "3", "low", "18446744073709551615", "write", "1", "15", "pay", []byte("value"), true)
	f.Add("", "-1", "x", "urgent", "k", "delete", "0", "99", "", []byte("x"), false)
	f.Add("1.0", "5", "0", "high", "9", "read", "3600000001", "", "", []byte("body on a read"), true)
	g, _, _ := newTestGateway(f, "cost: 0s\nauth: {enabled: true, cost: 0s}", &upstream{})
	f.Fuzz(func(t *testing.T, id, user, city, prio, key, op, dl, hops, cmd string, body []byte, sign bool) {
		req := httptest.NewRequest("POST", wire.Path, bytes.NewReader(body))
		h := req.Header
		for _, kv := range [][2]string{{wire.HID, id}, {wire.HUser, user}, {wire.HCity, city}, {wire.HPriority, prio},
			{wire.HKey, key}, {wire.HOp, op}, {wire.HDeadline, dl}, {wire.HHops, hops}, {wire.HCommand, cmd}} {
			h[kv[0]] = []string{kv[1]}
		}
		if r, err := wire.Decode(h, body); err == nil && sign {
			h.Set(wire.HSig, wire.Sign([]byte(testSecret), &r))
		}
		comptest.WantAnswer(t, g, req)
	})
}
