package containers

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Repo is the image repository of the node image; the tag is the first 16
// hex digits of the SHA-256 of the binary inside.
const Repo = "stripelab/node"

// BinaryPath is where the binary sits in the image (its entrypoint).
const BinaryPath = "/stripelab"

// ImageOptions says which binary goes into the image.
type ImageOptions struct {
	// Binary is a static stripelab binary to use. Empty: the running
	// binary when it is a static stripelab binary, else one built from
	// Source with CGO_ENABLED=0.
	Binary string
	// Source is the module directory to build from (empty: the enclosing
	// module of the working directory) and Package the main package in it
	// (empty: ./cmd/stripelab).
	Source, Package string
	// Log, when not nil, receives the build's output lines.
	Log io.Writer
}

// Image is the node image a run uses.
type Image struct {
	Ref    string        // stripelab/node:<hash>
	ID     string        // the engine's image id
	Hash   string        // the binary's content hash (16 hex digits)
	Size   int64         // bytes
	Built  bool          // false when an image with this hash existed
	Took   time.Duration // build time (binary, context and image); 0 when not built
	Binary string        // the binary that went in
}

// EnsureImage returns the node image for the binary ImageOptions names,
// building it FROM scratch when no image carries the binary's hash. Nothing
// is pulled. Older images of Repo are removed after a build (those a
// container still uses stay).
func EnsureImage(ctx context.Context, cli *testcontainers.DockerClient, o ImageOptions) (Image, error) {
	start := time.Now()
	bin, cleanup, err := staticBinary(ctx, o)
	if err != nil {
		return Image{}, err
	}
	defer cleanup()
	hash, err := fileHash(bin)
	if err != nil {
		return Image{}, err
	}
	img := Image{Ref: Repo + ":" + hash, Hash: hash, Binary: bin}
	if ins, err := cli.ImageInspect(ctx, img.Ref); err == nil {
		img.ID, img.Size = ins.ID, ins.Size
		return img, nil
	}
	src := "binary"
	if o.Binary == "" {
		src = o.Package
		if src == "" {
			src = "./cmd/stripelab"
		}
	}
	if err := buildImage(ctx, cli, bin, img.Ref, hash, src, o.Log); err != nil {
		return Image{}, err
	}
	ins, err := cli.ImageInspect(ctx, img.Ref)
	if err != nil {
		return Image{}, fmt.Errorf("image %s after its build: %v", img.Ref, err)
	}
	img.ID, img.Size, img.Built, img.Took = ins.ID, ins.Size, true, time.Since(start)
	removeStaleImages(ctx, cli, hash, src)
	return img, nil
}

// staticBinary finds or builds the binary; cleanup removes a built one.
func staticBinary(ctx context.Context, o ImageOptions) (string, func(), error) {
	none := func() {}
	if o.Binary != "" {
		if err := checkStatic(o.Binary); err != nil {
			return "", none, err
		}
		return o.Binary, none, nil
	}
	if o.Source == "" && o.Package == "" {
		if exe, err := os.Executable(); err == nil && !strings.HasSuffix(exe, ".test") && checkStatic(exe) == nil {
			return exe, none, nil
		}
	}
	src := o.Source
	if src == "" {
		var err error
		if src, err = findModule(); err != nil {
			return "", none, err
		}
	}
	pkg := o.Package
	if pkg == "" {
		pkg = "./cmd/stripelab"
	}
	// built binaries are kept in the user's cache (one per package), so
	// the image's binary can be reused as ImageOptions.Binary
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "stripelab", "image", strings.Trim(strings.NewReplacer("/", "_", ".", "_").Replace(pkg), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", none, err
	}
	out := filepath.Join(dir, "stripelab")
	tmp := fmt.Sprintf("%s.%d", out, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-o", tmp, pkg)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", none, fmt.Errorf("building the static binary (CGO_ENABLED=0 go build %s in %s): %v\n%s", pkg, src, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", none, err
	}
	return out, none, nil
}

// findModule walks up from the working directory to the stripelab module.
func findModule() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/stripelab/stripelab\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the running binary is not static and no stripelab source tree encloses the working directory: build one with CGO_ENABLED=0 go build ./cmd/stripelab and pass it with --binary")
		}
		dir = parent
	}
}

// checkStatic fails unless path is an ELF executable with no interpreter
// (a scratch image has no dynamic loader and no libc).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; a scratch image needs a static binary (CGO_ENABLED=0 go build)", path)
		}
	}
	return nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// dockerfile of the node image: the binary and nothing else.
const dockerfile = "FROM scratch\nCOPY stripelab " + BinaryPath + "\nENTRYPOINT [\"" + BinaryPath + "\"]\n"

func buildImage(ctx context.Context, cli *testcontainers.DockerClient, bin, ref, hash, src string, log io.Writer) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		return err
	}
	tw.Write([]byte(dockerfile))
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "stripelab", Mode: 0o755, Size: st.Size()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
		Labels:      map[string]string{LabelKind: "image", LabelImage: hash, LabelImageSource: src},
	})
	if err != nil {
		return fmt.Errorf("image build: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Error != "" {
			return fmt.Errorf("image build: %s", m.Error)
		}
		if log != nil && strings.TrimSpace(m.Stream) != "" {
			fmt.Fprint(log, m.Stream)
		}
	}
	return sc.Err()
}

// removeStaleImages removes the node images of older binaries from the
// same source; one a container still uses is kept (the engine refuses
// without force).
func removeStaleImages(ctx context.Context, cli *testcontainers.DockerClient, keep, src string) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelImageSource+"="+src)})
	if err != nil {
		return
	}
	for _, im := range res.Items {
		if im.Labels[LabelImage] != keep && im.Labels[LabelKind] == "image" {
			cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
}
