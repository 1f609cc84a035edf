package main

import (
	"context"
	"fmt"
	"time"

	"github.com/stripelab/stripelab/components/runner"

	_ "github.com/stripelab/stripelab/components/process" // registers the process backend's cleaner
)

// cmdClean stops what killed real runs left: the processes recorded in
// run folders whose controller is dead (and, for the containers backend,
// the containers and networks labelled with a run), then removes the folders.
func cmdClean(args []string) error {
	fs := newFlags("clean")
	quiet := fs.Bool("quiet", false, "print nothing when there is nothing to clean")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("clean", pos, 0, 0); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := 0
	err = runner.Clean(ctx, func(format string, a ...any) {
		n++
		fmt.Printf(format+"\n", a...)
	})
	if n == 0 && !*quiet {
		fmt.Println("nothing to clean: no run of a dead controller left anything")
	}
	return err
}
