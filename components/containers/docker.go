// Package containers is the containers backend's host: one Docker
// container per machine of the Plan, each running `stripelab node machine`
// (package machine) from one image built FROM scratch with the static
// stripelab binary, on a Docker network of the run, with a volume per
// machine for shard data. Everything it creates carries the labels of the
// run, so a cleanup finds it by label on every exit path and `stripelab
// clean` removes what a killed controller left.
package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Labels on every container, network, volume and image of ours.
const (
	LabelRun         = "stripelab.run"     // the run id (images: absent)
	LabelKind        = "stripelab.kind"    // machine, network, volume, image
	LabelCity        = "stripelab.city"    // machine containers and volumes
	LabelAZ          = "stripelab.az"      //
	LabelRack        = "stripelab.rack"    //
	LabelMachine     = "stripelab.machine" // the machine's name
	LabelMachineIdx  = "stripelab.machine.index"
	LabelController  = "stripelab.controller"   // host:pid of the controller, for clean
	LabelImage       = "stripelab.image"        // images: the binary's content hash
	LabelImageSource = "stripelab.image.source" // images: the package built, or "binary"
)

var envOnce sync.Once

// SetEnv sets the testcontainers settings this backend needs unless the
// environment already sets them: the Ryuk reaper disabled (its image
// cannot be pulled here; the runner removes its own resources) and, inside
// a container (/.dockerenv), the host override 127.0.0.1 so mapped ports
// are dialled on loopback, not on the bridge gateway. Call it before the
// first testcontainers call: testcontainers reads its config once.
func SetEnv() {
	envOnce.Do(func() {
		// testcontainers prints the engine's details and every step on stderr
		tclog.SetDefault(tclog.NewNoopLogger())
		if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
			os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		}
		if _, err := os.Stat("/.dockerenv"); err == nil && os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
		}
	})
}

// ErrNoEngine is returned when no Docker engine answers.
var ErrNoEngine = errors.New("no Docker engine answers")

// Connect returns a Docker client after a ping, or an error wrapping
// ErrNoEngine.
func Connect(ctx context.Context) (*testcontainers.DockerClient, error) {
	SetEnv()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	return cli, nil
}

// controllerID names this process for the controller label.
func controllerID() string {
	h, _ := os.Hostname()
	return h + ":" + strconv.Itoa(os.Getpid())
}

// controllerAlive reports whether the controller a label names still runs:
// only when it names this host and its pid exists (a label from another
// host or one that does not parse counts as dead).
func controllerAlive(id string) bool {
	h, _ := os.Hostname()
	if len(id) <= len(h)+1 || id[:len(h)] != h || id[len(h)] != ':' {
		return false
	}
	pid, err := strconv.Atoi(id[len(h)+1:])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	err = syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A zombie has exited.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ')' {
			return i+2 >= len(b) || b[i+2] != 'Z'
		}
	}
	return true
}
