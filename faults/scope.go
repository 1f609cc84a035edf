package faults

import (
	"fmt"
	"strings"
)

// ScopeKind is what a target names.
type ScopeKind uint8

// Scope kinds, from the whole deployment down to one machine, then the
// logical scopes.
const (
	ScopeAll ScopeKind = iota
	ScopeCity
	ScopeAZ
	ScopeRack
	ScopeMachine
	ScopeSet
	ScopeService
	ScopeShard
)

var scopeNames = [...]string{"all", "city", "az", "rack", "machine", "set", "service", "shard"}

func (k ScopeKind) String() string { return scopeNames[k] }

// Scope is a parsed target such as az=shenzhen/a. Name is the full name
// (city/az/rack/machine for physical scopes).
type Scope struct {
	Kind ScopeKind
	Name string
}

func (s Scope) String() string {
	if s.Kind == ScopeAll {
		return "all"
	}
	return s.Kind.String() + "=" + s.Name
}

// ParseScope reads "kind=name". An empty string or "all" is ScopeAll.
func ParseScope(s string) (Scope, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return Scope{Kind: ScopeAll}, nil
	}
	k, name, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return Scope{}, fmt.Errorf("expected a target such as city=NAME, az=CITY/AZ, rack=CITY/AZ/RACK, machine=CITY/AZ/RACK/M, set=NAME, service=NAME or shard=N, got %q", s)
	}
	for i, n := range scopeNames {
		if i > 0 && n == k {
			return Scope{Kind: ScopeKind(i), Name: name}, nil
		}
	}
	return Scope{}, fmt.Errorf("unknown target kind %q in %q; expected city, az, rack, machine, set, service or shard", k, s)
}

// Physical reports whether the scope is a place in the topology.
func (k ScopeKind) Physical() bool { return k >= ScopeCity && k <= ScopeMachine }
