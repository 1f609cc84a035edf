package scenarios

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/stripelab/stripelab/faults"
)

// The scenario reference in docs/scenarios.md has hand-written sections and
// two generated ones, each between a BEGIN and an END marker. The generated
// text comes from the same doc comments as the JSON Schema.
const (
	markerFields  = "field reference"
	markerFaults  = "fault kinds"
	markerLibrary = "library"
)

func beginMarker(name string) string {
	return "<!-- BEGIN GENERATED " + name + ": do not edit; make schema rewrites it from the Go comments -->"
}

func endMarker(name string) string { return "<!-- END GENERATED " + name + " -->" }

// refRow is one field of the reference.
type refRow struct {
	Path, Field, Type, Default, Desc string
	goType                           reflect.Type
}

// refSection is one mapping of the format: its path and its fields.
type refSection struct {
	Path, Desc string
	Rows       []refRow
}

// referenceSections walks the scenario types from the root, one section per
// mapping, in field order.
func referenceSections() ([]refSection, error) {
	r, err := newReflector()
	if err != nil {
		return nil, err
	}
	comment := func(t reflect.Type, field string) string {
		k := pkgPath + "." + t.Name()
		if field != "" {
			k += "." + field
		}
		return r.CommentMap[k]
	}
	var out []refSection
	var walk func(path string, t reflect.Type)
	walk = func(path string, t reflect.Type) {
		sec := refSection{Path: path, Desc: comment(t, "")}
		var nested []func()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			fp := joinPath(path, name)
			def, desc := splitDefault(comment(t, f.Name))
			row := refRow{Path: fp, Field: name, Type: fieldType(f), Default: def, Desc: plainDesc(f.Name, name, desc), goType: f.Type}
			if sub, list := structOf(f.Type); sub != nil {
				sp := fp
				if list {
					sp += "[]"
				}
				if f.Type.Kind() == reflect.Map {
					sp += ".NAME"
				}
				row.Type = fmt.Sprintf("%s, see [%s](#%s)", row.Type, sp, anchor(sp))
				nested = append(nested, func() { walk(sp, sub) })
			}
			sec.Rows = append(sec.Rows, row)
		}
		out = append(out, sec)
		for _, n := range nested {
			n()
		}
	}
	walk("", reflect.TypeFor[Scenario]())
	out[0].Path = "top level"
	dist := reflect.TypeFor[Dist]()
	sec := refSection{Path: "distribution", Desc: comment(dist, "")}
	for i := 0; i < dist.NumField(); i++ {
		f := dist.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		def, desc := splitDefault(comment(dist, f.Name))
		sec.Rows = append(sec.Rows, refRow{Path: name, Field: name, Type: fieldType(f), Default: def, Desc: plainDesc(f.Name, name, desc), goType: f.Type})
	}
	return append(out, sec), nil
}

// structOf returns the struct type a field opens as its own mapping (or
// list of mappings), or nil for values and the unit types.
func structOf(t reflect.Type) (reflect.Type, bool) {
	list := false
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		list = list || t.Kind() == reflect.Slice
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[Names]() || t == reflect.TypeFor[Dist]() {
		return nil, false
	}
	return t, list
}

// fieldType names a field's notation, with its allowed values.
func fieldType(f reflect.StructField) string {
	t := f.Type
	s := unitName(t)
	if t == reflect.TypeFor[Dist]() {
		s = "[distribution](#distribution)"
	}
	var enum []string
	for _, part := range strings.Split(f.Tag.Get("jsonschema"), ",") {
		if v, ok := strings.CutPrefix(part, "enum="); ok {
			enum = append(enum, "`"+v+"`")
		}
	}
	if len(enum) > 0 {
		s += ": " + strings.Join(enum, ", ")
	}
	if f.Type == reflect.TypeFor[string]() && f.Name == "Kind" && len(enum) == 0 {
		s += ": one of the [fault kinds](#fault-kinds)"
	}
	for _, part := range strings.Split(f.Tag.Get("jsonschema"), ",") {
		if part == "required" {
			s += " (required)"
		}
	}
	return s
}

// defaultRe finds the sentence that states a default: "Default 5m." or
// "Default: the first service." (a period inside a number does not end it).
var defaultRe = regexp.MustCompile(`(?:^|\s)Default:? (.+?)\.(?:\s|$)`)

// splitDefault cuts the default sentence out of a comment.
func splitDefault(c string) (def, rest string) {
	m := defaultRe.FindStringSubmatchIndex(c)
	if m == nil {
		return "", c
	}
	def = c[m[2]:m[3]]
	rest = strings.TrimSpace(c[:m[0]] + " " + c[m[1]:])
	return def, rest
}

// plainDesc turns "RehomeDelay is how long..." into "How long..." and
// "Failback moves users..." into "`failback` moves users...".
func plainDesc(goName, yamlName, c string) string {
	for _, verb := range []string{" is ", " are "} {
		if rest, ok := strings.CutPrefix(c, goName+verb); ok {
			return upperFirst(rest)
		}
	}
	if rest, ok := strings.CutPrefix(c, goName+" "); ok {
		return "`" + yamlName + "` " + rest
	}
	return c
}

func upperFirst(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

// anchor is the GitHub anchor of a heading.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' {
			b.WriteRune(r)
		} else if r == ' ' {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return " "
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// generateFieldReference renders every field with its notation, default
// and meaning, one table per mapping.
func generateFieldReference() (string, error) {
	secs, err := referenceSections()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range secs {
		fmt.Fprintf(&b, "\n### %s\n\n", s.Path)
		if s.Desc != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Desc)
		}
		b.WriteString("| field | type | default | meaning |\n|---|---|---|---|\n")
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Field, cell(r.Type), cell(r.Default), cell(r.Desc))
		}
	}
	return b.String(), nil
}

// generateFaultReference renders faults.Table: each kind, its targets and
// its parameters.
func generateFaultReference() string {
	var b strings.Builder
	b.WriteString("\n| kind | targets | parameters | effect |\n|---|---|---|---|\n")
	for _, spec := range faults.Table {
		var params []string
		for _, p := range spec.Params {
			s := "`" + string(p) + "`"
			for _, r := range spec.Required {
				if r == p {
					s += " (required)"
				}
			}
			params = append(params, s)
		}
		ps := strings.Join(params, ", ")
		if ps == "" {
			ps = "none"
		}
		var targets []string
		for _, k := range spec.Targets {
			if k == faults.ScopeAll {
				targets = append(targets, "none (everything)")
				continue
			}
			targets = append(targets, "`"+k.String()+"=`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", spec.Name, strings.Join(targets, ", "), ps, cell(spec.Summary))
	}
	return b.String()
}

// generateLibraryReference lists the shipped scenarios with their
// descriptions.
func generateLibraryReference() (string, error) {
	var b strings.Builder
	b.WriteString("\n| scenario | what it shows |\n|---|---|\n")
	for _, name := range LibraryNames() {
		f, err := LoadLibrary(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| [`%s`](../scenarios/library/%s.yaml) | %s |\n", name, name, cell(f.Scenario.Description))
	}
	return b.String(), nil
}

// generateReference rewrites the generated parts of the reference doc.
func generateReference(doc string) (string, error) {
	fields, err := generateFieldReference()
	if err != nil {
		return "", err
	}
	lib, err := generateLibraryReference()
	if err != nil {
		return "", err
	}
	for _, g := range []struct{ name, body string }{
		{markerFaults, generateFaultReference()}, {markerLibrary, lib}, {markerFields, fields},
	} {
		if doc, err = replaceGenerated(doc, g.name, g.body); err != nil {
			return "", err
		}
	}
	return doc, nil
}

// replaceGenerated puts body between the markers named name in doc.
func replaceGenerated(doc, name, body string) (string, error) {
	begin, end := beginMarker(name), endMarker(name)
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("docs/scenarios.md lacks the markers %q and %q", begin, end)
	}
	return doc[:i+len(begin)] + "\n" + body + "\n" + doc[j:], nil
}

// unitName names the notation of a Go type for the reference.
func unitName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return "duration"
	case reflect.TypeFor[Rate]():
		return "rate"
	case reflect.TypeFor[Percent]():
		return "percentage"
	case reflect.TypeFor[Count]():
		return "count"
	case reflect.TypeFor[Names]():
		return "count or list of names"
	case reflect.TypeFor[Dist]():
		return "distribution"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return unitName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct && t.Elem() != reflect.TypeFor[Names]() {
			return "list of mappings"
		}
		return "list of " + unitName(t.Elem()) + "s"
	case reflect.Map:
		return "mapping of names to " + unitName(t.Elem()) + "s"
	case reflect.Struct:
		return "mapping"
	}
	return t.String()
}
