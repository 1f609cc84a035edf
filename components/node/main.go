package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// Env is what a role's Start receives.
type Env struct {
	Config *Config
	Plan   *scenarios.Plan
	Server *Server
	Clock  Clock
	Log    *slog.Logger
}

// StartFunc registers a role's handlers on env.Server.Mux and starts its
// background work, which must end when ctx ends. The returned stop, when
// not nil, runs after the server has shut down (close the storage engine,
// leave the gossip ring).
type StartFunc func(ctx context.Context, env *Env) (stop func(), err error)

// Run starts one role from its config and serves until ctx ends (the
// command cancels it on SIGTERM or SIGINT).
func Run(ctx context.Context, cfg *Config, start StartFunc, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	p, err := cfg.Plan()
	if err != nil {
		return err
	}
	env := &Env{Config: cfg, Plan: p, Clock: RealClock{}, Log: log}
	var ready error = fmt.Errorf("starting")
	env.Server = NewServer(cfg, log, env.Clock, func() error { return ready })
	stop, err := start(ctx, env)
	if err != nil {
		return fmt.Errorf("%s %d: %w", cfg.Role, cfg.Instance, err)
	}
	ready = nil
	env.Server.Events.Emit(EvUp, cfg.Instance, 0, cfg.Listen)
	err = env.Server.Serve(ctx, cfg.Listen, 2*time.Second)
	if stop != nil {
		stop()
	}
	return err
}
