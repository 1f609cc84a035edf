package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(args []string) error
}

func commands() []command {
	return []command{
		{"run", "[FILE] [--seed N] [--out DIR]", "run a scenario (default: the shipped az-loss) and write its report", cmdRun},
		{"suite", "DIR|FILE... [--junit F]", "run many scenarios in parallel, write an index and JUnit", cmdSuite},
		{"report", "RESULT.json [--out DIR]", "re-render the reports of a saved result", cmdReport},
		{"diff", "BASE NEW [--tolerance T]", "compare two results or suite folders; exit 1 on a regression", cmdDiff},
		{"compare", "FILE [--granularity G,G]", "the same workload and faults under each striping granularity", cmdCompare},
		{"capacity", "FILE [--lose az|city|rack]", "highest offered rate that holds the SLO, steady and N-1", cmdCapacity},
		{"failover", "FILE [--lose az|city]", "lose every AZ (or city) in turn; which loss hurts most", cmdFailover},
		{"validate", "FILE...", "check scenarios and print a one-line summary of each", cmdValidate},
		{"plan", "FILE", "print the expanded topology, placement and fault schedule", cmdPlan},
		{"schema", "", "print the JSON Schema of the scenario format", cmdSchema},
		{"serve", "[--addr A] [--results DIR]", "the dashboard: runs, charts, comparisons, a scenario playground", cmdServe},
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:])
		}
	}
	usage(os.Stderr)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "stripelab: simulation and chaos-testing lab for striped (cell) architectures")
	fmt.Fprintln(w, "\nusage: stripelab COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %-28s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 every objective held, 1 an objective failed or a regression, 2 bad input")
	fmt.Fprintln(w, "run 'stripelab COMMAND -h' for a command's flags")
}

// parseFlags parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(os.Stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func needArgs(name string, pos []string, min, max int, what string) error {
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return fmt.Errorf("%w: stripelab %s %s", errUsage, name, strings.TrimSpace(what))
	}
	return nil
}
