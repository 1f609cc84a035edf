package process

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/scenarios"
)

// TestMain lets the test binary play the children: `node ROLE --config F`
// serves /healthz on the config's address; `controller DIR` prepares a
// host, starts two children, prints their pids and waits to be killed.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "node":
			cfg, err := node.Load(os.Args[4])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
			fmt.Fprintln(os.Stderr, http.ListenAndServe(cfg.Listen, nil))
			os.Exit(1)
		case "controller":
			h := New().WaitLock(5 * time.Minute)
			run := testRun(os.Args[2])
			if err := h.Prepare(context.Background(), run); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			for i := 0; i < 2; i++ {
				if err := h.Start(context.Background(), cfgOf(h, run, i)); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
			}
			fmt.Println("pids", strings.Trim(fmt.Sprint(h.Pids()), "[]"))
			select {}
		}
	}
	os.Exit(m.Run())
}

func testPlan() *scenarios.Plan {
	f, err := scenarios.LoadLibrary("ci/smoke")
	if err != nil {
		panic(err)
	}
	return scenarios.NewPlan(f)
}

func testRun(id string) *runner.Run {
	exe, _ := os.Executable()
	return &runner.Run{ID: id, Plan: testPlan(), Binary: exe, Secret: "s"}
}

func cfgOf(h *Host, run *runner.Run, i int) *node.Config {
	return &node.Config{Role: run.Plan.Instances[i].Role.String(), Run: run.ID, Instance: i, Listen: h.Listen(i)}
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	for k := 0; k < 200; k++ {
		if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never answered /healthz", addr)
}

func TestAddresses(t *testing.T) {
	for m, want := range map[int]string{0: "127.0.1.1", 249: "127.0.1.250", 250: "127.0.2.1", 601: "127.0.3.102"} {
		if got := MachineAddr(m); got != want {
			t.Errorf("MachineAddr(%d) = %s, want %s", m, got, want)
		}
	}
	h := New()
	h.run = testRun("addr")
	in := h.run.Plan.Instances[3]
	if got, want := h.Listen(3), fmt.Sprintf("%s:7003", MachineAddr(in.Machine)); got != want {
		t.Errorf("Listen(3) = %s, want %s", got, want)
	}
	if got := h.LinkListen(5, 3); got != "127.0.1.6:20003" {
		t.Errorf("LinkListen(5, 3) = %s", got)
	}
	if got := h.UserListen(1, 0); got != "127.1.0.2:20000" {
		t.Errorf("UserListen(1, 0) = %s", got)
	}
}

func TestStartKillCleanup(t *testing.T) {
	h := New().WaitLock(5 * time.Minute)
	run := testRun(fmt.Sprintf("test-%d", os.Getpid()))
	if err := h.Prepare(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	// a second host cannot take the lock while this run holds it
	if err := New().Prepare(context.Background(), testRun("other")); err == nil || !strings.Contains(err.Error(), "one real run at a time") {
		t.Fatalf("second Prepare = %v, want the one-run lock refusal", err)
	}
	for i := 0; i < 3; i++ {
		if err := h.Start(context.Background(), cfgOf(h, run, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		waitHealthy(t, h.InstanceAddr(i))
	}
	if got := len(RunPids(run.ID)); got != 3 {
		t.Fatalf("%d processes carry the run's marker, want 3", got)
	}
	if err := h.Start(context.Background(), cfgOf(h, run, 1)); err == nil {
		t.Fatal("starting a running instance again did not fail")
	}
	if err := h.Kill(1); err != nil {
		t.Fatal(err)
	}
	if h.Alive(1) || !h.Alive(0) {
		t.Fatalf("after Kill(1): alive(0)=%v alive(1)=%v", h.Alive(0), h.Alive(1))
	}
	if err := h.Start(context.Background(), cfgOf(h, run, 1)); err != nil {
		t.Fatalf("restart: %v", err)
	}
	waitHealthy(t, h.InstanceAddr(1))
	dir := h.Dir()
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if left := RunPids(run.ID); len(left) > 0 {
		t.Fatalf("processes left after Cleanup: %v", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("run folder %s left after Cleanup (%v)", dir, err)
	}
	// the lock is free again
	h2 := New().WaitLock(time.Minute)
	if err := h2.Prepare(context.Background(), testRun("after")); err != nil {
		t.Fatalf("Prepare after Cleanup: %v", err)
	}
	h2.Cleanup()
}

// TestControllerKilled SIGKILLs a controller process: its children die
// with it (Pdeathsig), and Clean removes the folder it left.
func TestControllerKilled(t *testing.T) {
	id := fmt.Sprintf("killed-%d", os.Getpid())
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "controller", id)
	out, _ := cmd.StdoutPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "pids ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("controller said %q", line)
	}
	var pids []int
	for _, f := range strings.Fields(line)[1:] {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(RunPids(id)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := RunPids(id); len(left) > 0 {
		t.Fatalf("children of a SIGKILLed controller still run: %v", left)
	}
	var lines []string
	if err := Clean(context.Background(), func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(RunsDir(), id)); !os.IsNotExist(err) {
		t.Fatalf("Clean left the folder of run %s (%v); it said %q", id, err, lines)
	}
}

// TestCleanKillsRecorded writes the folder of a dead controller whose
// recorded child still runs (as if it had escaped Pdeathsig): Clean kills
// it by its recorded pid and marker.
func TestCleanKillsRecorded(t *testing.T) {
	id := fmt.Sprintf("orphan-%d", os.Getpid())
	dir := filepath.Join(RunsDir(), id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// a controller that is dead: a process started and reaped
	dead := exec.Command("true")
	dead.Run()
	os.WriteFile(filepath.Join(dir, "controller.pid"), []byte(fmt.Sprintf("%d 1\n", dead.Process.Pid)), 0o644)
	exe, _ := os.Executable()
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(`{"role":"gateway","instance":0,"listen":"127.0.9.9:7777"}`), 0o644)
	child := exec.Command(exe, "node", "gateway", "--config", cfg)
	child.Env = append(os.Environ(), MarkerEnv+"="+id)
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { child.Wait(); close(exited) }()
	// a recorded pid that is not ours (no marker) must be left alone
	other := exec.Command("sleep", "30")
	other.Start()
	defer func() { other.Process.Kill(); other.Wait() }()
	os.WriteFile(filepath.Join(dir, "pids"), []byte(procID(child.Process.Pid)+" 0\n"+procID(other.Process.Pid)+" 1\n"), 0o644)
	if err := Clean(context.Background(), func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		child.Process.Kill()
		t.Fatal("Clean did not kill the recorded child")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("Clean killed a process without the run's marker: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("Clean left the folder")
	}
}
