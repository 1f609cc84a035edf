package scenarios

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"250ms", 250 * time.Millisecond, ""},
		{"5m", 5 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"40us", 40 * time.Microsecond, ""},
		{"40µs", 40 * time.Microsecond, ""},
		{"1.5s", 1500 * time.Millisecond, ""},
		{" 2s ", 2 * time.Second, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"5", 0, `expected a duration such as 250ms, 5m or 1h30m, got "5"`},
		{"", 0, "expected a duration"},
		{"five minutes", 0, "expected a duration"},
		{"5 m", 0, "expected a duration"},
		{"-1s", 0, `expected a non-negative duration, got "-1s"`},
		{"10000000h", 0, "expected a duration"},
	} {
		got, err := ParseDuration(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.Std() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"10k/s", 10_000, false},
		{"500/s", 500, false},
		{"1.5M/s", 1_500_000, false},
		{"2.5K/s", 2500, false},
		{"600/m", 10, false},
		{"36k/h", 10, false},
		{"0", 0, false},
		{"0/s", 0, false},
		{"10k", 0, true},
		{"10/x", 0, true},
		{"-5/s", 0, true},
		{"k/s", 0, true},
		{"1e400/s", 0, true},
		{"", 0, true},
	} {
		got, err := ParseRate(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParseRate(%q) = %v, want an error", tc.in, got)
			} else if !strings.Contains(err.Error(), "expected a rate such as 10k/s") {
				t.Errorf("ParseRate(%q) error %q does not say what is expected", tc.in, err)
			}
			continue
		}
		if err != nil || math.Abs(got.PerSecond()-tc.want) > 1e-9 {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tc.in, got.PerSecond(), err, tc.want)
		}
	}
}

func TestParsePercent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"99.9%", 0.999, ""},
		{"20%", 0.2, ""},
		{"100%", 1, ""},
		{"250%", 2.5, ""},
		{"0", 0, ""},
		{"0%", 0, ""},
		{" 5 %", 0.05, ""},
		{"99.9", 0, "expected a percentage such as 99.9% or 20%"},
		{"0.5", 0, "expected a percentage"},
		{"abc%", 0, "expected a percentage"},
		{"NaN%", 0, "expected a percentage"},
		{"Inf%", 0, "expected a percentage"},
		{"-1%", 0, "expected a non-negative percentage"},
	} {
		got, err := ParsePercent(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePercent(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || math.Abs(got.Fraction()-tc.want) > 1e-12 {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", tc.in, got.Fraction(), err, tc.want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1000", 1000, false},
		{"64k", 64_000, false},
		{"1M", 1_000_000, false},
		{"1.5k", 1500, false},
		{"2.5M", 2_500_000, false},
		{"0", 0, false},
		{"1.5", 0, true},
		{"-1", 0, true},
		{"1e300", 0, true},
		{"lots", 0, true},
		{"1G", 0, true},
	} {
		var c Count
		err := c.unmarshalScalar(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("Count %q = %d, want an error", tc.in, c)
			}
			continue
		}
		if err != nil || int64(c) != tc.want {
			t.Errorf("Count %q = %d, %v; want %d", tc.in, c, err, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		in     string
		prefix string
		want   []string
		err    string
	}{
		{"3", "", []string{"a", "b", "c"}, ""},
		{"2", "r", []string{"r1", "r2"}, ""},
		{"[x, y]", "r", []string{"x", "y"}, ""},
		{"[east]", "", []string{"east"}, ""},
		{"10k", "m", generated("m", 10000), ""},
		{"1.5k", "m", generated("m", 1500), ""},
		{"2.5", "", nil, "expected a count (such as 4 or 10k)"},
		{"a", "", nil, `expected a count (such as 4 or 10k) or a list of names, got "a"`},
		{`"3"`, "", nil, `expected a count (such as 4 or 10k) or a list of names, got "3"`},
		{"-1", "", nil, "expected a count (such as 4 or 10k) or a list of names"},
		{"{a: 1}", "", nil, "expected a count (such as 4 or 10k) or a list of names"},
		{"[a, [b]]", "", nil, "expected a name"},
		{"[a, '']", "", nil, "expected a name"},
	} {
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(tc.in), &node); err != nil {
			t.Fatal(err)
		}
		d := &decoder{file: "t.yaml", pos: map[string]Pos{}, budget: maxValues}
		var n Names
		n.unmarshalNode(d, node.Content[0], "azs")
		if tc.err != "" {
			if len(d.errs) != 1 || !strings.Contains(d.errs[0].Msg, tc.err) {
				t.Errorf("Names %s: errors %v, want %q", tc.in, d.errs, tc.err)
			}
			continue
		}
		if len(d.errs) > 0 || n.N() != len(tc.want) {
			t.Errorf("Names %s: %d names, errors %v; want %v", tc.in, n.N(), d.errs, tc.want)
			continue
		}
		for i, w := range tc.want {
			if got := n.Name(i, tc.prefix); got != w {
				t.Errorf("Names %s: name %d = %q, want %q", tc.in, i, got, w)
			}
		}
	}
}

// generated is the names a count of n makes with a prefix: m1, m2...
func generated(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

func TestLetters(t *testing.T) {
	for i, want := range map[int]string{0: "a", 1: "b", 25: "z", 26: "aa", 27: "ab", 51: "az", 52: "ba", 701: "zz", 702: "aaa"} {
		if got := letters(i); got != want {
			t.Errorf("letters(%d) = %q, want %q", i, got, want)
		}
	}
}

// TestUnitStrings checks that units print the way they are written and
// survive a JSON round trip (results echo the scenario).
func TestUnitStrings(t *testing.T) {
	for _, tc := range []struct {
		v    interface{ String() string }
		want string
	}{
		{Duration(250 * time.Millisecond), "250ms"},
		{Duration(90 * time.Minute), "1h30m0s"},
		{Rate(10_000), "10k/s"},
		{Rate(1_500_000), "1.5M/s"},
		{Rate(500), "500/s"},
		{Rate(1234.5), "1234.5/s"},
		{Percent(0.999), "99.9%"},
		{Percent(0.7) + Percent(0.2), "90%"},
		{Percent(1.1000000000000001), "110%"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v prints %q, want %q", tc.v, got, tc.want)
		}
	}
	type units struct {
		D Duration
		R Rate
		P Percent
		C Count
		N Names
	}
	in := units{D: Duration(1500 * time.Millisecond), R: 2500, P: 0.25, C: 64_000, N: Names{List: []string{"x", "y"}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"D":"1.5s","R":"2.5k/s","P":"25%","C":64000,"N":["x","y"]}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back struct {
		D Duration
		R Rate
		P Percent
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.D != in.D || back.R != in.R || back.P != in.P {
		t.Errorf("round trip gave %+v, want %+v", back, in)
	}
	if err := json.Unmarshal([]byte(`{"D": 5}`), &back); err == nil {
		t.Error("a JSON number is not a duration")
	}
}
