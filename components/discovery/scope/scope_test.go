package scope_test

import (
	"slices"
	"testing"

	"github.com/stripelab/stripelab/components/discovery/disctest"
	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/scenarios"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]scope.Kind{"set": scope.Set, "city": scope.City, "global": scope.Global, "": scope.Set} {
		if got := scope.Parse(s); got != want {
			t.Errorf("Parse(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestMembers checks Members against a plain reading of the rule: a
// caller of set s finds the services and proxies of the sets its scope
// sees, grouped by service.
func TestMembers(t *testing.T) {
	d := disctest.Default()
	d.ServiceInstances, d.Proxy = 3, true
	p := d.Plan(t)
	if n := len(scope.Members(p, scope.Global, 0)); n != len(p.Sets)*(3+1) {
		t.Fatalf("%d members, want 3 service instances and a proxy per set", n)
	}
	for _, k := range []scope.Kind{scope.Set, scope.City, scope.Global} {
		for s := range p.Sets {
			var want []int
			for i, in := range p.Instances {
				if in.Role != scenarios.RoleService && in.Role != scenarios.RoleProxy {
					continue
				}
				if k == scope.Global || in.Set == s || (k == scope.City && p.Sets[in.Set].City == p.Sets[s].City) {
					want = append(want, i)
				}
			}
			// services first (one service here), then the proxies
			slices.SortStableFunc(want, func(a, b int) int {
				return int(p.Instances[a].Role) - int(p.Instances[b].Role)
			})
			if got := scope.Members(p, k, s); !slices.Equal(got, want) {
				t.Errorf("scope %v, set %d: members %v, want %v", k, s, got, want)
			}
		}
	}
	for i, in := range p.Instances {
		want := -1
		switch in.Role {
		case scenarios.RoleService:
			want = in.Service
		case scenarios.RoleProxy:
			want = scope.ProxyService(p)
		}
		if got := scope.ServiceOf(p, i); got != want {
			t.Errorf("ServiceOf(%d, a %v) = %d, want %d", i, in.Role, got, want)
		}
	}
	if scope.ServiceOf(p, -1) != -1 || scope.ServiceOf(p, len(p.Instances)) != -1 {
		t.Error("ServiceOf out of range")
	}
}

func TestSort(t *testing.T) {
	eps := []scope.Endpoint{{Instance: 5, Set: 1}, {Instance: 2, Set: 1}, {Instance: 9, Set: 0}}
	scope.Sort(eps)
	if got := []int{eps[0].Instance, eps[1].Instance, eps[2].Instance}; !slices.Equal(got, []int{9, 2, 5}) {
		t.Fatalf("sorted %v, want by set then instance", got)
	}
}
