package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// base is the smallest valid scenario: one city (2 AZs x 2 racks x 4
// machines, AZ sets a/a and a/b) and one service. Cases append lines from
// line 3 on, or replace it entirely.
const base = "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}]}\n"

// topo2 is a two-city topology on lines 1-3 for cases that need cities.
const topo2 = "topology:\n  cities: [{name: a}, {name: b}]\nstack: {services: [{name: s}]}\n"

type errCase struct {
	name string
	src  string
	at   string // line:col
	path string
	msg  string // a fragment of the message
}

// errorCases lists one case per error the decoder and the validator
// report. Each case must produce exactly that one error.
var errorCases = []errCase{
	// syntax and structure (load.go, decode.go)
	{"empty file", "", "1:1", "", "the file is empty"},
	{"comment only", "# nothing\n", "1:1", "", "the file is empty"},
	{"yaml syntax", base + "run:\n\tduration: 5m\n", "4:1", "", "YAML syntax: found character that cannot start any token"},
	{"unknown anchor", base + "run: {seed: 1}\nworkload: {rate: *r}\n", "4:18", "", "YAML syntax: unknown anchor 'r' referenced"},
	{"control character", base + "name: a\x01b\n", "3:8", "", "YAML syntax: control characters are not allowed"},
	{"invalid UTF-8", base + "name: \xff\n", "3:7", "", "YAML syntax: invalid leading UTF-8 octet"},
	{"second document", base + "---\nrun: {}\n", "3:1", "", "holds one YAML document"},
	{"not a mapping", "[1, 2]\n", "1:1", "", "expected a mapping of fields, got a list"},
	{"unknown field", base + "colour: red\n", "3:1", "colour", `unknown field "colour"; expected one of: description, faults, name, run, scaling, slo, stack, striping, topology, workload`},
	{"unknown nested field", base + "run: {duraton: 5m}\n", "3:7", "run.duraton", `unknown field "duraton"; expected one of: duration, seed, warmup, window`},
	{"duplicate field", base + "run: {seed: 1, seed: 2}\n", "3:16", "run.seed", `field "seed" is given twice`},
	{"duplicate top-level field", base + "stack: {}\n", "3:1", "stack", `field "stack" is given twice`},
	{"complex key", base + "run: {[a]: 1}\n", "3:7", "run", "expected a field name, got a list"},
	{"list for a struct", base + "run: [5m]\n", "3:6", "run", "expected a mapping of fields, got a list"},
	{"scalar for a list", base + "faults: none\n", "3:9", "faults", `expected a list, got a value "none"`},
	{"scalar for a map", base + "slo: {latency: 5ms}\n", "3:16", "slo.latency", `expected a mapping, got a value "5ms"`},
	{"duplicate map key", base + "slo: {latency: {p99: 1s, p99: 2s}}\n", "3:26", "slo.latency.p99", `key "p99" is given twice`},
	{"mapping for a scalar", base + "run: {seed: {a: 1}}\n", "3:13", "run.seed", "expected a single value, got a mapping"},
	{"mapping for a duration", base + "run: {duration: [5m]}\n", "3:17", "run.duration", "expected a single value, got a list"},
	{"binary tag", base + "name: !!binary aGVsbG8=\n", "3:7", "name", "the YAML tag !!binary is not supported"},
	{"custom tag", base + "run: {duration: !minutes 5}\n", "3:17", "run.duration", "the YAML tag !minutes is not supported"},
	{"tagged key", base + "run: {!k seed: 1}\n", "3:7", "run.seed", "the YAML tag !k is not supported"},
	{"tagged list item", "topology: {cities: [{name: a, azs: [x, !y z]}]}\nstack: {services: [{name: s}]}\n", "1:40", "topology.cities[0].azs[1]", "the YAML tag !y is not supported"},
	{"timestamp tag", base + "description: !!timestamp 2024-01-01\n", "3:14", "description", "the YAML tag !!timestamp is not supported"},
	{"bad bool", base + "slo: {shed_order: maybe}\n", "3:19", "slo.shed_order", `expected true or false, got "maybe"`},
	{"bad int", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, instances: two}]}\n", "2:41", "stack.services[0].instances", `expected a whole number, got "two"`},
	{"quoted int", base + "workload: {client: {retries: \"2\"}}\n", "3:30", "workload.client.retries", `expected a whole number, got "2"`},
	{"negative uint", base + "run: {seed: -1}\n", "3:13", "run.seed", `expected a non-negative whole number, got "-1"`},
	{"bad float", base + "workload: {keys: {distribution: zipf, s: steep}}\n", "3:42", "workload.keys.s", `expected a number, got "steep"`},
	{"infinite float", base + "faults: [{at: 1m, kind: overload, factor: .inf}]\n", "3:43", "faults[0].factor", `expected a number, got ".inf"`},
	{"bad duration", base + "run: {duration: 5}\n", "3:17", "run.duration", `expected a duration such as 250ms, 5m or 1h30m, got "5"`},
	{"negative duration", base + "run: {warmup: -1s}\n", "3:15", "run.warmup", `expected a non-negative duration, got "-1s"`},
	{"bad rate", base + "workload: {rate: 10k}\n", "3:18", "workload.rate", `expected a rate such as 10k/s, 500/s or 600/m, got "10k"`},
	{"bad rate number", base + "workload: {rate: lots/s}\n", "3:18", "workload.rate", `expected a rate such as 10k/s`},
	{"bad percent", base + "slo: {availability: 99.9}\n", "3:21", "slo.availability", `expected a percentage such as 99.9% or 20%, got "99.9"`},
	{"negative percent", base + "slo: {availability: -5%}\n", "3:21", "slo.availability", "expected a non-negative percentage"},
	{"bad count", base + "workload: {users: {count: 1.5}}\n", "3:27", "workload.users.count", `expected a whole number such as 1000, 64k or 1M, got "1.5"`},
	{"huge count", base + "workload: {users: {count: 1e300}}\n", "3:27", "workload.users.count", "expected a whole number"},
	{"bad names count", "topology: {cities: [{name: a, azs: -2}]}\nstack: {services: [{name: s}]}\n", "1:36", "topology.cities[0].azs", `expected a count (such as 4 or 10k) or a list of names, got "-2"`},
	{"names mapping", "topology: {cities: [{name: a, racks: {r: 1}}]}\nstack: {services: [{name: s}]}\n", "1:38", "topology.cities[0].racks", "expected a count (such as 4 or 10k) or a list of names"},
	{"names list item", "topology: {cities: [{name: a, azs: [x, [y]]}]}\nstack: {services: [{name: s}]}\n", "1:40", "topology.cities[0].azs[1]", "expected a name"},
	{"bad distribution scalar", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: fast}]}\n", "2:44", "stack.services[0].service_time", "expected a duration (constant) or a mapping with dist and mean"},
	{"bad merge", base + "run: {<<: 5}\n", "3:11", "run", "a merge (<<) takes a mapping or a list of mappings"},
	{"second document syntax", base + "---\nrun: {\n", "4:1", "", "after the first document (a scenario file holds one): YAML syntax"},
	{"merge of a list of scalars", base + "run: {<<: [1]}\n", "3:12", "run", "a merge (<<) takes mappings, got a value"},
	{"alias bomb", base + aliasBomb, "5:5", "faults[5]", "the document expands to more than 100000 values"},

	// run
	{"zero duration", base + "run: {duration: 0, warmup: 0}\n", "3:17", "run.duration", "expected a positive duration"},
	{"warm-up too long", base + "run: {duration: 1m, warmup: 1m}\n", "3:29", "run.warmup", "warm-up 1m0s leaves nothing of a 1m0s run to measure"},
	{"zero window", base + "run: {window: 0}\n", "3:15", "run.window", "expected a positive duration"},
	{"window too long", base + "run: {duration: 1m, window: 2m}\n", "3:29", "run.window", "the window 2m0s is longer than the run 1m0s"},
	{"too many windows", base + "run: {duration: 10h, window: 1ms}\n", "3:30", "run.window", "more than a million windows"},

	// topology
	{"no cities", "topology: {cities: []}\nstack: {services: [{name: s}]}\n", "1:20", "topology.cities", "expected at least one city"},
	{"bad city name", "topology: {cities: [{name: a/b}]}\nstack: {services: [{name: s}]}\n", "1:28", "topology.cities[0].name", `expected a name without '/', '=', ',' or spaces, got "a/b"`},
	{"city twice", "topology: {cities: [{name: a}, {name: a}]}\nstack: {services: [{name: s}]}\n", "1:39", "topology.cities[1].name", `city "a" is listed twice`},
	{"zero racks", "topology: {cities: [{name: a, racks: 0}]}\nstack: {services: [{name: s}]}\n", "1:38", "topology.cities[0].racks", "expected at least one"},
	{"too many names", "topology: {cities: [{name: a, machines: 200000}]}\nstack: {services: [{name: s}]}\n", "1:41", "topology.cities[0].machines", "expected at most 100000, got 200000"},
	{"bad listed name", "topology: {cities: [{name: a, azs: [x, 'y z']}]}\nstack: {services: [{name: s}]}\n", "1:40", "topology.cities[0].azs[1]", `expected a name without '/', '=', ',' or spaces, got "y z"`},
	{"listed twice", "topology: {cities: [{name: a, azs: [x, x]}]}\nstack: {services: [{name: s}]}\n", "1:40", "topology.cities[0].azs[1]", `name "x" is listed twice`},
	{"negative city cores", "topology: {cities: [{name: a, cores: -1}]}\nstack: {services: [{name: s}]}\n", "1:38", "topology.cities[0].cores", "expected a positive count or 0 for the default"},
	{"zero machine cores", "topology: {cities: [{name: a}], machine: {cores: 0}}\nstack: {services: [{name: s}]}\n", "1:50", "topology.machine.cores", "expected at least 1, got 0"},
	{"machines counted exactly", "topology: {cities: [{name: a, azs: 2, racks: 1000, machines: 1000}, {name: b}]}\nstack: {services: [{name: s}]}\n", "1:20", "topology.cities", "the topology has 2,000,016 machines; at most 100,000 are supported"},
	{"duplicate service, not the call it leaves unknown", "topology: {cities: [{name: a}]}\nstack:\n  services:\n    - {name: api, calls: [{service: db}]}\n    - {name: api}\n", "5:14", "stack.services[1].name", `service "api" is listed twice`},
	{"too many machines", "topology: {cities: [{name: a, azs: 100, racks: 100, machines: 100}]}\nstack: {services: [{name: s}]}\n", "1:20", "topology.cities", "the topology has 1,000,000 machines; at most 100,000 are supported"},
	{"between one city", "topology:\n  cities: [{name: a}]\n  latency: {cities: [{between: [a, a], delay: 5ms}]}\nstack: {services: [{name: s}]}\n", "3:32", "topology.latency.cities[0].between", "expected two different city names"},
	{"unknown city in latency", "topology:\n  cities: [{name: a}]\n  latency: {cities: [{between: [a, x], delay: 5ms}]}\nstack: {services: [{name: s}]}\n", "3:32", "topology.latency.cities[0].between", `unknown city "x"`},
	{"latency pair twice", "topology:\n  cities: [{name: a}, {name: b}]\n  latency:\n    cities:\n      - {between: [a, b], delay: 5ms}\n      - {between: [b, a], delay: 6ms}\nstack: {services: [{name: s}]}\n", "6:19", "topology.latency.cities[1].between", "the delay between a and b is given twice"},
	{"zero city delay", "topology:\n  cities: [{name: a}, {name: b}]\n  latency: {cities: [{between: [a, b], delay: 0}]}\nstack: {services: [{name: s}]}\n", "3:47", "topology.latency.cities[0].delay", "expected a positive duration"},
	{"jitter too high", "topology:\n  cities: [{name: a}]\n  latency: {jitter: 2000%}\nstack: {services: [{name: s}]}\n", "3:21", "topology.latency.jitter", "expected at most 1000%"},
	{"bad granularity", base + "striping: {granularity: region}\n", "3:25", "striping.granularity", `expected one of city, az, rack, machine, got "region"`},

	// gateway
	{"zero gateways", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {instances: 0}}\n", "2:53", "stack.gateway.instances", "expected at least 1, got 0"},
	{"zero gateway concurrency", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {concurrency: 0}}\n", "2:55", "stack.gateway.concurrency", "expected at least 1, got 0"},
	{"negative queue", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {queue: {capacity: -1}}}\n", "2:60", "stack.gateway.queue.capacity", "expected 0 or more"},
	{"bad shedding policy", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {policy: lifo}}}\n", "2:61", "stack.gateway.shedding.policy", `expected one of priority, random, none, got "lifo"`},
	{"start under priority", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {start: 50%}}}\n", "2:53", "stack.gateway.shedding.start", "start does not apply when policy is priority"},
	{"thresholds fall", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {low: 60%}}}\n", "2:52", "stack.gateway.shedding", "thresholds must rise with priority: low 60% <= normal 50% <= high 90%"},
	{"threshold above 100%", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {high: 150%}}}\n", "2:59", "stack.gateway.shedding.high", "expected at most 100%, got 150%"},
	{"low under random", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {policy: random, low: 10%}}}\n", "2:69", "stack.gateway.shedding.low", "low does not apply when policy is random"},
	{"start above 100%", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {policy: random, start: 120%}}}\n", "2:76", "stack.gateway.shedding.start", "expected at most 100%, got 120%"},
	{"high under none", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {policy: none, high: 90%}}}\n", "2:67", "stack.gateway.shedding.high", "high does not apply when policy is none"},
	{"unknown upstream", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {upstream: t}}\n", "2:52", "stack.gateway.upstream", `unknown service "t"`},

	// discovery
	{"bad scope", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {scope: world}}\n", "2:51", "stack.discovery.scope", `expected one of set, city, global, got "world"`},
	{"bad mode", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: dns}}\n", "2:50", "stack.discovery.mode", `expected one of registry, mesh, got "dns"`},
	{"mesh field under registry", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: registry, propagation: 1s}}\n", "2:60", "stack.discovery.propagation", "propagation does not apply when mode is registry"},
	{"registry field under mesh", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: mesh, ttl: 10s}}\n", "2:56", "stack.discovery.ttl", "ttl does not apply when mode is mesh"},
	{"bad placement", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {placement: central}}\n", "2:55", "stack.discovery.placement", `expected per-set or a place such as city=NAME or az=CITY/AZ, got "central"`},
	{"unknown placement", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {placement: az=a/z}}\n", "2:55", "stack.discovery.placement", `unknown az "a/z"; known: a/a, a/b`},
	{"registry copies", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {replicas: 12}}\n", "2:54", "stack.discovery.replicas", "expected 1 to 9 copies, got 12"},
	{"registry copies under mesh", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: mesh, replicas: 2}}\n", "2:56", "stack.discovery.replicas", "replicas does not apply when mode is mesh"},
	{"zero heartbeat", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {heartbeat: 0}}\n", "2:55", "stack.discovery.heartbeat", "expected a positive duration"},
	{"ttl under heartbeat", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {heartbeat: 5s, ttl: 5s}}\n", "2:64", "stack.discovery.ttl", "the TTL 5s must exceed the heartbeat 5s"},
	{"zero refresh", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {refresh: 0}}\n", "2:53", "stack.discovery.refresh", "expected a positive duration"},

	// services and calls
	{"no services", "topology: {cities: [{name: a}]}\nstack: {services: []}\n", "2:19", "stack.services", "expected at least one service for the gateway to call"},
	{"bad service name", "topology: {cities: [{name: a}]}\nstack: {services: [{name: 'my svc'}]}\n", "2:27", "stack.services[0].name", `expected a name without '/', '=', ',' or spaces, got "my svc"`},
	{"service twice", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}, {name: s}]}\n", "2:38", "stack.services[1].name", `service "s" is listed twice`},
	{"zero service instances", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, instances: 0}]}\n", "2:41", "stack.services[0].instances", "expected at least 1, got 0"},
	{"zero service concurrency", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, concurrency: 0}]}\n", "2:43", "stack.services[0].concurrency", "expected at least 1, got 0"},
	{"negative service queue", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, queue: -5}]}\n", "2:37", "stack.services[0].queue", "expected 0 or more"},
	{"bad dist", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: pareto, mean: 1ms}}]}\n", "2:51", "stack.services[0].service_time.dist", `expected one of constant, exponential, lognormal, uniform, got "pareto"`},
	{"mean under uniform", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: uniform, min: 1ms, max: 2ms, mean: 1ms}}]}\n", "2:80", "stack.services[0].service_time.mean", "mean does not apply when dist is uniform"},
	{"uniform max under min", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: uniform, min: 2ms, max: 1ms}}]}\n", "2:75", "stack.services[0].service_time.max", "expected max above min (2ms)"},
	{"min under lognormal", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: lognormal, mean: 1ms, min: 1ms}}]}\n", "2:73", "stack.services[0].service_time.min", "min does not apply when dist is lognormal"},
	{"lognormal without mean", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: lognormal, mean: 0}}]}\n", "2:68", "stack.services[0].service_time.mean", "expected a positive duration"},
	{"sigma too wide", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: lognormal, mean: 1ms, sigma: 9}}]}\n", "2:80", "stack.services[0].service_time.sigma", "expected a shape above 0 and at most 5, got 9"},
	{"sigma under exponential", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: exponential, mean: 1ms, sigma: 1}}]}\n", "2:75", "stack.services[0].service_time.sigma", "sigma does not apply when dist is exponential"},
	{"zero mean", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: 0}]}\n", "2:44", "stack.services[0].service_time.mean", "expected a positive duration"},
	{"call names both", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{service: t, data: read}]}, {name: t}]}\n", "2:38", "stack.services[0].calls[0]", "a call names either a service or data, not both"},
	{"call names neither", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{timeout: 1s}]}]}\n", "2:38", "stack.services[0].calls[0]", "a call needs service or data"},
	{"call unknown service", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{service: t}]}]}\n", "2:48", "stack.services[0].calls[0].service", `unknown service "t"`},
	{"bad data call", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{data: scan}]}]}\n", "2:45", "stack.services[0].calls[0].data", `expected one of read, write, request, got "scan"`},
	{"data call without data", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{data: read}]}], data: {mode: none}}\n", "2:45", "stack.services[0].calls[0].data", "a data call needs stack.data.mode other than none"},
	{"call cycle", "topology: {cities: [{name: a}]}\nstack:\n  services:\n    - {name: s, calls: [{service: t}]}\n    - {name: t, calls: [{service: s}]}\n", "4:24", "stack.services[0].calls", "calls form a cycle: s -> t -> s"},
	{"call chain too deep", "topology: {cities: [{name: a}]}\nstack:\n  services:\n" + deepChain, "4:5", "stack.services", "the call chain is 13 levels deep; at most 12 are supported"},

	// data
	{"bad data mode", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: kv}}\n", "2:45", "stack.data.mode", `expected one of global, sharded, proxy, none, got "kv"`},
	{"field under none", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: none, replicas: 2}}\n", "2:51", "stack.data.replicas", "replicas does not apply when mode is none"},
	{"shards under sharded", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {shards: 4}}\n", "2:39", "stack.data.shards", "shards does not apply when mode is sharded"},
	{"proxy under global", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: global, proxy: {}}}\n", "2:53", "stack.data.proxy", "proxy does not apply when mode is global"},
	{"primary under proxy", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy, primary: city=a}}\n", "2:52", "stack.data.primary", "primary does not apply when mode is proxy"},
	{"zero shards", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy, shards: 0}}\n", "2:60", "stack.data.shards", "expected at least 1, got 0"},
	{"too many shards", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy, shards: 200000, replicas: 1}}\n", "2:60", "stack.data.shards", "expected at most 100000"},
	{"zero replicas", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replicas: 0}}\n", "2:49", "stack.data.replicas", "expected at least 1, got 0"},
	{"zero shard concurrency", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {concurrency: 0}}\n", "2:52", "stack.data.concurrency", "expected at least 1, got 0"},
	{"bad reads", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {reads: any}}\n", "2:46", "stack.data.reads", `expected one of nearest, primary, got "any"`},
	{"bad placement level", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {placement: region}}\n", "2:50", "stack.data.placement", `expected one of machine, rack, az, city, got "region"`},
	{"too many replicas", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replicas: 3, placement: az}}\n", "2:49", "stack.data.replicas", "3 replicas spread over distinct azs need 3; the topology has 2"},
	{"replicas over cities", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replicas: 2, placement: city}}\n", "2:49", "stack.data.replicas", "2 replicas spread over distinct cities need 2; the topology has 1"},
	{"bad primary", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: global, primary: shard=1}}\n", "2:62", "stack.data.primary", `expected a place such as city=NAME, got "shard=1"`},
	{"unknown primary", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: global, primary: city=x}}\n", "2:62", "stack.data.primary", `unknown city "x"; known: a`},
	{"bad replication", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replication: semi}}\n", "2:52", "stack.data.replication", `expected one of sync, async, got "semi"`},
	{"lag under sync", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replication: sync, lag: 1s}}\n", "2:58", "stack.data.lag", "lag does not apply when replication is sync"},
	{"bad acks", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replication: sync, acks: two}}\n", "2:64", "stack.data.acks", `expected one of one, majority, all, got "two"`},
	{"sync alone", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replication: sync, replicas: 1}}\n", "2:52", "stack.data.replication", "sync replication needs at least 2 replicas"},
	{"acks under async", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {acks: all}}\n", "2:39", "stack.data.acks", "acks does not apply when replication is async"},
	{"zero proxies", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy, proxy: {instances: 0}}}\n", "2:71", "stack.data.proxy.instances", "expected at least 1, got 0"},
	{"zero proxy concurrency", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy, proxy: {concurrency: 0}}}\n", "2:73", "stack.data.proxy.concurrency", "expected at least 1, got 0"},
	{"too many instances", "topology: {cities: [{name: a, machines: 1000}]}\nstack: {services: [{name: s, instances: 600000}]}\n", "2:8", "stack", "the stack places 1200008 instances over 2 sets; at most 1000000 are supported"},

	// workload
	{"zero rate", base + "workload: {rate: 0}\n", "3:18", "workload.rate", "expected a positive rate"},
	{"overload beyond the budget", base + "workload: {rate: 10k/s}\nfaults: [{at: 1m, for: 1m, kind: overload, factor: 250}]\n", "4:52", "faults[0].factor",
		"the offered rate reaches 2.5M/s (workload.rate 10k/s x overload 250) and a request lives up to 6s (3 attempts, each timing out after 1s): up to 15,000,000 requests could be in flight, and the simulator holds at most 1,000,000"},
	{"overload beyond the rate", base + "workload: {rate: 1M/s, client: {timeout: 10ms, retries: 0}}\nfaults: [{at: 1m, kind: overload, factor: 20}]\n", "4:43", "faults[0].factor", "the offered rate reaches 20M/s (workload.rate 1M/s x overload 20); at most 10M/s is simulated"},
	{"overloads multiply", base + "workload: {rate: 1k/s}\nfaults: [{at: 1m, for: 2m, kind: overload, factor: 30}, {at: 2m, for: 1m, kind: overload, target: city=a, factor: 40}]\n", "4:115", "faults[1].factor", "reaches 1.2M/s (workload.rate 1k/s x overload 1200)"},
	{"spike beyond the budget", base + "workload: {rate: 200k/s, profile: {shape: spike, start: 1m, level: 300%}}\n", "3:35", "workload.profile", "reaches 600k/s (workload.rate 200k/s x profile peak 300%)"},
	{"rate too high", base + "workload: {rate: 20M/s}\n", "3:18", "workload.rate", "expected at most 10M/s, got 20M/s"},
	{"bad shape", base + "workload: {profile: {shape: wave}}\n", "3:29", "workload.profile.shape", `expected one of constant, ramp, step, spike, diurnal, got "wave"`},
	{"field of another shape", base + "workload: {profile: {shape: ramp, level: 200%}}\n", "3:35", "workload.profile.level", "level does not apply when shape is ramp"},
	{"ramp backwards", base + "workload: {profile: {shape: ramp, start: 2m, end: 1m}}\n", "3:51", "workload.profile.end", "expected the ramp to end after it starts (2m0s)"},
	{"step without steps", base + "workload: {profile: {shape: step}}\n", "3:21", "workload.profile.steps", "expected at least one step"},
	{"steps out of order", base + "workload:\n  profile:\n    shape: step\n    steps: [{at: 2m, level: 50%}, {at: 1m, level: 80%}]\n", "6:40", "workload.profile.steps[1].at", "steps must be in time order"},
	{"spike past the end", base + "workload: {profile: {shape: spike, start: 4m, for: 2m}}\n", "3:52", "workload.profile.for", "the spike ends after the run (5m0s)"},
	{"zero period", base + "workload: {profile: {shape: diurnal, period: 0}}\n", "3:46", "workload.profile.period", "expected a positive duration"},
	{"trough above peak", base + "workload: {profile: {shape: diurnal, min: 150%}}\n", "3:43", "workload.profile.min", "expected at most 100%"},
	{"bad arrivals", base + "workload: {arrivals: bursty}\n", "3:22", "workload.arrivals", `expected one of poisson, uniform, got "bursty"`},
	{"no users", base + "workload: {users: {count: 0}}\n", "3:27", "workload.users.count", "expected at least one user"},
	{"too many users", base + "workload: {users: {count: 200M}}\n", "3:27", "workload.users.count", "expected at most 100M users"},
	{"unknown city in by_city", topo2 + "workload: {users: {by_city: {a: 50%, b: 40%, c: 10%}}}\n", "4:46", "workload.users.by_city.c", `unknown city "c"; known: a, b`},
	{"shares not summing", topo2 + "workload: {users: {by_city: {a: 50%, b: 40%}}}\n", "4:29", "workload.users.by_city", "shares sum to 90%, expected 100%"},
	{"mix not summing", base + "workload: {mix: {read: 70%, write: 20%}}\n", "3:17", "workload.mix", "read and write sum to 90%, expected 100%"},
	{"priorities not summing", base + "workload: {priorities: {high: 50%, normal: 60%}}\n", "3:24", "workload.priorities", "high, normal and low sum to 110%, expected 100%"},
	{"bad key distribution", base + "workload: {keys: {distribution: pareto}}\n", "3:33", "workload.keys.distribution", `expected one of uniform, zipf, got "pareto"`},
	{"s under uniform", base + "workload: {keys: {s: 1.2}}\n", "3:19", "workload.keys.s", "s does not apply when distribution is uniform"},
	{"flat zipf", base + "workload: {keys: {distribution: zipf, s: 0}}\n", "3:42", "workload.keys.s", "expected a Zipf exponent above 0 and at most 10, got 0"},
	{"zero gateway timeout", "topology: {cities: [{name: a}]}\nstack: {gateway: {timeout: 0}, services: [{name: s}]}\n", "2:28", "stack.gateway.timeout", "expected a positive duration; leave timeout out to wait as long as the client"},
	{"zero call timeout", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{service: t, timeout: 0}]}, {name: t}]}\n", "2:60", "stack.services[0].calls[0].timeout", "expected a positive duration; leave timeout out"},
	{"zero lognormal sigma", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: lognormal, mean: 2ms, sigma: 0}}]}\n", "2:80", "stack.services[0].service_time.sigma", "expected a shape above 0 and at most 5, got 0"},
	{"zero client timeout", base + "workload: {client: {timeout: 0}}\n", "3:30", "workload.client.timeout", "expected a positive duration"},
	{"too many retries", base + "workload: {client: {retries: 20}}\n", "3:30", "workload.client.retries", "expected 0 to 10 retries, got 20"},
	{"backoff max under base", base + "workload: {client: {backoff: {base: 2s}}}\n", "3:30", "workload.client.backoff.max", "expected at least the base 2s"},
	{"bad backoff jitter", base + "workload: {client: {backoff: {jitter: some}}}\n", "3:39", "workload.client.backoff.jitter", `expected one of full, equal, none, got "some"`},
	{"retry budget above 100%", base + "workload: {client: {retry_budget: 200%}}\n", "3:35", "workload.client.retry_budget", "expected at most 100%"},
	{"bad retry_on", base + "workload: {client: {retry_on: [timeout, slow]}}\n", "3:41", "workload.client.retry_on[1]", `expected one of timeout, error, unavailable, shed, rate-limited, got "slow"`},

	// faults
	{"unknown fault kind", base + "faults: [{at: 1m, kind: meteor}]\n", "3:25", "faults[0].kind", `unknown fault kind "meteor"; expected one of: az-down, city-down`},
	{"fault without at", base + "faults: [{kind: overload, factor: 2}]\n", "3:10", "faults[0]", "a fault needs at (when it starts)"},
	{"fault after the run", base + "faults: [{at: 6m, kind: overload, factor: 2}]\n", "3:15", "faults[0].at", "the fault starts at 6m0s, at or after the end of the 5m0s run"},
	{"fault window past the end", base + "faults: [{at: 4m, for: 2m, kind: overload, factor: 2}]\n", "3:24", "faults[0].for", "the fault ends at 6m0s, after the end of the 5m0s run"},
	{"param not for kind", base + "faults: [{at: 1m, kind: az-down, target: az=a/a, delay: 5ms}]\n", "3:50", "faults[0].delay", "delay does not apply to kind az-down"},
	{"missing required param", base + "faults: [{at: 1m, kind: overload}]\n", "3:10", "faults[0]", "kind overload needs factor"},
	{"latency without delay or jitter", base + "faults: [{at: 1m, kind: latency, target: az=a/a}]\n", "3:10", "faults[0]", "expected a delay, a jitter or both"},
	{"bad param value", base + "faults: [{at: 1m, kind: slow-machine, target: machine=a/a/r1/m1, factor: 0.5}]\n", "3:74", "faults[0].factor", "expected a multiplier of at least 1"},
	{"loss above 100%", base + "faults: [{at: 1m, kind: loss, target: az=a/a, rate: 150%}]\n", "3:53", "faults[0].rate", "expected a percentage above 0% and at most 100%"},
	{"bad direction", base + "faults: [{at: 1m, kind: partition, target: az=a/a, direction: inbound}]\n", "3:63", "faults[0].direction", `expected both or one-way, got "inbound"`},
	{"bad action", base + "faults: [{at: 1m, kind: partition, target: az=a/a, action: refuse}]\n", "3:60", "faults[0].action", `expected drop or reject, got "refuse"`},
	{"shard fault without data", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: none}}\nfaults: [{at: 1m, kind: shard-primary-down, target: az=a/a}]\n", "3:25", "faults[0].kind", "shard-primary-down needs stack.data.mode other than none"},
	{"bad target syntax", base + "faults: [{at: 1m, kind: az-down, target: a/a}]\n", "3:42", "faults[0].target", `expected a target such as city=NAME`},
	{"unknown target kind", base + "faults: [{at: 1m, kind: az-down, target: zone=a/a}]\n", "3:42", "faults[0].target", `unknown target kind "zone" in "zone=a/a"`},
	{"wrong target kind", base + "faults: [{at: 1m, kind: rack-down, target: az=a/a}]\n", "3:44", "faults[0].target", "kind rack-down takes a target of rack=, not az="},
	{"missing target", base + "faults: [{at: 1m, kind: machine-down}]\n", "3:10", "faults[0]", "kind machine-down needs a target: machine="},
	{"target not in topology", base + "faults: [{at: 1m, kind: az-down, target: az=a/c}]\n", "3:42", "faults[0].target", `unknown az "a/c"; known: a/a, a/b`},
	{"unknown set", base + "faults: [{at: 1m, kind: gateway-down, target: set=b}]\n", "3:47", "faults[0].target", `unknown set "b"; sets are named after their place, e.g. a/a`},
	{"unknown service target", base + "faults: [{at: 1m, kind: service-down, target: service=t}]\n", "3:47", "faults[0].target", `unknown service "t"`},
	{"unknown shard", base + "faults: [{at: 1m, kind: shard-primary-down, target: shard=2}]\n", "3:53", "faults[0].target", `unknown shard "2"; shards are numbered 0 to 1`},
	{"bad to syntax", base + "faults: [{at: 1m, kind: partition, target: az=a/a, to: b}]\n", "3:56", "faults[0].to", "expected a target such as city=NAME"},
	{"to a shard", base + "faults: [{at: 1m, kind: partition, target: az=a/a, to: shard=0}]\n", "3:56", "faults[0].to", "expected a place, set or service, got shard="},
	{"to not in topology", base + "faults: [{at: 1m, kind: partition, target: az=a/a, to: city=b}]\n", "3:56", "faults[0].to", `unknown city "b"; known: a`},
	{"to overlaps target", base + "faults: [{at: 1m, kind: partition, target: az=a/a, to: city=a}]\n", "3:56", "faults[0].to", "city=a and the target az=a/a share machines"},

	// slo
	{"availability above 100%", base + "slo: {availability: 100.1%}\n", "3:21", "slo.availability", "expected at most 100%, got 100.1%"},
	{"unknown priority", base + "slo: {availability_by_priority: {urgent: 99%}}\n", "3:34", "slo.availability_by_priority.urgent", `unknown priority "urgent"; expected high, normal or low`},
	{"priority above 100%", base + "slo: {availability_by_priority: {high: 101%}}\n", "3:40", "slo.availability_by_priority.high", "expected at most 100%, got 101%"},
	{"unknown percentile", base + "slo: {latency: {p75: 10ms}}\n", "3:17", "slo.latency.p75", `unknown percentile "p75"; expected p50, p90, p95, p99 or p99.9`},
	{"zero latency objective", base + "slo: {latency_in_fault: {p99: 0}}\n", "3:31", "slo.latency_in_fault.p99", "expected a positive duration"},
	{"negative lost writes", base + "slo: {lost_writes: -1}\n", "3:20", "slo.lost_writes", "expected 0 or more"},
	{"rpo without data", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: none}}\nslo: {rpo: 1s}\n", "3:6", "slo", "rpo and lost_writes need stack.data.mode other than none"},
	{"rto without availability", base + "slo: {rto: 30s}\n", "3:12", "slo.rto", "rto measures the time until availability is back"},
	// workload.commands (validate.go: commands, commandLimits, commandSLOs)
	{"command unknown service", base + "workload: {commands: [{name: c, share: 100%, service: x}]}\n", "3:55", "workload.commands[0].service", `unknown service "x"`},
	{"command shares", base + "workload: {commands: [{name: c, share: 60%}, {name: d, share: 30%}]}\n", "3:22", "workload.commands", "shares sum to 90%, expected 100%"},
	{"command share zero", base + "workload: {commands: [{name: c, share: 100%}, {name: d, share: 0}]}\n", "3:64", "workload.commands[1].share", "expected a share above 0%"},
	{"command priority", base + "workload: {commands: [{name: c, share: 100%, priority: urgent}]}\n", "3:56", "workload.commands[0].priority", `expected one of high, normal, low, got "urgent"`},
	{"command kind", base + "workload: {commands: [{name: c, share: 100%, kind: delete}]}\n", "3:52", "workload.commands[0].kind", `expected one of read, write, mixed, got "delete"`},
	{"command listed twice", base + "workload: {commands: [{name: c, share: 50%}, {name: c, share: 50%}]}\n", "3:53", "workload.commands[1].name", `command "c" is listed twice`},
	{"command bad name", base + "workload: {commands: [{name: a/b, share: 100%}]}\n", "3:30", "workload.commands[0].name", "expected a name without"},
	{"command timeout zero", base + "workload: {commands: [{name: c, share: 100%, timeout: 0}]}\n", "3:55", "workload.commands[0].timeout", "expected a positive duration"},
	{"command retries", base + "workload: {commands: [{name: c, share: 100%, retries: 11}]}\n", "3:55", "workload.commands[0].retries", "expected 0 to 10 retries, got 11"},
	{"priorities with commands", base + "workload: {priorities: {high: 100%}, commands: [{name: c, share: 100%}]}\n", "3:12", "workload.priorities", "priorities does not apply when workload.commands is set"},
	{"mix without a mixed command", base + "workload: {mix: {read: 100%}, commands: [{name: c, share: 100%, kind: read}]}\n", "3:12", "workload.mix", "mix does not apply when no command"},
	{"rate limit no command has", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {rate_limit: {low: 1k/s}}}\nworkload: {commands: [{name: c, share: 100%, priority: high}]}\n", "2:60", "stack.gateway.rate_limit.low", "no command of workload.commands has priority low"},
	{"read command writes", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{service: t}]}, {name: t, calls: [{data: write}]}]}\nworkload: {commands: [{name: c, share: 100%, kind: read}]}\n", "3:52", "workload.commands[0].kind", `command "c" is read-only but its service s writes (t calls data: write)`},
	{"slo unknown command", base + "workload: {commands: [{name: c, share: 100%}]}\nslo: {commands: {pay: {availability: 99%}}}\n", "4:18", "slo.commands.pay", `unknown command "pay"; known: c`},
	{"slo command without commands", base + "slo: {commands: {pay: {availability: 99%}}}\n", "3:18", "slo.commands.pay", `unknown command "pay": workload.commands is empty`},
	{"slo command percentile", base + "workload: {commands: [{name: c, share: 100%}]}\nslo: {commands: {c: {latency: {p42: 1s}}}}\n", "4:32", "slo.commands.c.latency.p42", `unknown percentile "p42"`},
	{"slo command availability", base + "workload: {commands: [{name: c, share: 100%}]}\nslo: {commands: {c: {availability_in_fault: 101%}}}\n", "4:45", "slo.commands.c.availability_in_fault", "expected at most 100%"},
	// stack.resilience (validate.go: resilience)
	{"breaker level", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {breaker: {level: host}}}\n", "2:62", "stack.resilience.breaker.level", `expected one of instance, service, got "host"`},
	{"breaker opens on nothing", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {breaker: {consecutive_errors: 0, error_rate: 0}}}\n", "2:54", "stack.resilience.breaker", "a breaker that opens on nothing"},
	{"breaker min calls", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {breaker: {window: 10, min_calls: 20}}}\n", "2:78", "stack.resilience.breaker.min_calls", "expected at most the window (10 calls), got 20"},
	{"breaker sleep", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {breaker: {sleep: 0}}}\n", "2:62", "stack.resilience.breaker.sleep", "expected a positive duration"},
	{"outlier ejects nothing", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {outlier: {consecutive_errors: 0, consecutive_gateway_errors: 0, stdev: 0}}}\n", "2:54", "stack.resilience.outlier", "outlier ejection that ejects nothing"},
	{"outlier max ejection", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {outlier: {max_ejection: 0}}}\n", "2:69", "stack.resilience.outlier.max_ejection", "expected above 0% and at most 100%"},
	{"panic in registry mode", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {panic: 50%}}\n", "2:45", "stack.resilience.panic", "panic applies when discovery.mode is mesh"},
	{"protection in mesh mode", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: mesh}, resilience: {protection: 50%}}\n", "2:70", "stack.resilience.protection", "protection applies when discovery.mode is registry"},
	{"hedge after the timeout", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {hedging: {delay: 2s}}}\n", "2:62", "stack.resilience.hedging.delay", "a hedge after 2s never goes"},
	{"self preservation in mesh mode", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: mesh}, resilience: {self_preservation: 85%}}\n", "2:70", "stack.resilience.self_preservation", "self_preservation applies when discovery.mode is registry"},
	{"health check interval", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {health_check: {interval: 0}}}\n", "2:70", "stack.resilience.health_check.interval", "expected a positive duration"},
	{"breaker slow rate", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {breaker: {slow_call: 1s, slow_rate: 0}}}\n", "2:81", "stack.resilience.breaker.slow_rate", "expected above 0% and at most 100%"},
	{"hedge attempts", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], resilience: {hedging: {delay: 20ms, max_attempts: 9}}}\n", "2:82", "stack.resilience.hedging.max_attempts", "expected 2 to 5 attempts, got 9"},
	// scaling (scaling.go)
	{"scale action without at", base + "scaling: {actions: [{service: s, to: 3}]}\n", "3:21", "scaling.actions[0]", "a scale action needs at"},
	{"scale action after the run", base + "scaling: {actions: [{at: 9m, service: s, to: 3}]}\n", "3:26", "scaling.actions[0].at", "outside the 5m0s run"},
	{"scale action unknown service", base + "scaling: {actions: [{at: 1m, service: x, to: 3}]}\n", "3:39", "scaling.actions[0].service", `unknown service "x"; expected gateway or one of the services`},
	{"scale action without service", base + "scaling: {actions: [{at: 1m, to: 3}]}\n", "3:21", "scaling.actions[0]", "a scale action needs service"},
	{"scale action to and by", base + "scaling: {actions: [{at: 1m, service: s, to: 3, by: 1}]}\n", "3:49", "scaling.actions[0].by", "by does not apply with to"},
	{"scale action neither to nor by", base + "scaling: {actions: [{at: 1m, service: s}]}\n", "3:21", "scaling.actions[0]", "needs to (a count per set) or by"},
	{"scale action by zero", base + "scaling: {actions: [{at: 1m, service: s, by: 0}]}\n", "3:46", "scaling.actions[0].by", "expected +N or -N"},
	{"scale action negative to", base + "scaling: {actions: [{at: 1m, service: s, to: -1}]}\n", "3:46", "scaling.actions[0].to", "expected 0 to"},
	{"scale action huge to", base + "scaling: {actions: [{at: 1m, service: s, to: 2000000}]}\n", "3:46", "scaling.actions[0].to", "expected 0 to 1000000"},
	{"scale action bad target kind", base + "scaling: {actions: [{at: 1m, service: s, to: 3, target: az=a/a}]}\n", "3:57", "scaling.actions[0].target", "expected set=NAME or city=NAME"},
	{"scale action unknown set", base + "scaling: {actions: [{at: 1m, service: gateway, to: 3, target: set=a/z}]}\n", "3:63", "scaling.actions[0].target", `unknown set "a/z"`},
	{"negative startup", base + "scaling: {startup: -1s}\n", "3:20", "scaling.startup", "expected a non-negative duration"},
	{"negative grace", base + "scaling: {grace: -1s}\n", "3:18", "scaling.grace", "expected a non-negative duration"},
	{"autoscaler without max", base + "scaling: {autoscale: [{service: s}]}\n", "3:23", "scaling.autoscale[0]", "an autoscaler needs max"},
	{"autoscaler max below min", base + "scaling: {autoscale: [{service: s, min: 3, max: 2}]}\n", "3:49", "scaling.autoscale[0].max", "max 2 is below min 3"},
	{"autoscaler max below default min", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, instances: 4}]}\nscaling: {autoscale: [{service: s, max: 2}]}\n", "3:41", "scaling.autoscale[0].max", "max 2 is below min 4"},
	{"autoscaler zero min", base + "scaling: {autoscale: [{service: s, min: 0, max: 2}]}\n", "3:41", "scaling.autoscale[0].min", "expected at least 1"},
	{"autoscaler zero utilization", base + "scaling: {autoscale: [{service: s, max: 4, utilization: 0%}]}\n", "3:57", "scaling.autoscale[0].utilization", "expected a target above 0%"},
	{"autoscaler utilization above 100%", base + "scaling: {autoscale: [{service: s, max: 4, utilization: 120%}]}\n", "3:57", "scaling.autoscale[0].utilization", "at most 100%"},
	{"autoscaler zero period", base + "scaling: {autoscale: [{service: s, max: 4, period: 0}]}\n", "3:52", "scaling.autoscale[0].period", "expected a positive duration"},
	{"autoscaler tolerance 100%", base + "scaling: {autoscale: [{service: s, max: 4, tolerance: 100%}]}\n", "3:55", "scaling.autoscale[0].tolerance", "below 100%"},
	{"autoscaler negative stabilization", base + "scaling: {autoscale: [{service: s, max: 4, stabilization: -1m}]}\n", "3:59", "scaling.autoscale[0].stabilization", "expected a non-negative duration"},
	{"autoscaler zero step", base + "scaling: {autoscale: [{service: s, max: 4, max_step: 0}]}\n", "3:54", "scaling.autoscale[0].max_step", "expected at least 1"},
	{"two autoscalers", base + "scaling: {autoscale: [{service: s, max: 4}, {service: s, max: 3}]}\n", "3:55", "scaling.autoscale[1].service", "s already has an autoscaler"},
	{"gateway ambiguous", "topology: {cities: [{name: a}]}\nstack: {services: [{name: gateway}]}\nscaling: {autoscale: [{service: gateway, max: 4}]}\n", "3:33", "scaling.autoscale[0].service", "gateway is ambiguous"},
	{"reserve unknown set", base + "striping: {reserve: [a/x]}\n", "3:22", "striping.reserve[0]", `unknown set "a/x"`},
	{"reserve twice", base + "striping: {reserve: [a/a, a/a]}\n", "3:27", "striping.reserve[1]", `set "a/a" is listed twice`},
	{"reserve every set", base + "striping: {reserve: [a/a, a/b]}\n", "3:27", "striping.reserve[1]", "every set of city a is reserved"},
	{"add a set not reserved", base + "scaling: {sets: [{at: 1m, add: a/a}]}\n", "3:32", "scaling.sets[0].add", `set "a/a" is not reserved`},
	{"add a set twice", base + "striping: {reserve: [a/b]}\nscaling: {sets: [{at: 1m, add: a/b}, {at: 2m, add: a/b}]}\n", "4:52", "scaling.sets[1].add", `set "a/b" is already in service then`},
	{"add a set without at", base + "striping: {reserve: [a/b]}\nscaling: {sets: [{add: a/b}]}\n", "4:18", "scaling.sets[0]", "a set change needs at"},
	{"add a set after the run", base + "striping: {reserve: [a/b]}\nscaling: {sets: [{at: 6m, add: a/b}]}\n", "4:23", "scaling.sets[0].at", "outside the 5m0s run"},
	{"remove an unknown set", base + "scaling: {sets: [{at: 1m, remove: a/x}]}\n", "3:35", "scaling.sets[0].remove", `unknown set "a/x"`},
	{"remove a reserved set", base + "striping: {reserve: [a/b]}\nscaling: {sets: [{at: 1m, remove: a/b}]}\n", "4:35", "scaling.sets[0].remove", `set "a/b" is not in service then`},
	{"remove the last set", base + "scaling: {sets: [{at: 1m, remove: a/a}, {at: 2m, remove: a/b}]}\n", "3:58", "scaling.sets[1].remove", `set "a/b" is the last of city a in service`},
	{"add and remove", base + "striping: {reserve: [a/b]}\nscaling: {sets: [{at: 1m, add: a/b, remove: a/a}]}\n", "4:37", "scaling.sets[0].remove", "remove does not apply with add"},
	{"neither add nor remove", base + "scaling: {sets: [{at: 1m}]}\n", "3:18", "scaling.sets[0]", "needs add (a reserved set) or remove"},
	{"zero copy rate", base + "scaling: {copy_rate: 0}\n", "3:22", "scaling.copy_rate", "expected a positive rate"},
	{"global primary reserved", "topology: {cities: [{name: a}, {name: b}]}\nstack: {services: [{name: s}], data: {mode: global, primary: az=a/a}}\nstriping: {reserve: [a/a]}\n", "2:62", "stack.data.primary", "every machine of az=a/a is in a reserved set"},
	{"scaling unknown field", base + "scaling: {autoscale: [{service: s, max: 4, target: 60%}]}\n", "3:44", "scaling.autoscale[0].target", `unknown field "target"`},
}

// aliasBomb merges each fault ten times into the next, so that nine
// short lines expand to 10^9 values.
var aliasBomb = func() string {
	var b strings.Builder
	b.WriteString("faults:\n  - &f0 {at: 1m, kind: overload, factor: 2}\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  - &f%d {<<: [", i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*f%d", i-1)
		}
		b.WriteString("]}\n")
	}
	return b.String()
}()

// deepChain is 9 services calling the next, the last calling data: with
// the client, the gateway, the proxy and the shard node, 13 levels.
var deepChain = func() string {
	var b strings.Builder
	for i := 0; i < 9; i++ {
		if i < 8 {
			fmt.Fprintf(&b, "    - {name: s%d, calls: [{service: s%d}]}\n", i, i+1)
		} else {
			fmt.Fprintf(&b, "    - {name: s%d, calls: [{data: read}]}\n", i)
		}
	}
	return b.String()
}()

func TestValidationErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.src)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is a %T, not an ErrorList: %v", err, err)
			}
			if len(list) != 1 {
				t.Errorf("got %d errors, want exactly one:\n%v", len(list), err)
			}
			e := list[0]
			if got := fmt.Sprintf("%d:%d", e.Line, e.Col); got != tc.at || e.Path != tc.path || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got  %s\nwant test.yaml:%s: %s: ...%s...", e.Error(), tc.at, tc.path, tc.msg)
			}
			prefix := "test.yaml:" + tc.at + ": "
			if tc.path != "" {
				prefix += tc.path + ": "
			}
			if !strings.HasPrefix(e.Error(), prefix) {
				t.Errorf("message %q does not start with %q", e.Error(), prefix)
			}
		})
	}
}

// TestSeveralErrors checks that every problem of a file is reported at
// once and in file order, whatever order the checks run in.
func TestSeveralErrors(t *testing.T) {
	t.Run("decoding", func(t *testing.T) {
		src := "run: {duration: 5, seed: x}\n" +
			"topology: {cities: [{name: a, azs: two}]}\n" +
			"stack: {services: [{name: s}], colour: red}\n" +
			"slo: {availability: 99}\n"
		checkErrors(t, src, []string{
			"test.yaml:1:17: run.duration: expected a duration",
			"test.yaml:1:26: run.seed: expected a non-negative whole number",
			"test.yaml:2:36: topology.cities[0].azs: expected a count (such as 4 or 10k) or a list of names",
			"test.yaml:3:32: stack.colour: unknown field",
			"test.yaml:4:21: slo.availability: expected a percentage",
		})
	})
	t.Run("validation", func(t *testing.T) {
		src := "run: {duration: 5m, warmup: 5m}\n" +
			"faults:\n" +
			"  - {at: 10m, kind: az-down, target: az=a/a}\n" +
			"  - {at: 1m, kind: latency, target: city=x, delay: 5ms}\n" +
			"slo: {latency: {p75: 1s}}\n" +
			"workload: {mix: {read: 50%}}\n" +
			"stack:\n" +
			"  discovery: {mode: mesh, ttl: 5s}\n" +
			"  services: [{name: s, calls: [{service: s}]},\n" +
			"             {name: t, instances: 0}]\n" +
			"topology: {cities: [{name: a}]}\n"
		checkErrors(t, src, []string{
			"test.yaml:1:29: run.warmup: warm-up 5m0s leaves nothing",
			"test.yaml:3:10: faults[0].at: the fault starts at 10m0s",
			"test.yaml:4:37: faults[1].target: unknown city \"x\"",
			"test.yaml:5:17: slo.latency.p75: unknown percentile",
			"test.yaml:6:17: workload.mix: read and write sum to 50%",
			"test.yaml:8:27: stack.discovery.ttl: ttl does not apply when mode is mesh",
			"test.yaml:9:31: stack.services[0].calls: calls form a cycle: s -> s",
			"test.yaml:10:35: stack.services[1].instances: expected at least 1, got 0",
		})
	})
}

// TestScalingErrorsAtOnce: every problem of the scaling section is
// reported together, in file order, with the rest of the file's.
func TestScalingErrorsAtOnce(t *testing.T) {
	src := base +
		"striping: {reserve: [a/x]}\n" +
		"scaling:\n" +
		"  actions: [{at: 1m, service: nope, to: 3}]\n" +
		"  autoscale: [{service: s, max: 4, utilization: 0%}]\n" +
		"  sets: [{at: 1m, add: a/b}]\n"
	checkErrors(t, src, []string{
		"test.yaml:3:22: striping.reserve[0]: unknown set",
		"test.yaml:5:31: scaling.actions[0].service: unknown service",
		"test.yaml:6:49: scaling.autoscale[0].utilization: expected a target above 0%",
		"test.yaml:7:24: scaling.sets[0].add: set \"a/b\" is not reserved",
	})
}

func checkErrors(t *testing.T, src string, want []string) {
	t.Helper()
	_, err := Parse("test.yaml", []byte(src))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v, want an ErrorList", err)
	}
	for i := 0; i < max(len(list), len(want)); i++ {
		switch {
		case i >= len(list):
			t.Errorf("missing error %d: %s", i, want[i])
		case i >= len(want):
			t.Errorf("unexpected error %d: %s", i, list[i])
		case !strings.HasPrefix(list[i].Error(), want[i]):
			t.Errorf("error %d:\n got  %s\n want %s...", i, list[i], want[i])
		}
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(list) {
		t.Errorf("Error() has %d lines for %d errors", lines, len(list))
	}
}

// TestLongServiceTimesAccepted: service times are drawn from the whole
// distribution, so long means and wide uniforms are valid.
func TestLongServiceTimesAccepted(t *testing.T) {
	for _, st := range []string{"5s", "{dist: exponential, mean: 2m}", "{dist: uniform, min: 1ms, max: 10s}", "{dist: lognormal, mean: 1h, sigma: 2}"} {
		src := "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: " + st + "}]}\n"
		if _, err := Parse("test.yaml", []byte(src)); err != nil {
			t.Errorf("service_time %s: %v", st, err)
		}
	}
}

// TestPlainTagsAccepted checks that the core-schema tags, which change
// nothing, are still read.
func TestPlainTagsAccepted(t *testing.T) {
	f, err := Parse("tags.yaml", []byte(base+"name: !!str 123\nrun: {seed: !!int 7, duration: !!str 2m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Scenario; s.Name != "123" || s.Run.Seed != 7 || s.Run.Duration != 2*minute {
		t.Errorf("name %q, seed %d, duration %s", s.Name, s.Run.Seed, s.Run.Duration)
	}
}

// TestValuesPeopleWrite checks values common in practice that must be
// accepted: thirds rounded to 33.3%, a Zipf exponent of 1 or below, a p95
// objective, a latency fault made of jitter alone.
func TestValuesPeopleWrite(t *testing.T) {
	f, err := Parse("people.yaml", []byte(topo2+`workload:
  priorities: {high: 33.3%, normal: 33.3%, low: 33.3%}
  mix: {read: 66.7%, write: 33.4%}
  users: {by_city: {a: 33.3%, b: 66.6%}}
  keys: {distribution: zipf, s: 0.99}
slo: {latency: {p95: 50ms}, latency_in_fault: {p95: 80ms}}
faults: [{at: 1m, for: 1m, kind: latency, target: city=a, jitter: 20ms}]
`))
	if err != nil {
		t.Fatal(err)
	}
	w := f.Scenario.Workload
	near := func(a, b float64) bool { return a > b-1e-12 && a < b+1e-12 }
	if p := w.Priorities; !near(float64(p.High+p.Normal+p.Low), 1) || !near(float64(p.High), 1.0/3) {
		t.Errorf("priorities %+v are not scaled to sum to 100%%", p)
	}
	if m := w.Mix; !near(float64(m.Read+m.Write), 1) {
		t.Errorf("mix %+v is not scaled to sum to 100%%", m)
	}
	if c := w.Users.ByCity; !near(float64(c["a"]+c["b"]), 1) || !near(float64(c["a"]), 0.333/0.999) {
		t.Errorf("city shares %v are not scaled to sum to 100%%", c)
	}
	if w.Keys.S != 0.99 {
		t.Errorf("zipf exponent %v", w.Keys.S)
	}
	for _, src := range []string{
		base + "workload: {mix: {read: 70%, write: 29.8%}}\n",
		base + "workload: {keys: {distribution: zipf, s: 0}}\n",
		base + "faults: [{at: 1m, kind: latency, target: az=a/a}]\n",
	} {
		if _, err := Parse("bad.yaml", []byte(src)); err == nil {
			t.Errorf("accepted:\n%s", src)
		}
	}
}
