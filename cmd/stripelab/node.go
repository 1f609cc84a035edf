package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/stripelab/stripelab/components/dataproxy"
	"github.com/stripelab/stripelab/components/gateway"
	"github.com/stripelab/stripelab/components/machine"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/registry"
	"github.com/stripelab/stripelab/components/service"
	"github.com/stripelab/stripelab/components/shard"
)

// roleStarts maps each role of `stripelab node` to its package's Start.
var roleStarts = map[string]node.StartFunc{
	"gateway":  gateway.Start,
	"registry": registry.Start,
	"service":  service.Start,
	"machine":  machine.Start,
	"shard":    shard.Start,
	"proxy":    dataproxy.Start,
}

// roleSummaries say what each role is, for node --help.
var roleSummaries = map[string]string{
	"gateway":  "the business gateway of a set: signature check, rate limits, admission queue, shedding, routing",
	"registry": "a discovery registry copy: register, heartbeat, TTL expiry, list",
	"service":  "a logic service instance: workers, bounded queue, service time, downstream calls",
	"proxy":    "a data proxy: key to shard routing, reads to the nearest live copy",
	"shard":    "a shard copy on disk: replication, failure detection, promotion with epochs",
	"machine":  "the supervisor of one container: starts the instances placed on its machine",
}

func roleNames() []string {
	var out []string
	for _, r := range node.Roles {
		if roleStarts[r] != nil {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func nodeUsage(w io.Writer) {
	c, _ := lookup("node")
	fmt.Fprintf(w, "usage: stripelab node %s\n\n%s.\n", c.args, upperFirst(c.summary))
	fmt.Fprintln(w, "It reads the config a runner wrote (stripelab run --backend process writes them under the")
	fmt.Fprintln(w, "run folder) and serves until SIGTERM or SIGINT.")
	fmt.Fprintln(w, "\nroles:")
	for _, r := range node.Roles {
		mark := ""
		if roleStarts[r] == nil {
			mark = " (not in this build)"
		}
		fmt.Fprintf(w, "  %-9s %s%s\n", r, roleSummaries[r], mark)
	}
	fmt.Fprintln(w, "\nflags:\n  --config FILE   the instance's JSON config (required)\n  --debug         debug logs")
}

func cmdNode(args []string) error {
	if len(args) == 0 {
		nodeUsage(os.Stderr)
		return fmt.Errorf("%w: node: no role given; the roles are %s", errUsage, strings.Join(roleNames(), ", "))
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		nodeUsage(os.Stdout)
		return nil
	}
	role := args[0]
	start := roleStarts[role]
	if start == nil {
		return fmt.Errorf("%w: node: unknown role %q; the roles are %s", errUsage, role, strings.Join(roleNames(), ", "))
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "the instance's JSON config")
	debug := fs.Bool("debug", false, "debug logs")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			nodeUsage(os.Stdout)
			return nil
		}
		return fmt.Errorf("%w: node: %v (stripelab node --help)", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: node: unexpected argument %q (stripelab node --help)", errUsage, fs.Arg(0))
	}
	if *config == "" {
		return fmt.Errorf("%w: node %s: --config FILE is required", errUsage, role)
	}
	cfg, err := node.Load(*config)
	if err != nil {
		return fmt.Errorf("%w: node: %v", errUsage, err)
	}
	if cfg.Role != role {
		return fmt.Errorf("%w: node: %s is a %s config, not %s", errUsage, *config, cfg.Role, role)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("role", role, "instance", cfg.Instance)
	ctx, stop := interruptible()
	defer stop()
	return node.Run(ctx, cfg, start, log)
}
