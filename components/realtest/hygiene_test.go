package realtest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/process"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/reports"
)

// startRun starts `stripelab run FILE --backend process` and waits for
// its stack to be up; it returns the command and the run's id.
func startRun(t *testing.T, out string) (*exec.Cmd, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "long.yaml")
	text := small("rt-long", registryFast, "rehome_delay: 20s", "  - {name: lose an api machine, at: 2s, for: 30s, kind: machine-down, target: machine=shenzhen/a/r1/m2}\n")
	text = strings.Replace(text, "duration: 12s", "duration: 60s", 1)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", file, "--backend", "process", "--out", out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := ""
	re := regexp.MustCompile(`^run (\S+) on the process backend`)
	sc := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			id = m[1]
		}
		if strings.HasPrefix(sc.Text(), "stack up in") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if id == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the run never said its id and that its stack was up")
	}
	if n := len(process.RunPids(id)); n == 0 {
		t.Fatalf("no process of run %s found while it runs", id)
	}
	return cmd, id
}

// TestControllerKilledThenClean SIGKILLs a running controller: its
// children die with it (Pdeathsig), and `stripelab clean` removes the
// run folder it left.
func TestControllerKilledThenClean(t *testing.T) {
	cmd, id := startRun(t, t.TempDir())
	time.Sleep(3 * time.Second) // into the fault
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(process.RunPids(id)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := process.RunPids(id); len(left) > 0 {
		t.Errorf("processes of the killed controller's run left: %v", left)
	}
	dir := filepath.Join(process.RunsDir(), id)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a SIGKILLed controller cannot remove its folder, yet %s is gone (%v)", dir, err)
	}
	clean, err := exec.Command(binary, "clean").CombinedOutput()
	if err != nil {
		t.Fatalf("stripelab clean: %v\n%s", err, clean)
	}
	if !strings.Contains(string(clean), id) {
		t.Errorf("clean did not name run %s:\n%s", id, clean)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("clean left %s (%v)", dir, err)
	}
	checkNothingLeft(t, id, dir)
}

// TestInterruptWritesPartialResult sends SIGINT to a running controller:
// it stops every process, removes its folder and writes the result so far
// marked incomplete, with exit 1.
func TestInterruptWritesPartialResult(t *testing.T) {
	out := t.TempDir()
	cmd, id := startRun(t, out)
	time.Sleep(4 * time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("interrupted run: %v, want exit 1", err)
	}
	checkNothingLeft(t, id, filepath.Join(process.RunsDir(), id))
	res, rerr := reports.ReadResult(filepath.Join(out, "result.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !res.Incomplete || res.Backend != "process" || res.StoppedNS <= 0 || res.StoppedNS >= res.DurationNS {
		t.Errorf("result: incomplete %v, backend %s, stopped at %s of %s", res.Incomplete, res.Backend, time.Duration(res.StoppedNS), time.Duration(res.DurationNS))
	}
}

// TestFailedBringUp: instances that never become healthy (a binary that
// exits at once) fail the bring-up within its timeout, and the teardown
// leaves no process and no folder.
func TestFailedBringUp(t *testing.T) {
	p := plan(t, "rt-bad", small("rt-bad", registryFast, "rehome_delay: 20s", "  []\n"))
	h := process.New().WaitLock(10 * time.Minute)
	start := time.Now()
	out, err := runner.Execute(context.Background(), p, runner.Options{Host: h, Binary: "/bin/true", HealthTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "bring-up") {
		t.Fatalf("err %v, want a failed bring-up", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("a failed bring-up took %s", time.Since(start))
	}
	if out.Result != nil {
		t.Errorf("a failed bring-up measured nothing, yet returned a result")
	}
	checkNothingLeft(t, out.RunID, h.Dir())
}
