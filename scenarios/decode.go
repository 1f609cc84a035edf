package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree into a Scenario, collecting every error with
// its position instead of stopping at the first, and remembering where each
// field path was written so that semantic checks can point at it.
type decoder struct {
	file string
	errs ErrorList
	pos  map[string]Pos
	// budget is how many more values may be decoded; aliases can make a
	// small file expand to billions of values.
	budget int
}

// maxValues bounds the values one file may expand to.
const maxValues = 100_000

// nodeUnmarshaler is implemented by types with their own YAML forms.
type nodeUnmarshaler interface {
	unmarshalNode(d *decoder, n *yaml.Node, path string)
}

// scalarUnmarshaler is implemented by unit types written as one scalar.
type scalarUnmarshaler interface {
	unmarshalScalar(s string) error
}

var (
	nodeUnmarshalerType   = reflect.TypeOf((*nodeUnmarshaler)(nil)).Elem()
	scalarUnmarshalerType = reflect.TypeOf((*scalarUnmarshaler)(nil)).Elem()
)

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// plainTags are the tags of YAML's core schema that the decoder reads the
// way it reads untagged values; any other tag written in a file (!!binary,
// !!timestamp, a custom !tag) would be silently dropped or misread, so it
// is an error.
var plainTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!map": true, "!!seq": true, "!!merge": true}

// plainTag reports whether n carries no tag beyond the plain ones,
// reporting the tag at n otherwise.
func (d *decoder) plainTag(n *yaml.Node, path string) bool {
	if n.Style&yaml.TaggedStyle == 0 || plainTags[n.Tag] {
		return true
	}
	d.errorf(n, path, "the YAML tag %s is not supported; write the value without it", n.Tag)
	return false
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if !d.spend(n, path) || !d.plainTag(n, path) {
		return
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(nodeUnmarshaler); ok {
			u.unmarshalNode(d, n, path)
			return
		}
		if u, ok := v.Addr().Interface().(scalarUnmarshaler); ok {
			if n.Kind != yaml.ScalarNode {
				d.errorf(n, path, "expected a single value, got a %s", kindName(n))
				return
			}
			if err := u.unmarshalScalar(n.Value); err != nil {
				d.errorf(n, path, "%v", err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			setDefaults(v.Interface())
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of fields, got a %s", kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	// Merged mappings (<<: *anchor) come first so that the mapping's own
	// keys override them, as YAML specifies.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Tag == "!!merge" {
			d.merge(n.Content[i+1], v, path)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			continue
		}
		name := k.Value
		fp := joinPath(path, name)
		if !d.plainTag(k, fp) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "expected a field name, got a %s", kindName(k))
			continue
		}
		if seen[name] {
			d.errorf(k, fp, "field %q is given twice", name)
			continue
		}
		seen[name] = true
		idx, ok := fields[name]
		if !ok {
			d.errorf(k, fp, "unknown field %q; expected one of: %s", name, strings.Join(sortedKeys(fields), ", "))
			continue
		}
		d.pos[fp+"#key"] = Pos{k.Line, k.Column}
		d.decode(val, v.Field(idx), fp)
	}
}

// spend takes one value from the budget, reporting once when it runs out.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.errorf(n, path, "the document expands to more than %d values; are aliases (*name) nested too deep?", maxValues)
		}
		return false
	}
	return true
}

// merge decodes the mapping (or list of mappings) of a merge key into v.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if !d.spend(n, path) || !d.plainTag(n, path) {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.decodeStruct(n, v, path)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c = resolveAlias(c); !d.spend(c, path) || !d.plainTag(c, path) {
				return
			}
			if c.Kind != yaml.MappingNode {
				d.errorf(c, path, "a merge (<<) takes mappings, got a %s", kindName(c))
				continue
			}
			d.decodeStruct(c, v, path)
		}
	default:
		d.errorf(n, path, "a merge (<<) takes a mapping or a list of mappings, got a %s", kindName(n))
	}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got a %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		elem := s.Index(i)
		if elem.CanAddr() {
			setDefaults(elem.Addr().Interface())
		}
		d.decode(c, elem, fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got a %s", kindName(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fp := joinPath(path, k.Value)
		if !d.plainTag(k, fp) {
			continue
		}
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.errorf(k, fp, "key %q is given twice", k.Value)
			continue
		}
		d.pos[fp+"#key"] = Pos{k.Line, k.Column}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, fp)
		m.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
	v.Set(m)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected a single value, got a %s", kindName(n))
		return
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, path, "expected true or false, got %q", s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.errorf(n, path, "expected a whole number, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		var u uint64
		if n.Tag != "!!int" || n.Decode(&u) != nil || v.OverflowUint(u) {
			d.errorf(n, path, "expected a non-negative whole number, got %q", s)
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, "expected a number, got %q", s)
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("scenarios: no decoder for %s at %s", v.Type(), path))
	}
}

// yamlFields maps the YAML field names of a struct type to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
	}
	return m
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("value %q", n.Value)
	}
	return "node"
}

// unmarshalNode accepts a bare duration as a constant distribution.
func (t *Dist) unmarshalNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		v, err := ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "expected a duration (constant) or a mapping with dist and mean: %v", err)
			return
		}
		*t = Dist{Dist: "constant", Mean: v}
		return
	}
	type plain Dist
	p := (*plain)(t)
	d.decodeStruct(n, reflect.ValueOf(p).Elem(), path)
}

// JSONSchemaExtend accepts a bare duration (a constant) besides the
// reflected mapping form.
func (Dist) JSONSchemaExtend(s *jsonschema.Schema) {
	obj := *s
	obj.Description = ""
	*s = jsonschema.Schema{
		AnyOf:       []*jsonschema.Schema{Duration(0).JSONSchema(), &obj},
		Description: "A distribution: a bare duration is a constant; otherwise dist and its parameters.",
	}
}
