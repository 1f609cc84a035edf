package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// Derive makes a variant of a loaded scenario: it deep-copies the
// scenario, applies the edits in order, re-fills the mode-dependent
// defaults the original file left out (so that a ramp that ended with the
// run still ends with a shortened run), and validates the result as if it
// had been written, so that an invalid variant is an error naming the
// field, never a plan that panics.
//
// The variant remembers which fields the original file wrote; a field an
// edit changed counts as written (without a line: errors about it name the
// file and the field path only), and a field an edit cleared counts as not
// written. Its Text is the original text under a comment header listing
// every changed field, so that a report of the variant shows what it ran.
// The original is not modified.
func Derive(f *File, edits ...func(s *Scenario)) (*File, error) {
	s := new(Scenario)
	cloneInto(reflect.ValueOf(s).Elem(), reflect.ValueOf(f.Scenario).Elem())
	for _, edit := range edits {
		edit(s)
	}
	var changes []change
	diff("", reflect.ValueOf(f.Scenario).Elem(), reflect.ValueOf(s).Elem(), false, &changes)
	d := &File{Path: f.Path, Scenario: s, pos: make(map[string]Pos, len(f.pos))}
	for k, v := range f.pos {
		d.pos[k] = v
	}
	for _, c := range changes {
		c.apply(d.pos)
	}
	s.finishDefaults(d.written)
	d.Text = variantText(f, changes)
	if errs := d.validate(); len(errs) > 0 {
		return nil, errs.sorted()
	}
	s.scaleShares()
	return d, nil
}

// cloneInto deep-copies src into dst (same type): pointers, slices and
// maps are copied, not shared.
func cloneInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		n := reflect.New(src.Type().Elem())
		cloneInto(n.Elem(), src.Elem())
		dst.Set(n)
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			cloneInto(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		n := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			cloneInto(n.Index(i), src.Index(i))
		}
		dst.Set(n)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(it.Value().Type()).Elem()
			cloneInto(v, it.Value())
			n.SetMapIndex(it.Key(), v)
		}
		dst.Set(n)
	default:
		dst.Set(src)
	}
}

// change is one field path whose value differs between the original and
// the variant.
type change struct {
	path    string
	value   reflect.Value // the variant's value; invalid when removed
	removed bool          // a list element or map key that is gone
	shown   reflect.Value // when valid, the value to show instead of value
}

// apply updates the written-field positions: a field set to a non-zero
// value is written (at no line), a cleared or removed one is not, and
// neither is anything below it.
func (c change) apply(pos map[string]Pos) {
	if c.removed || c.value.IsZero() {
		delete(pos, c.path)
		delete(pos, c.path+"#key")
		for k := range pos {
			if strings.HasPrefix(k, c.path+".") || strings.HasPrefix(k, c.path+"[") {
				delete(pos, k)
			}
		}
		return
	}
	pos[c.path] = Pos{}
}

// leafTypes are compared whole: their parts are not separate fields.
var leafTypes = map[reflect.Type]bool{reflect.TypeFor[Names](): true}

// diff walks a (original) and b (variant) in parallel and lists the
// changed fields under the paths the decoder uses (stack.services[1].name,
// slo.latency.p99). added is true inside a list element or map entry that
// the original did not have: there a required field counts as written
// even when it is zero (a fault at 0s).
func diff(path string, a, b reflect.Value, added bool, out *[]change) {
	if leafTypes[b.Type()] {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, change{path: path, value: b})
		}
		return
	}
	switch b.Kind() {
	case reflect.Pointer:
		switch {
		case a.IsNil() && b.IsNil():
		case a.IsNil():
			diff(path, reflect.New(b.Type().Elem()).Elem(), b.Elem(), added, out)
			*out = append(*out, change{path: path, value: b})
		case b.IsNil():
			*out = append(*out, change{path: path, removed: true})
		default:
			diff(path, a.Elem(), b.Elem(), added, out)
		}
	case reflect.Struct:
		diffStruct(path, a, b, added, out)
	case reflect.Slice:
		if b.Len() == 0 && a.Len() > 0 {
			*out = append(*out, change{path: path, removed: true})
			return
		}
		for i := 0; i < max(a.Len(), b.Len()); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= b.Len():
				*out = append(*out, change{path: p, removed: true})
			case i >= a.Len():
				*out = append(*out, change{path: p, value: b.Index(i)})
				diff(p, reflect.Zero(b.Type().Elem()), b.Index(i), true, out)
			default:
				diff(p, a.Index(i), b.Index(i), added, out)
			}
		}
	case reflect.Map:
		diffMap(path, a, b, out)
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, change{path: path, value: b})
		}
	}
}

func diffStruct(path string, a, b reflect.Value, added bool, out *[]change) {
	t := b.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := joinPath(path, name)
		n := len(*out)
		diff(p, a.Field(i), b.Field(i), added, out)
		if !strings.Contains(t.Field(i).Tag.Get("jsonschema"), "required") {
			continue
		}
		// A required field of a new or edited element stays written even
		// at its zero value (a fault at 0s).
		switch {
		case added && len(*out) == n:
			*out = append(*out, change{path: p, value: reflect.ValueOf(true), shown: b.Field(i)})
		case len(*out) == n+1 && (*out)[n].path == p && !(*out)[n].removed && (*out)[n].value.IsZero():
			(*out)[n].value, (*out)[n].shown = reflect.ValueOf(true), b.Field(i)
		}
	}
}

func diffMap(path string, a, b reflect.Value, out *[]change) {
	if b.Len() == 0 && a.Len() > 0 {
		*out = append(*out, change{path: path, removed: true})
		return
	}
	keys := map[string]bool{}
	for _, m := range []reflect.Value{a, b} {
		for _, k := range m.MapKeys() {
			keys[k.String()] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		p := joinPath(path, k)
		av, bv := a.MapIndex(reflect.ValueOf(k)), b.MapIndex(reflect.ValueOf(k))
		switch {
		case !bv.IsValid():
			*out = append(*out, change{path: p, removed: true})
		case !av.IsValid():
			diff(p, reflect.Zero(bv.Type()), bv, true, out)
			*out = append(*out, change{path: p, value: bv})
		default:
			diff(p, av, bv, false, out)
		}
	}
}

// variantText is the original text under a header naming every changed
// field with its new value.
func variantText(f *File, changes []change) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Variant of %s made by stripelab. These fields differ from the text below:\n", f.Path)
	n := 0
	for _, c := range changes {
		if !c.removed && isComposite(c.value) {
			continue
		}
		n++
		if c.removed {
			fmt.Fprintf(&b, "#   %s: removed\n", c.path)
			continue
		}
		v := c.value
		if c.shown.IsValid() {
			v = c.shown
		}
		fmt.Fprintf(&b, "#   %s: %s\n", c.path, formatValue(v))
	}
	if n == 0 {
		b.WriteString("#   (none)\n")
	}
	b.WriteString("#\n")
	b.Write(f.Text)
	return []byte(b.String())
}

func isComposite(v reflect.Value) bool {
	if leafTypes[v.Type()] {
		return false
	}
	switch v.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map, reflect.Pointer:
		return true
	}
	return false
}

func formatValue(v reflect.Value) string {
	if n, ok := v.Interface().(Names); ok {
		if n.List != nil {
			return "[" + strings.Join(n.List, ", ") + "]"
		}
		return fmt.Sprint(n.Count)
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.String && (v.String() == "" || strings.ContainsAny(v.String(), " :#\"'")) {
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprint(v.Interface())
}

// WithGranularity stripes the variant per city, az, rack or machine.
//
// Set names belong to a granularity, so a variant at another one keeps no
// reserved set, adds none and drops the scale actions that target a set:
// it compares the layouts as they start.
func WithGranularity(g string) func(*Scenario) {
	return func(s *Scenario) {
		if g == s.Striping.Granularity {
			return
		}
		s.Striping.Granularity = g
		s.Striping.Reserve, s.Scaling.Sets = nil, nil
		kept := s.Scaling.Actions[:0:0]
		for _, a := range s.Scaling.Actions {
			if !strings.HasPrefix(a.Target, "set=") {
				kept = append(kept, a)
			}
		}
		s.Scaling.Actions = kept
	}
}

// WithDataMode runs the variant's data layer in another mode (global,
// sharded, proxy or none). The fields of the old mode are cleared, so the
// new mode's defaults fill what the file did not give (shards 16, one
// data proxy pair per set, the first city holding global primaries).
func WithDataMode(mode string) func(*Scenario) {
	return func(s *Scenario) {
		d := &s.Stack.Data
		if d.Mode == mode {
			return
		}
		d.Mode = mode
		if mode != "global" {
			d.Primary = ""
		}
		if mode != "proxy" {
			d.Proxy = nil
		}
		if mode != "global" && mode != "proxy" {
			d.Shards = 0
		}
	}
}

// WithFaults replaces the fault timeline; no argument removes every fault.
func WithFaults(faults ...Fault) func(*Scenario) {
	return func(s *Scenario) { s.Faults = append([]Fault(nil), faults...) }
}

// WithSLO replaces the objectives.
func WithSLO(slo SLO) func(*Scenario) {
	return func(s *Scenario) { s.SLO = slo }
}

// WithName renames the variant (the name reports show).
func WithName(name string) func(*Scenario) {
	return func(s *Scenario) { s.Name = name }
}

// Component is one per-set component whose instance count can be scaled:
// the gateway, each service, and the data proxy in proxy mode.
type Component struct {
	// Name is gateway, proxy, or the service's name.
	Name string
	// Instances is the count per set.
	Instances int
}

// Components lists the per-set components in stack order: gateway, the
// services, then the proxy (proxy mode).
func (s *Scenario) Components() []Component {
	out := []Component{{"gateway", s.Stack.Gateway.Instances}}
	for _, sv := range s.Stack.Services {
		out = append(out, Component{sv.Name, sv.Instances})
	}
	if s.Stack.Data.Mode == "proxy" && s.Stack.Data.Proxy != nil {
		out = append(out, Component{"proxy", s.Stack.Data.Proxy.Instances})
	}
	return out
}

// WithInstances sets the per-set instance count of every component
// (see Components) to what fn returns for its name and current count.
func WithInstances(fn func(component string, perSet int) int) func(*Scenario) {
	return func(s *Scenario) {
		st := &s.Stack
		st.Gateway.Instances = fn("gateway", st.Gateway.Instances)
		for i := range st.Services {
			st.Services[i].Instances = fn(st.Services[i].Name, st.Services[i].Instances)
		}
		if st.Data.Mode == "proxy" && st.Data.Proxy != nil {
			st.Data.Proxy.Instances = fn("proxy", st.Data.Proxy.Instances)
		}
	}
}

// ScaleInstances multiplies every component's instances per set by
// factor, rounding up, and keeps at least one.
func ScaleInstances(factor float64) func(*Scenario) {
	return WithInstances(func(_ string, n int) int { return max(1, int(math.Ceil(float64(n)*factor-1e-9))) })
}

// ScaleRate multiplies the offered rate (workload.rate) by factor.
func ScaleRate(factor float64) func(*Scenario) {
	return func(s *Scenario) { s.Workload.Rate = Rate(float64(s.Workload.Rate) * factor) }
}

// WithConstantRate offers a constant rate: the profile becomes constant
// and workload.rate is r.
func WithConstantRate(r Rate) func(*Scenario) {
	return func(s *Scenario) {
		s.Workload.Rate = r
		s.Workload.Profile = Profile{Shape: "constant"}
	}
}

// WithRun sets the run's duration and warm-up (0 keeps the warm-up). A
// shortened run keeps its faults: one that no longer fits is an error of
// the variant, so drop or move it with WithFaults.
func WithRun(duration, warmup Duration) func(*Scenario) {
	return func(s *Scenario) {
		s.Run.Duration = duration
		if warmup > 0 {
			s.Run.Warmup = warmup
		}
	}
}

// PeakLevel is the highest multiplier the workload profile reaches (a
// diurnal profile peaks at 100%), so that rate x PeakLevel is the peak
// offered rate.
func (s *Scenario) PeakLevel() float64 {
	p := s.Workload.Profile
	switch p.Shape {
	case "ramp":
		return max(float64(p.From), float64(p.To))
	case "spike":
		return max(1, float64(p.Level))
	case "step":
		peak := 1.0 // the level before the first step
		if len(p.Steps) > 0 && p.Steps[0].At == 0 {
			peak = 0
		}
		for _, st := range p.Steps {
			peak = max(peak, float64(st.Level))
		}
		return peak
	}
	return 1
}
