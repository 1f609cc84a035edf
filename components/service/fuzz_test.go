package service

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/wire"
)

// FuzzServiceRequest feeds the service's request parser arbitrary header
// values and bodies: it answers 400 with a message or a wire reply, never
// panics.
func FuzzServiceRequest(f *testing.F) {
	f.Add("1.0", "5", "0", "normal", "9", "read", "250000", "1", []byte(nil))
	f.Add("7.2", "1099511627776", "3", "low", "18446744073709551615", "write", "1", "15", []byte("value"))
	f.Add("", "-1", "x", "urgent", "k", "delete", "0", "99", []byte("x"))
	f.Add("1.0", "5", "0", "high", "9", "read", "3600000001", "", []byte("body on a read"))
	s, _, _ := newTestService(f, "service_time: 1us\ncalls:\n  - {service: back, timeout: 10ms}\n  - {data: request, timeout: 10ms}", &hop{}, &hop{})
	f.Fuzz(func(t *testing.T, id, user, city, prio, key, op, dl, hops string, body []byte) {
		req := httptest.NewRequest("POST", wire.Path, bytes.NewReader(body))
		for _, kv := range [][2]string{{wire.HID, id}, {wire.HUser, user}, {wire.HCity, city}, {wire.HPriority, prio},
			{wire.HKey, key}, {wire.HOp, op}, {wire.HDeadline, dl}, {wire.HHops, hops}} {
			req.Header[kv[0]] = []string{kv[1]}
		}
		comptest.WantAnswer(t, s, req)
	})
}
