package runner

import (
	"context"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// Run is one run of a Plan on a Host: what every host needs to start its
// machines and instances.
type Run struct {
	// ID names the run: the marker its processes, containers and folders
	// carry, so `stripelab clean` finds what a killed run left.
	ID   string
	Plan *scenarios.Plan
	// Binary is the stripelab executable the instances run
	// (`stripelab node ROLE --config FILE`).
	Binary string
	// Secret is the run's random secret (signature key, admin token).
	Secret string
	// Seed is the run's seed; instance seeds derive from it.
	Seed uint64
	// Keep leaves the run folder in place at the end (--keep).
	Keep bool
}

// Host runs the machines of a Plan: local processes (package process) or
// containers (package containers). The runner owns the network, the load
// and the fault timeline; a host only places, starts and kills instances
// and says where they are.
//
// Addresses: an instance serves on Listen(i); the controller reaches it
// (health, admin, the upstream of every network link towards it) at
// InstanceAddr(i); the link from machine m to instance i is a proxy of
// the controller listening on LinkListen(m, i), which instances on m dial
// as LinkDial(m, i) (the Peer address of their configs).
type Host interface {
	// Name is the backend's name in results: "process" or "containers".
	Name() string
	// Prepare readies the host for run (locks, folders, images, networks).
	// It is called once, before any other method but the address ones.
	Prepare(ctx context.Context, run *Run) error
	// MachineAddr is machine m's address (process: 127.0.x.y).
	MachineAddr(m int) string
	// Listen is where instance i serves, as written in its config.
	Listen(i int) string
	// InstanceAddr is where the controller reaches instance i directly.
	InstanceAddr(i int) string
	// LinkListen is where the controller's link from machine m to
	// instance i listens; LinkDial is what instances on m dial for it.
	LinkListen(m, i int) string
	LinkDial(m, i int) string
	// UserListen is where the link from the users of city c to gateway
	// instance i listens (the controller's load generator dials it).
	UserListen(c, i int) string
	// GossipAddr is where instance i binds its mesh sidecar, and what the
	// others dial to join it (mesh traffic is direct, not through links).
	GossipAddr(i int) string
	// DataDir is the folder a shard instance keeps its storage in; it
	// survives the instance's kills and restarts within the run.
	DataDir(i int) string
	// StartMachine starts machine m with the instances placed on it
	// (their configs, complete). It returns once they are started, not
	// necessarily healthy: the runner waits for /healthz.
	StartMachine(ctx context.Context, m int, cfgs []*node.Config) error
	// Start starts (or restarts) one instance on its machine, which is up.
	Start(ctx context.Context, cfg *node.Config) error
	// Kill stops instance i at once (SIGKILL); it returns once it is dead.
	Kill(i int) error
	// KillMachine stops machine m and every instance on it at once.
	KillMachine(m int) error
	// Alive reports whether instance i's process is running.
	Alive(i int) bool
	// Cleanup stops everything of the run still running and removes the
	// run's folders (unless Run.Keep), volumes and networks. It is safe to
	// call more than once and after a failed Prepare.
	Cleanup() error
}

// Cleaner finds and removes what killed runs of one backend left behind
// (`stripelab clean`). Each backend registers one with RegisterCleaner.
type Cleaner func(ctx context.Context, report func(format string, args ...any)) error

var cleaners []namedCleaner

type namedCleaner struct {
	name string
	fn   Cleaner
}

// RegisterCleaner adds a backend's cleaner to the ones `stripelab clean`
// runs (call it from an init function of the backend's package).
func RegisterCleaner(name string, fn Cleaner) { cleaners = append(cleaners, namedCleaner{name, fn}) }

// Clean runs every registered cleaner and returns the first error.
func Clean(ctx context.Context, report func(format string, args ...any)) error {
	var first error
	for _, c := range cleaners {
		if err := c.fn(ctx, report); err != nil && first == nil {
			first = err
		}
	}
	return first
}
