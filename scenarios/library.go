package scenarios

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

// library holds the shipped scenarios, embedded so the binary can run them
// without the repository.
//
//go:embed library
var library embed.FS

// DefaultScenario is the library scenario run when no file is given.
const DefaultScenario = "az-loss"

// LibraryFS is the shipped scenario library, rooted at the library folder:
// az-loss.yaml, ci/smoke.yaml...
func LibraryFS() fs.FS {
	sub, err := fs.Sub(library, "library")
	if err != nil {
		panic("scenarios: the embedded library is missing: " + err.Error())
	}
	return sub
}

// LibraryNames lists the shipped scenarios by name (the path in the library
// without .yaml, such as az-loss or ci/smoke), sorted.
func LibraryNames() []string {
	var names []string
	err := fs.WalkDir(LibraryFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			names = append(names, strings.TrimSuffix(path, ".yaml"))
		}
		return nil
	})
	if err != nil {
		panic("scenarios: walking the embedded library: " + err.Error())
	}
	sort.Strings(names)
	return names
}

// LoadLibrary parses and validates a shipped scenario by name; errors name
// the file as library/NAME.yaml.
func LoadLibrary(name string) (*File, error) {
	path := "library/" + name + ".yaml"
	data, err := fs.ReadFile(library, path)
	if err != nil {
		return nil, Error{File: path, Msg: "no such library scenario; known: " + strings.Join(LibraryNames(), ", ")}
	}
	return Parse(path, data)
}
