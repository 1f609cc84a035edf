package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// Duration is a span of virtual or real time in nanoseconds, written in a
// scenario as a Go duration string ("250ms", "5m", "1h30m", "40us").
type Duration int64

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way it is written in a scenario.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d back in scenario notation.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes d as its scenario string so results echo what was written.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("duration: expected a quoted string, got %s", b)
	}
	v, err := ParseDuration(s)
	*d = v
	return err
}

// ParseDuration reads a duration in scenario notation. A bare 0 is accepted;
// any other number needs a unit so that "5" is never silently five nanoseconds.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	s = strings.ReplaceAll(s, "µs", "us")
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected a duration such as 250ms, 5m or 1h30m, got %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("expected a non-negative duration, got %q", s)
	}
	return Duration(v), nil
}

func (d *Duration) unmarshalScalar(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// JSONSchema describes the accepted notation to editors.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`},
			{Type: "integer", Const: 0},
			{Type: "string", Const: "0"},
		},
		Examples: []any{"250ms", "5m", "1h30m"},
	}
}

// Rate is a number of events per second, written "10k/s", "500/s", "1.5M/s",
// "600/m" (per minute) or "36k/h" (per hour).
type Rate float64

// PerSecond returns r as a float.
func (r Rate) PerSecond() float64 { return float64(r) }

// String formats r in scenario notation.
func (r Rate) String() string { return formatCount(float64(r)) + "/s" }

// MarshalYAML writes r back in scenario notation.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// MarshalJSON writes r as its scenario string.
func (r Rate) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(r.String())), nil }

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Rate) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("rate: expected a quoted string, got %s", b)
	}
	v, err := ParseRate(s)
	*r = v
	return err
}

// ParseRate reads a rate in scenario notation.
func ParseRate(s string) (Rate, error) {
	orig := s
	s = strings.TrimSpace(s)
	per := 1.0
	switch {
	case strings.HasSuffix(s, "/s"):
		s = strings.TrimSuffix(s, "/s")
	case strings.HasSuffix(s, "/m"):
		s, per = strings.TrimSuffix(s, "/m"), 60
	case strings.HasSuffix(s, "/h"):
		s, per = strings.TrimSuffix(s, "/h"), 3600
	default:
		if s != "0" {
			return 0, fmt.Errorf("expected a rate such as 10k/s, 500/s or 600/m, got %q", orig)
		}
	}
	n, err := parseCount(s)
	if err != nil {
		return 0, fmt.Errorf("expected a rate such as 10k/s, 500/s or 600/m, got %q", orig)
	}
	return Rate(n / per), nil
}

func (r *Rate) unmarshalScalar(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// JSONSchema describes the accepted notation to editors.
func (Rate) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?[kKM]?/(s|m|h)$`},
			{Type: "integer", Const: 0},
		},
		Examples: []any{"10k/s", "500/s", "600/m"},
	}
}

// maxCount keeps a Count well inside int64.
const maxCount = 1e15

// Count is a non-negative whole number that may be written with a k or M
// suffix ("1M" users, "64k" keys).
type Count int64

func (c *Count) unmarshalScalar(s string) error {
	v, err := parseCount(s)
	if err != nil || v != math.Trunc(v) || v > maxCount {
		return fmt.Errorf("expected a whole number such as 1000, 64k or 1M, got %q", s)
	}
	*c = Count(v)
	return nil
}

// MarshalJSON writes c as a plain number.
func (c Count) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(int64(c), 10)), nil }

// JSONSchema describes the accepted notation to editors.
func (Count) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		AnyOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "0"},
			{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?[kKM]?$`},
		},
		Examples: []any{1000, "64k", "1M"},
	}
}

func parseCount(s string) (float64, error) {
	s = strings.TrimSpace(s)
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		s, mul = s[:len(s)-1], 1e3
	case strings.HasSuffix(s, "M"):
		s, mul = s[:len(s)-1], 1e6
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("not a count: %q", s)
	}
	return v * mul, nil
}

func formatCount(v float64) string {
	switch {
	case v >= 1e6 && v == math.Trunc(v/1e4)*1e4:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3 && v == math.Trunc(v/10)*10:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Percent is a fraction written as a percentage ("99.9%", "20%"); it holds
// the fraction (0.999, 0.2).
type Percent float64

// Fraction returns p as a number between 0 and 1.
func (p Percent) Fraction() float64 { return float64(p) }

// String formats p in scenario notation.
func (p Percent) String() string {
	// Round away float noise: 0.7+0.2 prints as 90%, not 89.99999999999999%.
	v := math.Round(float64(p)*100*1e9) / 1e9
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

// MarshalYAML writes p back in scenario notation.
func (p Percent) MarshalYAML() (any, error) { return p.String(), nil }

// MarshalJSON writes p as its scenario string.
func (p Percent) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(p.String())), nil }

// UnmarshalJSON reads what MarshalJSON wrote.
func (p *Percent) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("percentage: expected a quoted string, got %s", b)
	}
	v, err := ParsePercent(s)
	*p = v
	return err
}

// ParsePercent reads a percentage; the % sign is required so that 99.9 and
// 0.999 cannot be confused.
func ParsePercent(s string) (Percent, error) {
	t := strings.TrimSpace(s)
	if !strings.HasSuffix(t, "%") {
		if t == "0" {
			return 0, nil
		}
		return 0, fmt.Errorf("expected a percentage such as 99.9%% or 20%%, got %q", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("expected a percentage such as 99.9%% or 20%%, got %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("expected a non-negative percentage, got %q", s)
	}
	return Percent(v / 100), nil
}

func (p *Percent) unmarshalScalar(s string) error {
	v, err := ParsePercent(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// JSONSchema describes the accepted notation to editors.
func (Percent) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?%$`},
			{Type: "integer", Const: 0},
		},
		Examples: []any{"99.9%", "20%"},
	}
}

// Names is either a count (names are generated: a, b, c for AZs; r1, r2 for
// racks; m1, m2 for machines) or an explicit list of names.
type Names struct {
	Count int
	List  []string
}

// N returns how many names there are.
func (n Names) N() int {
	if n.List != nil {
		return len(n.List)
	}
	return n.Count
}

// Name returns the i-th name, generating it with prefix when only a count
// was given. An empty prefix generates letters (a..z, then aa, ab...).
func (n Names) Name(i int, prefix string) string {
	if n.List != nil {
		return n.List[i]
	}
	if prefix == "" {
		return letters(i)
	}
	return prefix + strconv.Itoa(i+1)
}

func letters(i int) string {
	s := ""
	for {
		s = string(rune('a'+i%26)) + s
		i = i/26 - 1
		if i < 0 {
			return s
		}
	}
}

func (n *Names) unmarshalNode(d *decoder, node *yaml.Node, path string) {
	switch node.Kind {
	case yaml.ScalarNode:
		// a count is written as any count (4, 10k), unquoted: a quoted
		// "4" is a string, and a lone name is not a list
		var c Count
		quoted := node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		if err := c.unmarshalScalar(node.Value); err != nil || quoted || (node.Tag != "!!int" && node.Tag != "!!str") || c > math.MaxInt32 {
			d.errorf(node, path, "expected a count (such as 4 or 10k) or a list of names, got %q", node.Value)
			return
		}
		*n = Names{Count: int(c)}
	case yaml.SequenceNode:
		list := make([]string, 0, len(node.Content))
		for i, c := range node.Content {
			c = resolveAlias(c)
			ip := fmt.Sprintf("%s[%d]", path, i)
			d.pos[ip] = Pos{c.Line, c.Column}
			if !d.plainTag(c, ip) {
				continue
			}
			if c.Kind != yaml.ScalarNode || c.Value == "" {
				d.errorf(c, ip, "expected a name")
				continue
			}
			list = append(list, c.Value)
		}
		*n = Names{List: list}
	default:
		d.errorf(node, path, "expected a count (such as 4 or 10k) or a list of names")
	}
}

// MarshalJSON writes the count or the list.
func (n Names) MarshalJSON() ([]byte, error) {
	if n.List != nil {
		return marshalStrings(n.List), nil
	}
	return []byte(strconv.Itoa(n.Count)), nil
}

func marshalStrings(l []string) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(s))
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// JSONSchema describes the accepted forms to editors.
func (Names) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		AnyOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "1"},
			{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?[kKM]?$`},
			{Type: "array", Items: &jsonschema.Schema{Type: "string", MinLength: ptrU(1)}, MinItems: ptrU(1)},
		},
	}
}

func ptrU(v uint64) *uint64 { return &v }
