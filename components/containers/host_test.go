package containers

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/scenarios"
)

// The tests run the real host and supervisor with a stand-in for the
// role packages (internal/fakenode), so they test the host, not the roles.
const fakePackage = "./components/containers/internal/fakenode"

// controllerEnv makes the test binary a controller that brings a plan up
// and waits to be killed (TestCleanAfterControllerSIGKILL).
const controllerEnv = "STRIPELAB_CONTAINERS_TEST_CONTROLLER"

func TestMain(m *testing.M) {
	if os.Getenv(controllerEnv) != "" {
		os.Exit(controller(os.Getenv(controllerEnv)))
	}
	os.Exit(m.Run())
}

// engine returns a client or skips the test when no engine answers.
func engine(t testing.TB) *testcontainers.DockerClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cli, err := Connect(ctx)
	if err != nil {
		t.Skipf("containers tests SKIPPED: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	d, err := findModule()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func plan(t testing.TB, name string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.LoadLibrary(name)
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

func newRun(p *scenarios.Plan, tag string) *runner.Run {
	b := make([]byte, 4)
	for i := range b {
		b[i] = byte(time.Now().UnixNano() >> (8 * i))
	}
	return &runner.Run{ID: "test-" + tag + "-" + hex.EncodeToString(b), Plan: p, Secret: "test-secret", Seed: 1}
}

// up prepares a host for p and starts every machine with its instances;
// the test's cleanup removes it and checks nothing of the run is left.
func up(t *testing.T, p *scenarios.Plan, tag string) (*Host, *runner.Run, []*node.Config, time.Duration, time.Duration) {
	t.Helper()
	cli := engine(t)
	run := newRun(p, tag)
	h := New(Options{Image: ImageOptions{Source: moduleRoot(t), Package: fakePackage}, Log: testLog{t}, WaitLock: 5 * time.Minute})
	t.Cleanup(func() {
		if err := h.Cleanup(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		left, err := Leftovers(context.Background(), cli, run.ID)
		if err != nil || len(left) > 0 {
			t.Errorf("left after cleanup: %v %v", left, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	// the image build is not part of the bring-up time
	img, err := EnsureImage(ctx, cli, h.opts.Image)
	if err != nil {
		t.Fatal(err)
	}
	h.opts.Image = ImageOptions{Binary: img.Binary}
	t1 := time.Now()
	if err := h.Prepare(ctx, run); err != nil {
		t.Fatal(err)
	}
	tp := time.Now()
	cfgs := runner.Configs(run, h)
	for m := range p.Machines {
		if err := h.StartMachine(ctx, m, onMachine(p, cfgs, m)); err != nil {
			t.Fatal(err)
		}
	}
	ts := time.Now()
	waitHealthy(t, h, cfgs, allInstances(p), 30*time.Second)
	wait := tp.Sub(t1) - h.PrepareTook()
	t.Logf("prepare %s (after %s waiting for the lock), starts %s, health %s", h.PrepareTook().Truncate(time.Millisecond), wait.Truncate(time.Millisecond), ts.Sub(tp).Truncate(time.Millisecond), time.Since(ts).Truncate(time.Millisecond))
	return h, run, cfgs, t1.Sub(t0), time.Since(t1) - wait
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func onMachine(p *scenarios.Plan, cfgs []*node.Config, m int) []*node.Config {
	var out []*node.Config
	for i, in := range p.Instances {
		if in.Machine == m {
			out = append(out, cfgs[i])
		}
	}
	return out
}

func allInstances(p *scenarios.Plan) []int {
	out := make([]int, len(p.Instances))
	for i := range out {
		out[i] = i
	}
	return out
}

var hc = &http.Client{Timeout: 500 * time.Millisecond}

func healthz(addr string) error {
	resp, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

// waitHealthy waits until every instance of ids is alive and answers
// /healthz at its InstanceAddr, as the runner does.
func waitHealthy(t *testing.T, h *Host, cfgs []*node.Config, ids []int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, i := range ids {
		for {
			err := healthz(h.InstanceAddr(i))
			if err == nil && h.Alive(i) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d (%s) not healthy after %s: %v (alive %v)", i, cfgs[i].Role, timeout, err, h.Alive(i))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// readFile reads a file from a container through the archive API (the
// image has no shell).
func readFile(t *testing.T, cli *testcontainers.DockerClient, id, path string) string {
	t.Helper()
	res, err := cli.CopyFromContainer(context.Background(), id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		t.Fatalf("copy %s: %v", path, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tr)
	return strings.TrimSpace(string(b))
}

func TestMachineLossByContainerKill(t *testing.T) {
	p := plan(t, "real/machine-loss")
	h, _, cfgs, build, bring := up(t, p, "mloss")
	t.Logf("%d machines, %d instances: image check %s, bring-up %s", len(p.Machines), len(p.Instances), build.Truncate(time.Millisecond), bring.Truncate(time.Millisecond))
	cli := engine(t)
	// the machine with a shard copy, so the volume is checked too
	victim := p.Instances[p.Shards[0].Replicas[0]].Machine
	var on, off []int
	for i, in := range p.Instances {
		if in.Machine == victim {
			on = append(on, i)
		} else {
			off = append(off, i)
		}
	}
	shard := p.Shards[0].Replicas[0]
	id := h.machines[victim].id
	if got := readFile(t, cli, id, h.DataDir(shard)+"/boots"); got != "1" {
		t.Fatalf("boots of shard instance %d: %q", shard, got)
	}
	ins, _ := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	for k, want := range map[string]string{LabelRun: h.run.ID, LabelMachine: p.Machines[victim].Name, LabelCity: p.Cities[p.Machines[victim].City].Name,
		LabelAZ: p.AZs[p.Machines[victim].AZ].Name, LabelRack: p.Racks[p.Machines[victim].Rack].Name} {
		if got := ins.Container.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}

	t0 := time.Now()
	if err := h.KillMachine(victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("container kill took %s", time.Since(t0).Truncate(time.Millisecond))
	for _, i := range on {
		if h.Alive(i) {
			t.Errorf("instance %d alive after its machine's kill", i)
		}
		if err := healthz(h.InstanceAddr(i)); err == nil {
			t.Errorf("instance %d answers after its machine's kill", i)
		}
	}
	for _, i := range off {
		if err := healthz(h.InstanceAddr(i)); err != nil || !h.Alive(i) {
			t.Errorf("instance %d on another machine: %v (alive %v)", i, err, h.Alive(i))
		}
	}
	if err := h.Kill(on[0]); err != nil {
		t.Errorf("killing an instance of a dead machine: %v", err)
	}
	if err := h.Start(context.Background(), cfgs[on[0]]); err == nil {
		t.Errorf("starting an instance on a dead machine succeeded")
	}

	t0 = time.Now()
	if err := h.StartMachine(context.Background(), victim, onMachine(p, cfgs, victim)); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, h, cfgs, on, 30*time.Second)
	t.Logf("machine back and healthy in %s", time.Since(t0).Truncate(time.Millisecond))
	if got := readFile(t, cli, id, h.DataDir(shard)+"/boots"); got != "2" {
		t.Fatalf("boots of shard instance %d after the restart: %q, want 2 (the volume keeps the data)", shard, got)
	}
	if got := h.MachineAddr(victim); !strings.HasPrefix(h.InstanceAddr(on[0]), got+":") {
		t.Errorf("instance address %s not on machine address %s", h.InstanceAddr(on[0]), got)
	}
}

func TestInstanceKillAndStart(t *testing.T) {
	p := plan(t, "ci/smoke")
	h, _, cfgs, _, _ := up(t, p, "inst")
	// a machine with two instances: the other one must survive
	byM := map[int][]int{}
	for i, in := range p.Instances {
		byM[in.Machine] = append(byM[in.Machine], i)
	}
	var victim, other int = -1, -1
	for _, is := range byM {
		if len(is) >= 2 {
			victim, other = is[0], is[1]
			break
		}
	}
	if victim < 0 {
		t.Fatal("no machine with two instances in ci/smoke")
	}
	if err := h.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if h.Alive(victim) || healthz(h.InstanceAddr(victim)) == nil {
		t.Fatalf("instance %d alive after Kill", victim)
	}
	if !h.Alive(other) || healthz(h.InstanceAddr(other)) != nil {
		t.Fatalf("instance %d on the same machine died with %d", other, victim)
	}
	if err := h.Start(context.Background(), cfgs[victim]); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, h, cfgs, []int{victim}, 10*time.Second)

	// a slow machine as a CPU quota, and back
	cli := engine(t)
	m := p.Instances[victim].Machine
	quota := func() int64 {
		ins, err := cli.ContainerInspect(context.Background(), h.machines[m].id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ins.Container.HostConfig.CPUQuota
	}
	if err := h.Throttle(m, 0.5); err != nil {
		t.Fatal(err)
	}
	if q := quota(); q != 50000 {
		t.Errorf("CPU quota after Throttle(0.5): %d, want 50000 (of a 100000 period)", q)
	}
	if err := h.Throttle(m, 0); err != nil {
		t.Fatal(err)
	}
	if q := quota(); q > 0 {
		t.Errorf("CPU quota after Throttle(0): %d, want none", q)
	}
}

func TestIsolateAndRejoin(t *testing.T) {
	p := plan(t, "ci/smoke")
	h, _, cfgs, _, _ := up(t, p, "iso")
	i := 0
	m := p.Instances[i].Machine
	if err := h.Isolate(m); err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Timeout: 300 * time.Millisecond}
	if c, err := d.Dial("tcp", h.InstanceAddr(i)); err == nil {
		c.Close()
		t.Fatalf("instance %d reachable on a disconnected machine", i)
	}
	if err := h.Rejoin(m); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, h, cfgs, []int{i}, 10*time.Second)
}

// controller is the test binary as a controller: it brings ci/smoke up,
// prints "up RUN" and waits to be killed.
func controller(tag string) int {
	f, err := scenarios.LoadLibrary("ci/smoke")
	if err != nil {
		fmt.Println(err)
		return 2
	}
	p := scenarios.NewPlan(f)
	run := newRun(p, tag)
	src, _ := findModule()
	h := New(Options{Image: ImageOptions{Source: src, Package: fakePackage}, WaitLock: 5 * time.Minute})
	ctx := context.Background()
	if err := h.Prepare(ctx, run); err != nil {
		fmt.Println(err)
		return 1
	}
	cfgs := runner.Configs(run, h)
	for m := range p.Machines {
		if err := h.StartMachine(ctx, m, onMachine(p, cfgs, m)); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	fmt.Println("up", run.ID)
	select {}
}

// TestCleanAfterControllerSIGKILL: a controller SIGKILLed with its
// machines up leaves containers, a network and volumes; Clean (what
// `stripelab clean` runs) removes every one, and a live controller's run
// is left alone.
func TestCleanAfterControllerSIGKILL(t *testing.T) {
	cli := engine(t)
	// the image first, so the controller's start is quick
	if _, err := EnsureImage(context.Background(), cli, ImageOptions{Source: moduleRoot(t), Package: fakePackage}); err != nil {
		t.Fatal(err)
	}
	start := func(tag string) (*exec.Cmd, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), controllerEnv+"="+tag)
		cmd.Stderr = os.Stderr
		out, _ := cmd.StdoutPipe()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		select {
		case l := <-lines:
			if !strings.HasPrefix(l, "up ") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("controller: %s", l)
			}
			return cmd, strings.TrimPrefix(l, "up ")
		case <-time.After(3 * time.Minute):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("controller not up after 3 minutes")
		}
		return nil, ""
	}
	killed, deadRun := start("dead")
	// a run whose controller is alive (this test): clean must leave it
	liveRun := newRun(plan(t, "ci/smoke"), "live").ID
	if _, err := cli.NetworkCreate(context.Background(), "stripelab-"+liveRun, client.NetworkCreateOptions{Driver: "bridge",
		Labels: map[string]string{LabelRun: liveRun, LabelKind: "network", LabelController: controllerID()}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		killed.Process.Signal(syscall.SIGKILL)
		killed.Wait()
		ctx := context.Background()
		removeRun(ctx, cli, liveRun)
		removeRun(ctx, cli, deadRun)
	}()
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	left, _ := Leftovers(context.Background(), cli, deadRun)
	if len(left) == 0 {
		t.Fatal("a SIGKILLed controller left nothing: the test shows nothing")
	}
	var reports []string
	report := func(f string, a ...any) { reports = append(reports, fmt.Sprintf(f, a...)) }
	if err := runner.Clean(context.Background(), report); err != nil {
		t.Fatal(err)
	}
	if left, _ := Leftovers(context.Background(), cli, deadRun); len(left) > 0 {
		t.Fatalf("after clean, the dead controller's run left %v (reports %v)", left, reports)
	}
	if left, _ := Leftovers(context.Background(), cli, liveRun); len(left) == 0 {
		t.Fatalf("clean removed the run of a live controller (reports %v)", reports)
	}
	// what `docker ps -a` and `docker network ls` show, by label
	removeRun(context.Background(), cli, liveRun)
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=" + LabelRun, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", "label=" + LabelRun, "--format", "{{.Name}}"},
		{"volume", "ls", "--filter", "label=" + LabelRun, "--format", "{{.Name}}"},
	} {
		out, err := exec.Command("docker", args...).Output()
		if err != nil {
			t.Logf("docker %v: %v (the API check above stands)", args, err)
			continue
		}
		for _, l := range strings.Fields(string(out)) {
			if strings.Contains(l, deadRun) || strings.Contains(l, liveRun) {
				t.Errorf("docker %s lists %s after clean", args[0], l)
			}
		}
	}
	t.Logf("clean: %s", strings.Join(reports, "; "))
}

func TestDNSNameAndControllerLabel(t *testing.T) {
	for in, want := range map[string]string{"shenzhen/a/r1/m2": "shenzhen-a-r1-m2", "Big City/AZ_1//m": "big-city-az-1-m", "/x/": "x"} {
		if got := dnsName(in); got != want {
			t.Errorf("dnsName(%q) = %q, want %q", in, got, want)
		}
	}
	if !controllerAlive(controllerID()) {
		t.Error("this process is not alive by its own label")
	}
	cmd := exec.Command("true")
	cmd.Run()
	host, _ := os.Hostname()
	for _, id := range []string{host + ":" + strconv.Itoa(cmd.Process.Pid), "other-host:1", host + ":x", "", host} {
		if controllerAlive(id) {
			t.Errorf("controllerAlive(%q) = true", id)
		}
	}
}

func TestStaticCheck(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "x")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if checkStatic(notELF) == nil {
		t.Error("a shell script passed as a static binary")
	}
	if _, err := os.Stat("/bin/true"); err == nil {
		if err := checkStatic("/bin/true"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
			t.Errorf("/bin/true (dynamic): %v", err)
		}
	}
}
