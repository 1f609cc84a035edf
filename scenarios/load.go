package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// File is a loaded scenario: the parsed values with defaults applied, the
// text it came from and where each field was written.
type File struct {
	Path     string
	Text     []byte
	Scenario *Scenario
	pos      map[string]Pos
}

// Load reads, parses and validates the scenario at path. Every problem is
// reported, each with file:line:col and field path, as an ErrorList.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Error{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}

// Parse parses and validates a scenario from memory; path is used in errors
// and for the default name.
func Parse(path string, data []byte) (*File, error) {
	f, errs := parse(path, data)
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	if errs := f.validate(); len(errs) > 0 {
		return nil, errs.sorted()
	}
	f.Scenario.scaleShares()
	return f, nil
}

func parse(path string, data []byte) (*File, ErrorList) {
	d := &decoder{file: path, pos: map[string]Pos{}, budget: maxValues}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrorList{{File: path, Line: 1, Col: 1, Msg: "the file is empty; a scenario needs at least topology.cities"}}
		}
		return nil, ErrorList{yamlError(path, data, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, ErrorList{{File: path, Line: extra.Line, Col: extra.Column, Msg: "a scenario file holds one YAML document; found a second"}}
	case !errors.Is(err, io.EOF):
		e := yamlError(path, data, err)
		e.Msg = "after the first document (a scenario file holds one): " + e.Msg
		return nil, ErrorList{e}
	}
	s := &Scenario{}
	s.setDefaults()
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	d.decode(doc, reflect.ValueOf(s).Elem(), "")
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	f := &File{Path: path, Text: data, Scenario: s, pos: d.pos}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	s.finishDefaults(f.written)
	return f, nil
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into an Error
// with a position. The few yaml.v3 errors without a line are placed at
// what they complain about.
func yamlError(path string, data []byte, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := Error{File: path, Msg: "YAML syntax: " + msg}
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		e.Line, e.Col = line, 1
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			e.Msg = "YAML syntax: " + rest
		}
		return e
	}
	off := -1
	var anchor string
	switch {
	case strings.HasPrefix(msg, "unknown anchor"):
		if _, err := fmt.Sscanf(msg, "unknown anchor %q referenced", &anchor); err != nil {
			anchor = strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		}
		off = bytes.Index(data, []byte("*"+anchor))
	case strings.HasPrefix(msg, "control characters"):
		off = bytes.IndexFunc(data, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f })
	case strings.HasPrefix(msg, "invalid"):
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				off = i
				break
			}
			i += n
		}
	}
	e.Line, e.Col = 1, 1
	if off >= 0 {
		e.Line = 1 + bytes.Count(data[:off], []byte("\n"))
		e.Col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:off], '\n')+1:off])
	}
	return e
}

func (f *File) written(path string) bool {
	_, ok := f.pos[path]
	return ok
}

// at returns the position of a field path, or of its nearest written
// ancestor when the field itself was left to its default.
func (f *File) at(path string) Pos {
	for p := path; ; {
		if pos, ok := f.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if pos, ok := f.pos[""]; ok {
				return pos
			}
			return Pos{1, 1}
		}
		p = p[:i]
	}
}

// keyAt returns the position of a field's key (for errors about the field
// being present at all), or of the value when there is no key.
func (f *File) keyAt(path string) Pos {
	if pos, ok := f.pos[path+"#key"]; ok {
		return pos
	}
	return f.at(path)
}
