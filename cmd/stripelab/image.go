package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stripelab/stripelab/components/containers"
	"github.com/stripelab/stripelab/components/runner"
)

// The containers backend: `run --backend containers`; importing the
// package also registers its cleaner with `stripelab clean`.
func init() {
	realBackends["containers"] = func() runner.Host { return containers.New(containers.Options{Log: os.Stderr}) }
}

// cmdImage builds the node image of the containers backend (FROM scratch,
// the static binary, tagged with the binary's content hash) unless it is
// up to date. `run --backend containers` does the same on its own.
func cmdImage(args []string) error {
	fs := newFlags("image")
	binary := fs.String("binary", "", "static stripelab binary to put in the image (default: this one when it is static, else one built from the enclosing source tree with CGO_ENABLED=0)")
	verbose := fs.Bool("verbose", false, "print the engine's build output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("image", pos, 0, 0); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cli, err := containers.Connect(ctx)
	if err != nil {
		return fmt.Errorf("image: %w (the containers backend needs a Docker engine on this host)", err)
	}
	defer cli.Close()
	var log io.Writer
	if *verbose {
		log = os.Stderr
	}
	t := time.Now()
	img, err := containers.EnsureImage(ctx, cli, containers.ImageOptions{Binary: *binary, Log: log})
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("%w: image build stopped", errInterrupted)
		}
		return fmt.Errorf("image: %w", err)
	}
	if img.Built {
		fmt.Printf("built %s in %s: %.1f MB, FROM scratch with %s\n", img.Ref, img.Took.Truncate(time.Millisecond), float64(img.Size)/1e6, img.Binary)
	} else {
		fmt.Printf("%s is up to date (%.1f MB, checked in %s)\n", img.Ref, float64(img.Size)/1e6, time.Since(t).Truncate(time.Millisecond))
	}
	return nil
}
