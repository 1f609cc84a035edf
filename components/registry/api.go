package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/scenarios"
)

// Paths of the registry's API.
const (
	PathRegister   = "/v1/register"   // POST {"instance":I}: take or renew I's lease
	PathHeartbeat  = "/v1/heartbeat"  // POST {"instance":I}: renew; 404 when I holds no lease
	PathDeregister = "/v1/deregister" // POST {"instance":I}: drop I's lease (a graceful stop)
	PathList       = "/v1/list"       // GET ?caller=I[&service=K]: the live instances I's scope sees
)

// MaxBody bounds a request body.
const MaxBody = 1 << 10

// InstanceRequest is the body of register, heartbeat and deregister.
type InstanceRequest struct {
	Instance int `json:"instance"`
}

// LeaseReply answers a register or heartbeat: the lease's length and how
// often to renew it (discovery.ttl and discovery.heartbeat).
type LeaseReply struct {
	Instance    int   `json:"instance"`
	TTLMs       int64 `json:"ttl_ms"`
	HeartbeatMs int64 `json:"heartbeat_ms"`
	New         bool  `json:"new"` // the lease was taken, not renewed
}

// Entry is one live instance in a list.
type Entry struct {
	Instance    int   `json:"instance"`
	Service     int   `json:"service"`
	Set         int   `json:"set"`
	ExpiresInMs int64 `json:"expires_in_ms"` // what is left of its lease
}

// ListReply is the answer of GET /v1/list.
type ListReply struct {
	Registry  int     `json:"registry"` // index in Plan.Registries
	Copy      int     `json:"copy"`     // the instance that answered
	Sets      []int   `json:"sets"`     // the sets this registry serves
	Instances []Entry `json:"instances"`
}

// ErrorReply is the body of every non-200 answer.
type ErrorReply struct {
	Error string `json:"error"`
}

// ParseInstance reads the body of register, heartbeat or deregister and
// checks that the instance is one the registry serves: found through
// discovery (a service or data proxy) and in one of sets.
func ParseInstance(p *scenarios.Plan, sets []bool, body []byte) (int, error) {
	if len(body) > MaxBody {
		return 0, fmt.Errorf("body: at most %d bytes, got %d", MaxBody, len(body))
	}
	var r struct {
		Instance *int `json:"instance"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return 0, fmt.Errorf("body: want {\"instance\": N}: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("body: want one JSON object and nothing after it")
	}
	if r.Instance == nil {
		return 0, fmt.Errorf("body: want {\"instance\": N}, the field instance is missing")
	}
	return checkMember(p, sets, "instance", *r.Instance)
}

func checkMember(p *scenarios.Plan, sets []bool, field string, i int) (int, error) {
	if i < 0 || i >= len(p.Instances) {
		return 0, fmt.Errorf("%s: %d is not an instance of the plan (0 to %d)", field, i, len(p.Instances)-1)
	}
	if scope.ServiceOf(p, i) < 0 {
		return 0, fmt.Errorf("%s: %d is a %s, which is not found through discovery", field, i, p.Instances[i].Role)
	}
	if s := p.Instances[i].Set; !sets[s] {
		return 0, fmt.Errorf("%s: %d is in set %s, which this registry does not serve", field, i, p.Sets[s].Name)
	}
	return i, nil
}

// ListQuery is a parsed GET /v1/list.
type ListQuery struct {
	Caller  int // the instance whose scope filters the list; -1: every instance served (a sibling copy's sync)
	Service int // -1: every service
}

// ParseList reads the query of GET /v1/list: caller (any instance of the
// plan; omitted only by a sibling copy) and service (a service index, or
// ProxyService for the data proxies).
func ParseList(p *scenarios.Plan, q url.Values) (ListQuery, error) {
	lq := ListQuery{Caller: -1, Service: -1}
	for k := range q {
		if k != "caller" && k != "service" {
			return lq, fmt.Errorf("query: unknown parameter %q (want caller and service)", trunc(k))
		}
	}
	var err error
	if lq.Caller, err = intParam(q, "caller", len(p.Instances)-1); err != nil {
		return lq, err
	}
	if lq.Service, err = intParam(q, "service", scope.ProxyService(p)); err != nil {
		return lq, err
	}
	return lq, nil
}

func intParam(q url.Values, name string, hi int) (int, error) {
	vs, ok := q[name]
	if !ok {
		return -1, nil
	}
	if len(vs) != 1 {
		return 0, fmt.Errorf("%s: want one value, got %d", name, len(vs))
	}
	v, err := strconv.Atoi(vs[0])
	if err != nil || v < 0 || v > hi {
		return 0, fmt.Errorf("%s: want an integer from 0 to %d, got %q", name, hi, trunc(vs[0]))
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
