package registry

import (
	"net/http"
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

// FuzzHandlers: whatever arrives, a copy answers with a status of its API
// and a JSON body, never a panic or a 5xx other than warming up.
func FuzzHandlers(f *testing.F) {
	p := disctest.Default().Plan(f)
	s, err := New(disctest.Env(p, p.Registries[0].Instances[0], nil), nil)
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Handle(mux)
	f.Add("POST", "/v1/register", `{"instance":1}`)
	f.Add("POST", "/v1/heartbeat", `{"instance":2}`)
	f.Add("POST", "/v1/deregister", `{"instance":1}`)
	f.Add("GET", "/v1/list?caller=0", ``)
	f.Add("GET", "/v1/list?service=%zz", ``)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if method != "GET" && method != "POST" {
			return
		}
		u, err := url.Parse(target)
		if err != nil || u.Path == "" || u.Path[0] != '/' || u.Host != "" || u.Scheme != "" {
			return
		}
		w := do(mux, method, u.String(), body)
		switch w.Code {
		case 200, 400, 404, 405, 503:
		case 301, 307, 308: // the mux cleaning a path
		default:
			t.Fatalf("%s %s %q: %d", method, target, body, w.Code)
		}
	})
}
