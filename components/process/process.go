// Package process is the process backend's host: every machine of a Plan
// is a loopback address 127.0.x.y, every instance placed on it is a child
// process `stripelab node ROLE --config FILE` bound to that address.
//
// Hygiene: every child runs in its own process group (Setpgid) with
// Pdeathsig SIGKILL, so it dies with the controller even when the
// controller is SIGKILLed; children are started from one goroutine locked
// to its OS thread for the whole run, since Linux sends Pdeathsig when the
// thread that forked the child exits, not the process. Every child carries
// STRIPELAB_RUN=<run id> in its environment; the run folder
// (os.TempDir()/stripelab-runs/<run>) holds controller.pid, the pids of
// every child started, the configs, the logs and the shards' data, and is
// removed at the end. Processes are stopped by the pids recorded, never by
// name. One real run at a time holds the lock file stripelab-runs/.lock.
package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/runner"
)

// MarkerEnv is the environment variable naming the run a child belongs to.
const MarkerEnv = "STRIPELAB_RUN"

// Ports of the process host (see STACK addresses).
const (
	InstancePort = 7000
	LinkPort     = 20000
	GossipPort   = 30000
)

// RunsDir is the folder of every run's folder.
func RunsDir() string { return filepath.Join(os.TempDir(), "stripelab-runs") }

// MachineAddr is machine m's loopback address: 127.0.(1+m/250).(1+m%250).
func MachineAddr(m int) string { return fmt.Sprintf("127.0.%d.%d", 1+m/250, 1+m%250) }

// CityAddr is the address the users of city c come from: 127.1.0.(1+c).
func CityAddr(c int) string { return fmt.Sprintf("127.1.0.%d", 1+c) }

// Host runs instances as local processes.
type Host struct {
	run  *runner.Run
	dir  string
	lock *os.File

	waitLock time.Duration

	spawn   chan spawnReq
	spawned chan struct{} // closed when the spawner thread ends

	mu    sync.Mutex
	procs map[int]*proc // live or last child per instance
	pids  *os.File
	done  bool
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

// New returns a process host; Prepare readies it for a run.
func New() *Host { return &Host{procs: map[int]*proc{}} }

// WaitLock makes Prepare wait up to d for another real run to end
// instead of failing at once (tests of several packages share the lock).
func (h *Host) WaitLock(d time.Duration) *Host { h.waitLock = d; return h }

// Name is "process".
func (h *Host) Name() string { return "process" }

// Dir is the run folder (empty before Prepare).
func (h *Host) Dir() string { return h.dir }

// Prepare takes the one-run lock, makes the run folder with controller.pid
// and starts the spawner thread.
func (h *Host) Prepare(ctx context.Context, run *runner.Run) error {
	if len(run.Plan.Machines) > 250*250 || len(run.Plan.Instances) > LinkPort-InstancePort {
		return fmt.Errorf("process host: %d machines and %d instances are more than one host's addresses and ports hold", len(run.Plan.Machines), len(run.Plan.Instances))
	}
	h.run = run
	if err := os.MkdirAll(RunsDir(), 0o755); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(RunsDir(), ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	for end := time.Now().Add(h.waitLock); err != nil && time.Now().Before(end) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		b, _ := os.ReadFile(lf.Name())
		lf.Close()
		return fmt.Errorf("another real run holds %s (%s): one real run at a time on this machine", lf.Name(), strings.TrimSpace(string(b)))
	}
	lf.Truncate(0)
	fmt.Fprintf(lf, "controller pid %d, run %s\n", os.Getpid(), run.ID)
	h.lock = lf
	h.dir = filepath.Join(RunsDir(), run.ID)
	for _, d := range []string{"configs", "logs", "data"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(h.dir, "controller.pid"), []byte(procID(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	h.pids, err = os.OpenFile(filepath.Join(h.dir, "pids"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	h.spawn = make(chan spawnReq)
	h.spawned = make(chan struct{})
	go h.spawner()
	return nil
}

// spawner starts every child from one OS thread that lives until
// Cleanup, so Pdeathsig fires only when the controller dies.
func (h *Host) spawner() {
	runtime.LockOSThread()
	defer close(h.spawned)
	for r := range h.spawn {
		r.reply <- r.cmd.Start()
	}
	// the thread stays locked and ends with the goroutine: the children are dead by now
}

func (h *Host) machineOf(i int) int { return h.run.Plan.Instances[i].Machine }

// MachineAddr is machine m's loopback address.
func (h *Host) MachineAddr(m int) string { return MachineAddr(m) }

// Listen is 127.0.x.y:7000+i on the instance's machine.
func (h *Host) Listen(i int) string {
	return fmt.Sprintf("%s:%d", MachineAddr(h.machineOf(i)), InstancePort+i)
}

// InstanceAddr is the same address: the controller shares the loopback.
func (h *Host) InstanceAddr(i int) string { return h.Listen(i) }

// LinkListen is machine m's address, port 20000+i.
func (h *Host) LinkListen(m, i int) string { return fmt.Sprintf("%s:%d", MachineAddr(m), LinkPort+i) }

// LinkDial is LinkListen: instances dial the controller's proxy directly.
func (h *Host) LinkDial(m, i int) string { return h.LinkListen(m, i) }

// UserListen is 127.1.0.(1+c), port 20000+i.
func (h *Host) UserListen(c, i int) string { return fmt.Sprintf("%s:%d", CityAddr(c), LinkPort+i) }

// GossipAddr is the instance's machine address, port 30000+i.
func (h *Host) GossipAddr(i int) string {
	return fmt.Sprintf("%s:%d", MachineAddr(h.machineOf(i)), GossipPort+i)
}

// DataDir is data/<i> in the run folder.
func (h *Host) DataDir(i int) string { return filepath.Join(h.dir, "data", strconv.Itoa(i)) }

// StartMachine starts every instance of machine m (a machine has no
// process of its own here).
func (h *Host) StartMachine(ctx context.Context, m int, cfgs []*node.Config) error {
	for _, c := range cfgs {
		if err := h.Start(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Start writes cfg to configs/<i>.json and starts the instance, its
// output appended to logs/<i>-<role>.log.
func (h *Host) Start(ctx context.Context, cfg *node.Config) error {
	i := cfg.Instance
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return errors.New("process host: cleaned up")
	}
	if p := h.procs[i]; p != nil && !exitedYet(p) {
		h.mu.Unlock()
		return fmt.Errorf("instance %d is already running (pid %d)", i, p.cmd.Process.Pid)
	}
	h.mu.Unlock()
	path := filepath.Join(h.dir, "configs", strconv.Itoa(i)+".json")
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return err
		}
	}
	lf, err := os.OpenFile(filepath.Join(h.dir, "logs", fmt.Sprintf("%d-%s.log", i, cfg.Role)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(h.run.Binary, "node", cfg.Role, "--config", path)
	cmd.Env = append(os.Environ(), MarkerEnv+"="+h.run.ID)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Dir = h.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	reply := make(chan error, 1)
	select {
	case h.spawn <- spawnReq{cmd, reply}:
	case <-ctx.Done():
		lf.Close()
		return ctx.Err()
	}
	if err := <-reply; err != nil {
		lf.Close()
		return fmt.Errorf("start instance %d (%s): %v", i, cfg.Role, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), log: lf}
	go func() { cmd.Wait(); lf.Close(); close(p.exited) }()
	h.mu.Lock()
	h.procs[i] = p
	fmt.Fprintf(h.pids, "%s %d\n", procID(cmd.Process.Pid), i)
	h.mu.Unlock()
	return nil
}

func exitedYet(p *proc) bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Kill SIGKILLs instance i's process group and waits for it to exit.
func (h *Host) Kill(i int) error {
	h.mu.Lock()
	p := h.procs[i]
	h.mu.Unlock()
	if p == nil {
		return fmt.Errorf("instance %d was never started", i)
	}
	return killWait(p)
}

func killWait(p *proc) error {
	if exitedYet(p) {
		return nil
	}
	pid := p.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-p.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("pid %d did not exit 5s after SIGKILL", pid)
	}
}

// KillMachine kills every instance of machine m.
func (h *Host) KillMachine(m int) error {
	var first error
	for i, in := range h.run.Plan.Instances {
		if in.Machine != m {
			continue
		}
		h.mu.Lock()
		p := h.procs[i]
		h.mu.Unlock()
		if p != nil {
			if err := killWait(p); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Alive reports whether instance i's process is running.
func (h *Host) Alive(i int) bool {
	h.mu.Lock()
	p := h.procs[i]
	h.mu.Unlock()
	return p != nil && !exitedYet(p)
}

// Pids lists the pids of the children still running (tests check that
// none is left).
func (h *Host) Pids() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, p := range h.procs {
		if !exitedYet(p) {
			out = append(out, p.cmd.Process.Pid)
		}
	}
	return out
}

// Cleanup kills every child, ends the spawner thread, removes the run
// folder unless the run keeps it, and releases the lock.
func (h *Host) Cleanup() error {
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return nil
	}
	h.done = true
	procs := make([]*proc, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	var first error
	for _, p := range procs {
		if err := killWait(p); err != nil && first == nil {
			first = err
		}
	}
	if h.spawn != nil {
		close(h.spawn)
		<-h.spawned
	}
	if h.pids != nil {
		h.pids.Close()
	}
	if h.dir != "" && (h.run == nil || !h.run.Keep) {
		if err := os.RemoveAll(h.dir); err != nil && first == nil {
			first = err
		}
	}
	if h.lock != nil {
		h.lock.Truncate(0)
		h.lock.Close() // releases the flock
	}
	return first
}

// procID is "pid starttime": the start time (clock ticks since boot, from
// /proc/PID/stat) tells a process from a later one that reuses its pid.
func procID(pid int) string { return fmt.Sprintf("%d %d", pid, startTime(pid)) }

func startTime(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	if k := strings.LastIndexByte(s, ')'); k >= 0 {
		s = s[k+1:]
	}
	f := strings.Fields(s)
	// after the command: state is field 3, starttime field 22
	if len(f) < 20 {
		return -1
	}
	v, _ := strconv.ParseInt(f[19], 10, 64)
	return v
}

// sameProcess reports whether pid still is the process recorded with start time st.
func sameProcess(pid int, st int64) bool {
	if pid <= 0 {
		return false
	}
	return startTime(pid) == st && st >= 0
}

func init() { runner.RegisterCleaner("process", Clean) }

// Clean finds run folders whose controller is dead, SIGKILLs the children
// they recorded that still run (checked by pid, start time and the run's
// marker in their environment), and removes the folders.
func Clean(ctx context.Context, report func(format string, args ...any)) error {
	ents, err := os.ReadDir(RunsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var first error
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(RunsDir(), e.Name())
		pid, st, ok := readID(filepath.Join(dir, "controller.pid"))
		if ok && sameProcess(pid, st) {
			report("run %s: its controller (pid %d) is alive; left alone", e.Name(), pid)
			continue
		}
		killed := 0
		for _, c := range readPids(filepath.Join(dir, "pids")) {
			if !sameProcess(c.pid, c.st) || !hasMarker(c.pid, e.Name()) {
				continue
			}
			syscall.Kill(-c.pid, syscall.SIGKILL)
			syscall.Kill(c.pid, syscall.SIGKILL)
			killed++
		}
		for _, c := range readPids(filepath.Join(dir, "pids")) {
			for k := 0; k < 100 && sameProcess(c.pid, c.st); k++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if err := os.RemoveAll(dir); err != nil && first == nil {
			first = err
		}
		report("run %s: controller dead, %d processes killed, folder removed", e.Name(), killed)
	}
	return first
}

type recorded struct {
	pid int
	st  int64
}

func readID(path string) (int, int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	st, err2 := strconv.ParseInt(f[1], 10, 64)
	return pid, st, err1 == nil && err2 == nil
}

func readPids(path string) []recorded {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []recorded
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		pid, err1 := strconv.Atoi(fs[0])
		st, err2 := strconv.ParseInt(fs[1], 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, recorded{pid, st})
		}
	}
	return out
}

// hasMarker reports whether pid's environment names run.
func hasMarker(pid int, run string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	want := MarkerEnv + "=" + run
	for _, kv := range strings.Split(string(b), "\x00") {
		if kv == want {
			return true
		}
	}
	return false
}

// RunPids lists the live processes whose environment carries run's
// marker (tests use it to show nothing of a run is left).
func RunPids(run string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if hasMarker(pid, run) {
			out = append(out, pid)
		}
	}
	return out
}
