package scenarios

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Describe writes the plan in a readable form: topology, sets, placement,
// shards, registries, users and the resolved fault schedule.
func (p *Plan) Describe(w io.Writer) error {
	s := p.Scenario
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario %s (%s)\n", s.Name, p.File.Path)
	fmt.Fprintf(tw, "%s\n", p.Summary())
	fmt.Fprintf(tw, "run %s, warm-up %s, window %s, seed %d\n\n", s.Run.Duration, s.Run.Warmup, s.Run.Window, s.Run.Seed)
	fmt.Fprintln(tw, "CITY\tAZS\tMACHINES\tSETS\tUSERS")
	for i, c := range p.Cities {
		n := 0
		for _, a := range c.AZs {
			for _, r := range p.AZs[a].Children {
				n += len(p.Racks[r].Children)
			}
		}
		share := strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(c.Share*100, 'f', 2, 64), "0"), ".") + "%"
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d (%s)\n", c.Name, len(c.AZs), n, len(c.Sets), p.UserCities[i].Count, share)
	}
	fmt.Fprintln(tw, "\nSET\tCITY\tMACHINES\tINSTANCES")
	roles := make([][RoleRegistry + 1]int, len(p.Sets))
	slots, held := make([]int, len(p.Sets)), make([]int, len(p.Sets))
	for _, in := range p.Instances {
		if in.Reserve && !p.Sets[in.Set].Reserve {
			if in.Role == RoleShard {
				held[in.Set]++ // a copy of a reserved set's shard
			} else {
				slots[in.Set]++ // a scaling slot
			}
			continue
		}
		roles[in.Set][in.Role]++
	}
	for si, st := range p.Sets {
		var parts []string
		for r := RoleGateway; r <= RoleRegistry; r++ {
			if n := roles[si][r]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, r))
			}
		}
		if slots[si] > 0 {
			parts = append(parts, fmt.Sprintf("%s for scale-ups", Quantity(slots[si], "slot")))
		}
		if held[si] > 0 {
			parts = append(parts, Quantity(held[si], "shard copy")+" of a reserved set")
		}
		if st.Reserve {
			parts = append(parts, "reserved until added")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", st.Name, p.Cities[st.City].Name, len(st.Machines), strings.Join(parts, ", "))
	}
	p.describeCommands(tw)
	p.describeShards(tw)
	p.describeRegistries(tw)
	p.describeFaults(tw)
	p.describeScaling(tw)
	return tw.Flush()
}

// describeScaling lists the scaled components with their slots per set,
// the scale actions, the autoscalers and the sets added.
func (p *Plan) describeScaling(tw io.Writer) {
	sc := p.Scenario.Scaling
	if len(p.ScaleGroups) == 0 && len(sc.Sets) == 0 {
		return
	}
	fmt.Fprintf(tw, "\nscaling: startup %s, grace %s\n", sc.Startup, sc.Grace)
	if len(p.ScaleGroups) > 0 {
		fmt.Fprintln(tw, "COMPONENT\tAT START\tSLOTS PER SET")
		for _, g := range p.ScaleGroups {
			if g.Set == p.ScaleGroups[0].Set {
				fmt.Fprintf(tw, "%s\t%d\t%d\n", p.ComponentName(g.Component), g.Initial, len(g.Instances))
			}
		}
	}
	for _, a := range p.ScaleActions {
		to := fmt.Sprintf("to %d", a.To)
		if a.To < 0 {
			to = fmt.Sprintf("by %+d", a.By)
		}
		g := p.ScaleGroups[a.Groups[0]]
		fmt.Fprintf(tw, "at %s: %s %s in %s\n", time.Duration(a.At), p.ComponentName(g.Component), to, Quantity(len(a.Groups), "set"))
	}
	for _, a := range p.Autoscalers {
		s := a.Spec
		fmt.Fprintf(tw, "autoscaler %s: %d to %d a set, target %s every %s, tolerance %s, stabilization %s, step %d\n",
			s.Service, s.Min, s.Max, s.Utilization, s.Period, s.Tolerance, s.Stabilization, s.MaxStep)
	}
	for _, c := range sc.Sets {
		fmt.Fprintf(tw, "at %s: add set %s (copy rate %s)\n", c.At, c.Add, sc.CopyRate)
	}
}

// describeCommands lists the workload's commands.
func (p *Plan) describeCommands(tw io.Writer) {
	if len(p.Commands) == 0 {
		return
	}
	fmt.Fprintln(tw, "\nCOMMAND\tSHARE\tPRIORITY\tWRITES\tSERVICE\tTIMEOUT\tRETRIES")
	for _, c := range p.Commands {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.Name, Percent(c.Share), PriorityNames[c.Priority], Percent(c.Write),
			p.Services[c.Service].Name, c.Timeout, c.Retries)
	}
}

func (p *Plan) describeShards(tw io.Writer) {
	if len(p.Shards) == 0 {
		return
	}
	d := p.Scenario.Stack.Data
	fmt.Fprintf(tw, "\ndata: %s, %s, %s over distinct %s, %s replication\n", d.Mode, Quantity(len(p.Shards), "shard"),
		Quantity(d.Replicas, "replica"), Plural(d.Placement), d.Replication)
	fmt.Fprintln(tw, "SHARD\tPRIMARY\tREPLICAS")
	for i, sh := range p.Shards {
		if i == 24 {
			fmt.Fprintf(tw, "... %d more\n", len(p.Shards)-i)
			break
		}
		var reps []string
		for _, in := range sh.Replicas[1:] {
			reps = append(reps, p.Machines[p.Instances[in].Machine].Name)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i, p.Machines[p.Instances[sh.Replicas[0]].Machine].Name, strings.Join(reps, " "))
	}
}

func (p *Plan) describeRegistries(tw io.Writer) {
	if len(p.Registries) == 0 {
		return
	}
	r := p.Registries[0]
	var on []string
	for _, in := range r.Instances {
		on = append(on, p.Machines[p.Instances[in].Machine].Name)
	}
	if len(r.Sets) > 1 {
		fmt.Fprintf(tw, "\nregistry: one for all sets, %s on %s\n", Quantity(len(r.Instances), "copy"), strings.Join(on, " "))
		return
	}
	fmt.Fprintf(tw, "\nregistry: one per set, %s each (set %s: %s)\n", Quantity(len(r.Instances), "copy"), p.Sets[r.Sets[0]].Name, strings.Join(on, " "))
}

func (p *Plan) describeFaults(tw io.Writer) {
	fmt.Fprintln(tw, "\nFAULT\tKIND\tFROM\tTO\tHITS")
	if len(p.Faults) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, f := range p.Faults {
		hits := Quantity(len(f.Machines), "machine") + ", " + Quantity(len(f.Sets), "set")
		if len(f.Shards) > 0 {
			hits += ", " + Quantity(len(f.Shards), "shard primary")
		}
		if f.Kind.IsLink() {
			peer := "everything else"
			if !f.PeerAll {
				peer = Quantity(len(f.PeerMachines), "machine") + ", " + Quantity(len(f.PeerCities), "city")
			}
			hits += " <-> " + peer
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.Kind, time.Duration(f.Start), time.Duration(f.End), hits)
	}
}
