package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand: its name, its usage (arguments and main
// flags), a one-line summary and what it does.
type command struct {
	name    string
	args    string
	summary string
	run     func(args []string) error
}

func commands() []command {
	return []command{
		{"run", "[FILE] [--seed N] [--out DIR] [--backend sim|process|containers] [--keep] [--verbose]",
			"run a scenario (default: the shipped az-loss) in the simulator or on the real stack and write its report", cmdRun},
		{"suite", "DIR|FILE... [--junit FILE] [--out DIR] [--parallel N] [--baseline DIR] [--tolerance T]",
			"run many scenarios in parallel, write an index and JUnit", cmdSuite},
		{"report", "RESULT.json [--out DIR]", "re-render the reports of a saved result", cmdReport},
		{"diff", "BASE NEW [--tolerance availability=0.1%,latency=10%,rto=5s,lost_writes=0]",
			"compare two results, result folders or suite folders; exit 1 on a regression", cmdDiff},
		{"compare", "FILE [--granularity city,az,rack,machine] [--size-for-slo] [--storage sharded,proxy] [--out DIR] [--parallel N]",
			"the same workload and faults under each striping granularity", cmdCompare},
		{"capacity", "FILE [--lose az|city|rack] [--precision 1%] [--measure 50s] [--out DIR] [--parallel N]",
			"highest offered rate that holds the objectives, steady and N-1", cmdCapacity},
		{"failover", "FILE [--lose az|city] [--out DIR] [--parallel N]",
			"lose every AZ (or city) in turn; which loss hurts most", cmdFailover},
		{"calibrate", "FILE|DIR [--backend process|containers] [--real RESULT.json] [--fit] [--tolerance T] [--out DIR]",
			"run a scenario in the simulator and on the real stack; where and by how much they disagree", cmdCalibrate},
		{"validate", "FILE...", "check scenarios and print a one-line summary of each", cmdValidate},
		{"plan", "FILE", "print the expanded topology, placement and fault schedule", cmdPlan},
		{"schema", "", "print the JSON Schema of the scenario format", cmdSchema},
		{"node", "ROLE --config FILE", "run one instance of the real stack (a runner starts these)", cmdNode},
		{"clean", "[--quiet]", "stop and remove what killed real runs left: processes, run folders, containers", cmdClean},
		{"image", "[--binary FILE] [--verbose]", "build the containers backend's node image (FROM scratch, the static binary) unless it is up to date", cmdImage},
		{"serve", "[--addr A] [--results DIR]", "the dashboard: runs, charts, comparisons, a scenario playground", cmdServe},
	}
}

// lookup finds a command by name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func run(args []string) error {
	switch {
	case len(args) == 0:
		usage(os.Stderr)
		return fmt.Errorf("%w: no command given", errUsage)
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1:
		usage(os.Stdout)
		return nil
	case args[0] == "help":
		c, ok := lookup(args[1])
		if !ok {
			return unknownCommand(args[1])
		}
		commandHelp(os.Stdout, c, newFlags(c.name))
		return nil
	}
	if c, ok := lookup(args[0]); ok {
		return c.run(args[1:])
	}
	return unknownCommand(args[0])
}

// unknownCommand says so first, then where the list is.
func unknownCommand(name string) error {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return fmt.Errorf("%w: unknown command %q; the commands are %s (stripelab help lists them)", errUsage, name, strings.Join(names, ", "))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "stripelab: simulation and chaos-testing lab for striped (cell) architectures")
	fmt.Fprintln(w, "\nusage: stripelab COMMAND [args] [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFILE is a scenario file or a shipped scenario's name (az-loss, ci/smoke).")
	fmt.Fprintln(w, "exit codes: 0 every objective held, 1 an objective failed, a regression or an interrupt, 2 bad input")
	fmt.Fprintln(w, "run 'stripelab COMMAND --help' for a command's arguments and flags")
}

// newFlags makes the flag set of a command; its -h prints the command's
// usage line, summary and flags.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c, _ := lookup(name)
	fs.Usage = func() { commandHelp(fs.Output(), c, fs) }
	return fs
}

// commandHelp prints a command's usage line, its summary and its flags.
func commandHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: stripelab %s\n\n%s\n", strings.TrimSpace(c.name+" "+c.args), upperFirst(c.summary)+".")
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "\nno flags")
		return
	}
	fmt.Fprintln(w, "\nflags:")
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseFlags parses flags that may come before, between or after the
// positional arguments, and returns the positional ones. -h prints the
// command's help on standard output and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(os.Stdout)
				fs.Usage()
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s: %v (stripelab %s --help lists its flags)", errUsage, fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// needArgs checks the number of positional arguments of a command (max -1:
// no limit) against its usage line.
func needArgs(name string, pos []string, min, max int) error {
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		c, _ := lookup(name)
		return fmt.Errorf("%w: stripelab %s", errUsage, strings.TrimSpace(name+" "+c.args))
	}
	return nil
}
