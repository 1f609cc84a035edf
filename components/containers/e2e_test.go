package containers

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// processFailures are the objectives each real scenario says fail on the
// process backend (components/realtest holds the same table and checks it).
var processFailures = map[string][]string{
	"real/added-latency":        {"latency_in_fault p99"},
	"real/autoscale-load-step":  {"latency p99"},
	"real/registry-outage":      {"latency p99"},
	"real/shard-failover-async": {"lost_writes"},
}

// realScenarios lists the shipped real scenarios.
func realScenarios() []string {
	var out []string
	for _, n := range scenarios.LibraryNames() {
		if strings.HasPrefix(n, "real/") {
			out = append(out, n)
		}
	}
	return out
}

// reportsWritten writes every report of res into dir and checks they are there.
func reportsWritten(res *reports.Result, dir string) error {
	if err := reports.WriteAll(res, dir); err != nil {
		return err
	}
	for _, f := range []string{"result.json", "report.html", "report.md", "timeseries.csv", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	return nil
}

// steadyAvailability is the availability after warm-up and before the
// first fault.
func steadyAvailability(res *reports.Result) float64 {
	end := res.DurationNS
	for _, f := range res.Faults {
		end = min(end, f.Start)
	}
	var c reports.Counts
	for _, w := range res.Windows {
		if w.Start >= res.WarmupNS && w.Start+res.WindowNS <= end {
			c.Add(&w.Counts)
		}
	}
	return c.Availability()
}

// e2e skips a test unless STRIPELAB_E2E=1 (make e2e): these run whole
// scenarios of a minute each on the real binary.
func e2e(t *testing.T) {
	t.Helper()
	if os.Getenv("STRIPELAB_E2E") != "1" {
		t.Skip("the containers backend's whole scenarios take a minute each: STRIPELAB_E2E=1 runs them")
	}
}

// realBinary is the static stripelab binary the image carries.
func realBinary(t *testing.T) string {
	t.Helper()
	cli := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	img, err := EnsureImage(ctx, cli, ImageOptions{Source: moduleRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s, %.1f MB, built %v in %s", img.Ref, float64(img.Size)/1e6, img.Built, img.Took)
	return img.Binary
}

// TestE2EContainers runs real scenarios on the containers backend: a
// machine loss by container kill, a partition, async shard failover
// losing acknowledged writes and sync losing none. Every revert must be
// verified and nothing of the run left.
func TestE2EContainers(t *testing.T) {
	e2e(t)
	bin := realBinary(t)
	cli := engine(t)
	names := realScenarios()
	if only := os.Getenv("STRIPELAB_E2E_ONLY"); only != "" {
		names = strings.Split(only, ",")
	}
	for _, name := range names {
		t.Run(strings.TrimPrefix(name, "real/"), func(t *testing.T) {
			p := plan(t, name)
			h := New(Options{Log: testLog{t}, WaitLock: 10 * time.Minute})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			out, err := runner.Execute(ctx, p, runner.Options{Host: h, Binary: bin, Log: testLog{t}})
			if out != nil && out.RunID != "" {
				if left, lerr := Leftovers(context.Background(), cli, out.RunID); lerr != nil || len(left) > 0 {
					t.Errorf("left after the run: %v %v", left, lerr)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			res := out.Result
			if res.Backend != "containers" {
				t.Errorf("backend %q", res.Backend)
			}
			for _, e := range out.Ledger {
				if e.Action == "revert" && !e.Verified {
					t.Errorf("revert of %s not verified: %s", e.Name, e.Err)
				}
			}
			if err := reportsWritten(res, t.TempDir()); err != nil {
				t.Errorf("reports of a containers result: %v", err)
			}
			// The verdicts are compared with the process backend's
			// expectations and logged: on a 2-core host the containers
			// backend pays a connection into another network namespace per
			// hop and may fall short (docs/backends.md says why).
			differ := 0
			for _, v := range res.Verdicts {
				want := !slices.Contains(processFailures[name], v.SLO)
				note := ""
				if v.Pass != want {
					differ++
					note = "  (differs from the process backend)"
				}
				t.Logf("%-24s %-28s %-10s measured %s pass %v%s", v.SLO, v.Scope, v.Target, v.Measured, v.Pass, note)
			}
			steady := steadyAvailability(res)
			t.Logf("bring-up %s, availability %.4f (%.4f before the first fault), %d verdicts differ from the process backend, writes read back %d (lost %d, unknown %d)",
				out.BringUp, res.Totals.Counts.Availability(), steady, differ, out.Checked, out.Lost, out.Unknown)
			switch name {
			case "real/shard-failover-async":
				// Judged only when the stack served before the fault: a
				// host that collapsed acknowledged too few writes to lose.
				if out.Lost == 0 && steady >= 0.9 {
					t.Errorf("async failover lost no acknowledged write (%d read back)", out.Checked)
				}
			case "real/shard-failover-sync":
				if out.Lost != 0 {
					t.Errorf("sync failover lost %d acknowledged writes", out.Lost)
				}
			case "real/autoscale-load-step":
				// scaling is carried out by containers too: the step starts
				// a second api process per set, ready after the startup
				if sc := res.Scaling; sc == nil || len(sc.Starts) < 2 || sc.Starts[0].Ready < sc.Starts[0].Decided+int64(p.Scenario.Scaling.Startup) {
					t.Errorf("the autoscaler started %+v, want an api instance per set, ready after the startup", sc)
				}
			case "real/grow-shrink-sharded":
				// keys move between the shards' containers: the simulator's
				// count each time, and no acknowledged write lost, those
				// of the removed shard read back where their keys went
				if sc := res.Scaling; sc == nil || len(sc.Sets) != 2 {
					t.Errorf("set changes: %+v, want an add and a removal", sc)
				} else {
					for i, m := range p.KeyMoves() {
						if got := sc.Sets[i]; got.Keys != int64(len(m.Users)) || got.CopyEnd < got.CopyStart {
							t.Errorf("%s: %d keys copied from %s to %s, want %d", got.Set, got.Keys, time.Duration(got.CopyStart), time.Duration(got.CopyEnd), len(m.Users))
						}
					}
				}
				if out.Checked == 0 || out.MovedOn == 0 || out.Lost != 0 || out.Unknown != 0 {
					t.Errorf("writes read back %d (%d where their key moved), lost %d, unknown %d", out.Checked, out.MovedOn, out.Lost, out.Unknown)
				}
			case "real/grow-proxy":
				if sc := res.Scaling; sc == nil || len(sc.Sets) != 1 || sc.Sets[0].Moved == 0 || sc.Sets[0].Routed < 0 {
					t.Errorf("the added set: %+v, want its users moved to it", sc)
				}
			}
		})
	}
}

// TestE2ECleanAfterSIGKILL: `stripelab run --backend containers` killed
// with SIGKILL once its stack is up leaves its containers; `stripelab
// clean` removes them, and `docker ps -a`, `docker network ls` and `docker
// volume ls` list nothing of the run.
func TestE2ECleanAfterSIGKILL(t *testing.T) {
	e2e(t)
	bin := realBinary(t)
	cli := engine(t)
	runRe := regexp.MustCompile(`^run (\S+) on the containers backend`)
	var cmd *exec.Cmd
	var sc *bufio.Scanner
	var run string
	// another real run (of either backend) may hold the one-run lock: retry
	for end := time.Now().Add(10 * time.Minute); run == "" && time.Now().Before(end); {
		cmd = exec.Command(bin, "run", "real/baseline", "--backend", "containers", "--out", filepath.Join(t.TempDir(), "out"))
		cmd.Dir = t.TempDir()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc = bufio.NewScanner(stderr)
		locked := false
		deadline := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
		for sc.Scan() {
			l := sc.Text()
			if strings.Contains(l, "another real run holds") {
				locked = true
				break
			}
			t.Log(l)
			if m := runRe.FindStringSubmatch(l); m != nil {
				run = m[1]
			}
			if strings.HasPrefix(l, "stack up") {
				break
			}
		}
		deadline.Stop()
		if locked {
			cmd.Wait()
			time.Sleep(2 * time.Second)
			continue
		}
		break
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	if run == "" {
		t.Fatal("the run never came up")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	defer removeRun(context.Background(), cli, run)
	if left, _ := Leftovers(context.Background(), cli, run); len(left) == 0 {
		t.Fatal("a SIGKILLed controller left nothing: the test shows nothing")
	}
	out, err := exec.Command(bin, "clean").CombinedOutput()
	t.Logf("stripelab clean:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=" + LabelRun + "=" + run, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", "label=" + LabelRun + "=" + run, "--format", "{{.Name}}"},
		{"volume", "ls", "--filter", "label=" + LabelRun + "=" + run, "--format", "{{.Name}}"},
	} {
		b, err := exec.Command("docker", args...).Output()
		if err != nil {
			t.Fatalf("docker %v: %v", args, err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			t.Errorf("docker %s %s lists, after clean: %s", args[0], args[1], s)
		}
	}
}
