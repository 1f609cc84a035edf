package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/stripelab/stripelab/scenarios"
)

func cmdValidate(args []string) error {
	fs := newFlags("validate")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("validate", pos, 1, -1); err != nil {
		return err
	}
	var all []error
	for _, path := range pos {
		f, err := loadScenario(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			all = append(all, err)
			continue
		}
		p := scenarios.NewPlan(f)
		fmt.Printf("%s: ok: %s\n", path, p.Summary())
	}
	if len(all) > 0 {
		return fmt.Errorf("%w: %d of %d files have errors", scenarios.ErrInvalid, len(all), len(pos))
	}
	return nil
}

// helpOK turns -h into a clean exit.
func helpOK(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func cmdPlan(args []string) error {
	fs := newFlags("plan")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("plan", pos, 1, 1); err != nil {
		return err
	}
	f, err := loadScenario(pos[0])
	if err != nil {
		return err
	}
	return scenarios.NewPlan(f).Describe(os.Stdout)
}

func cmdSchema(args []string) error {
	fs := newFlags("schema")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs("schema", pos, 0, 0); err != nil {
		return err
	}
	_, err = os.Stdout.Write(scenarios.SchemaJSON)
	return err
}
