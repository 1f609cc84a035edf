package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/network"
	"github.com/stripelab/stripelab/components/node"
)

// BenchmarkHop is the cost of one request to an instance, keep-alive, as
// the process and containers backends route it: direct (the controller's
// health checks and admin calls) and through a link of the controller
// (every hop between instances and the users' access hop). The instance is
// the same stand-in binary both times: a local process on a loopback
// address, or a container on the run's bridge.
//
//	go test -run '^$' -bench Hop -benchtime 2000x ./components/containers
func BenchmarkHop(b *testing.B) {
	p := plan(b, "ci/smoke")
	cli := engine(b)
	img, err := EnsureImage(context.Background(), cli, ImageOptions{Source: moduleRoot(b), Package: fakePackage})
	if err != nil {
		b.Fatal(err)
	}
	run := newRun(p, "hop")
	h := New(Options{Image: ImageOptions{Binary: img.Binary}, WaitLock: 5 * time.Minute})
	defer h.Cleanup()
	ctx := context.Background()
	if err := h.Prepare(ctx, run); err != nil {
		b.Fatal(err)
	}
	inst := 0
	m := p.Instances[inst].Machine
	cfg := &node.Config{Role: p.Instances[inst].Role.String(), Instance: inst, Listen: h.Listen(inst)}
	if err := h.StartMachine(ctx, m, []*node.Config{cfg}); err != nil {
		b.Fatal(err)
	}

	// the same instance as a local process on 127.0.9.1
	dir := b.TempDir()
	local := "127.0.9.1:7000"
	lc := node.Config{Role: cfg.Role, Run: run.ID, Scenario: string(p.File.Text), Instance: inst, Listen: local, Secret: run.Secret}
	cb, _ := json.Marshal(lc)
	path := filepath.Join(dir, "c.json")
	os.WriteFile(path, cb, 0o600)
	proc := exec.Command(img.Binary, "node", lc.Role, "--config", path)
	proc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := proc.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { proc.Process.Kill(); proc.Wait() }()

	ns := network.NewServer(ctx, 1)
	defer ns.Close()
	if _, err := ns.Add(network.Spec{Name: "to-container", Listen: h.LinkListen(m, inst), Upstream: h.InstanceAddr(inst), From: m, To: inst}); err != nil {
		b.Fatal(err)
	}
	if _, err := ns.Add(network.Spec{Name: "to-process", Listen: "127.0.9.2:20000", Upstream: local, From: m, To: inst}); err != nil {
		b.Fatal(err)
	}
	// links with the 2 ms client delay of the real scenarios, as the users'
	if _, err := ns.Add(network.Spec{Name: "users-container", Listen: h.UserListen(0, inst), Upstream: h.InstanceAddr(inst), From: -1, City: 0, To: inst, Delay: 2 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	if _, err := ns.Add(network.Spec{Name: "users-process", Listen: "127.0.9.3:20000", Upstream: local, From: -1, City: 0, To: inst, Delay: 2 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(addr string) error {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	}
	for _, addr := range []string{local, h.InstanceAddr(inst)} {
		for end := time.Now().Add(20 * time.Second); get(addr) != nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				b.Fatalf("%s not healthy", addr)
			}
		}
	}
	for _, c := range []struct{ name, addr string }{
		{"process/direct", local},
		{"process/link", "127.0.9.2:20000"},
		{"containers/direct", h.InstanceAddr(inst)},
		{"containers/link", h.LinkListen(m, inst)},
		{"process/users-2ms", "127.0.9.3:20000"},
		{"containers/users-2ms", h.UserListen(0, inst)},
	} {
		b.Run(c.name, func(b *testing.B) {
			get(c.addr)
			b.ResetTimer()
			for range b.N {
				if err := get(c.addr); err != nil {
					b.Fatal(err)
				}
			}
		})
		// 32 callers at once (16 per core), as the load generator's users
		b.Run(c.name+"/parallel", func(b *testing.B) {
			get(c.addr)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(c.addr); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
