package discovery

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/discovery/disctest"
	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/scenarios"
)

// TestScopeSetVersusCity: with a registry per set, a caller of set 0
// sees its own set's instances under scope set, and its city's (sets 0
// and 1, read from both registries) under scope city; never the other
// city's.
func TestScopeSetVersusCity(t *testing.T) {
	for _, sc := range []string{"set", "city", "global"} {
		synctest.Test(t, func(t *testing.T) {
			d := disctest.Default()
			d.Scope = sc
			s := newStack(t, d)
			p := s.p
			for _, in := range p.Services[0].Instances {
				s.client(in)
			}
			gw, _, _ := s.client(0)
			time.Sleep(10 * time.Second)
			var want []int
			for _, in := range p.Services[0].Instances {
				if scope.Sees(p, scope.Parse(sc), 0, p.Instances[in].Set) {
					want = append(want, in)
				}
			}
			if got := ids(gw.Instances(0)); !slices.Equal(got, want) {
				t.Fatalf("scope %s: set 0's gateway sees %v, want %v", sc, got, want)
			}
			wantN := map[string]int{"set": 2, "city": 4, "global": 8}[sc]
			if len(want) != wantN {
				t.Fatalf("scope %s: %d instances in scope, want %d", sc, len(want), wantN)
			}
			for _, e := range gw.Instances(0) {
				if e.Addr != s.addrs[e.Instance] || e.Set != p.Instances[e.Instance].Set {
					t.Fatalf("endpoint %+v", e)
				}
			}
			if got := gw.Instances(ProxyService(p)); len(got) != 0 {
				t.Fatalf("data proxies: %v", got)
			}
			if got := gw.Instances(-1); got != nil {
				t.Fatalf("service -1: %v", got)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	p := disctest.Default().Plan(t)
	ep := func(inst int) Endpoint { return Endpoint{Instance: inst, Set: p.Instances[inst].Set} }
	svc := p.Services[0].Instances // two per set: sets 0,0,1,1,2,2,3,3
	all := []Endpoint{ep(svc[0]), ep(svc[2]), ep(svc[4])}
	noOwn := []Endpoint{ep(svc[2]), ep(svc[4])}
	otherCity := []Endpoint{ep(svc[4]), ep(svc[6])}
	cases := []struct {
		scope string
		in    []Endpoint
		want  []int
	}{
		{"set", all, []int{svc[0]}},
		{"city", all, []int{svc[0]}},
		{"set", noOwn, nil},
		{"city", noOwn, []int{svc[2]}},
		{"global", noOwn, []int{svc[2]}},
		{"city", otherCity, nil},
		{"global", otherCity, []int{svc[4], svc[6]}},
	}
	for _, c := range cases {
		if got := ids(scope.Candidates(p, scope.Parse(c.scope), 0, c.in)); !slices.Equal(got, c.want) {
			t.Errorf("scope %s, %v: candidates %v, want %v", c.scope, ids(c.in), got, c.want)
		}
	}
}

// TestProxiesFound: data proxies register like services and are listed
// under ProxyService.
func TestProxiesFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := disctest.Default()
		d.Proxy = true
		s := newStack(t, d)
		p := s.p
		proxy := -1
		for i, in := range p.Instances {
			if in.Role == scenarios.RoleProxy && in.Set == 0 {
				proxy = i
			}
		}
		if proxy < 0 {
			t.Fatal("no proxy in set 0")
		}
		s.client(proxy)
		gw, _, _ := s.client(0)
		time.Sleep(10 * time.Second)
		if got := ids(gw.Instances(ProxyService(p))); !slices.Equal(got, []int{proxy}) {
			t.Fatalf("proxies %v, want [%d]", got, proxy)
		}
		if got := gw.Instances(0); len(got) != 0 {
			t.Fatalf("services %v: none started", ids(got))
		}
	})
}
