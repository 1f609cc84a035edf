package registry

import (
	"net/url"
	"testing"

	"github.com/stripelab/stripelab/components/discovery/disctest"
)

func FuzzParseInstance(f *testing.F) {
	p := disctest.Default().Plan(f)
	sets := make([]bool, len(p.Sets))
	sets[0] = true
	for _, s := range []string{`{"instance":1}`, `{"instance":0}`, `{}`, `{"instance":1} x`, `null`, `{"instance":1e3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		inst, err := ParseInstance(p, sets, body)
		if err == nil && (inst < 0 || inst >= len(p.Instances) || !sets[p.Instances[inst].Set]) {
			t.Fatalf("accepted instance %d", inst)
		}
	})
}

func FuzzParseList(f *testing.F) {
	p := disctest.Default().Plan(f)
	for _, s := range []string{"caller=1", "caller=1&service=0", "service=x", "a=b", "caller=1&caller=1", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, err := ParseList(p, q)
		if err == nil && (lq.Caller >= len(p.Instances) || lq.Service > len(p.Services)) {
			t.Fatalf("accepted %+v", lq)
		}
	})
}
