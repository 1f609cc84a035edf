package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/stripelab/stripelab/web"
)

func cmdServe(args []string) error {
	fs := newFlags("serve")
	addr := fs.String("addr", web.DefaultAddr, "address to listen on (host:port); beyond loopback needs --allow-remote")
	results := fs.String("results", "out", "folder of results to serve (searched recursively); the playground writes under its playground/")
	remote := fs.Bool("allow-remote", false, "allow an address that is not loopback (the dashboard has no login: anyone who reaches it can run scenarios)")
	real := fs.Bool("real-backends", false, "offer the real backends (process, containers) in the playground, when this build has them")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("serve", pos, 0, 0); err != nil {
		return err
	}
	if err := web.CheckAddr(*addr, *remote); err != nil {
		return fmt.Errorf("%w: serve: %v", errUsage, err)
	}
	cfg := web.Config{Results: *results, AllowRealBackends: *real, AnyHost: *remote}
	if *real && len(cfg.Backends) == 0 {
		fmt.Fprintln(os.Stderr, "serve: this build has no real backend; the playground offers the simulator only")
	}
	srv, err := web.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	}
	scope := "loopback only: this machine alone can reach it"
	if *remote {
		scope = "NOT loopback only: anyone who can reach this address can read the results and run scenarios"
	}
	fmt.Printf("serving the results in %s at http://%s/ (%s); Ctrl-C stops\n", *results, ln.Addr(), scope)
	ctx, stop := interruptible()
	defer stop()
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
