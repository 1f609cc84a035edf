// Command fakenode is the containers tests' stand-in for the stripelab
// binary: `fakenode node ROLE --config FILE` runs the real machine
// supervisor for role machine and, for every other role, only the shared
// node server (/healthz, /metrics, /admin/events), so the host's tests do
// not depend on the role packages.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/stripelab/stripelab/components/machine"
	"github.com/stripelab/stripelab/components/node"
)

// boot counts the starts of an instance with a data folder in
// DataDir/boots, so a test sees that the data survives a machine's loss.
func boot(cfg *node.Config) error {
	if cfg.DataDir == "" {
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, "boots")
	n := 0
	if b, err := os.ReadFile(path); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	return os.WriteFile(path, []byte(strconv.Itoa(n+1)+"\n"), 0o644)
}

func main() {
	if len(os.Args) != 5 || os.Args[1] != "node" || os.Args[3] != "--config" {
		fmt.Fprintln(os.Stderr, "usage: fakenode node ROLE --config FILE")
		os.Exit(2)
	}
	cfg, err := node.Load(os.Args[4])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	start := machine.Start
	if os.Args[2] != "machine" {
		start = func(context.Context, *node.Env) (func(), error) { return nil, boot(cfg) }
	}
	if err := node.Run(ctx, cfg, start, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
