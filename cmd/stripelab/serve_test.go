package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServeRefusesAnAddressBeyondLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080", "no-port"} {
		if code := cli(t, "serve", "--addr", addr, "--results", t.TempDir()); code != exitBadUser {
			t.Errorf("serve --addr %s: exit %d, want %d", addr, code, exitBadUser)
		}
	}
}

// TestServeHelper is the serving process of TestServeStartsOnLoopback.
func TestServeHelper(t *testing.T) {
	args := os.Getenv("STRIPELAB_SERVE_ARGS")
	if args == "" {
		t.Skip("runs only as the child of TestServeStartsOnLoopback")
	}
	os.Exit(exitCode(run(strings.Split(args, "\n"))))
}

// TestServeStartsOnLoopback starts `stripelab serve` with the default
// address's host, checks that it says it serves loopback only, fetches
// the runs page, and stops it with SIGINT (exit 0).
func TestServeStartsOnLoopback(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelper$")
	cmd.Env = append(os.Environ(), "STRIPELAB_SERVE_ARGS=serve\n--addr\n127.0.0.1:0\n--results\n"+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("first line %q: %v", line, err)
	}
	if !strings.Contains(line, "loopback only") {
		t.Errorf("serve does not say it listens on loopback only: %q", line)
	}
	u := regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/`).FindString(line)
	if u == "" {
		t.Fatalf("no loopback address in %q", line)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<h1>Runs</h1>") {
		t.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGINT: %v, want exit 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("serve did not stop within 15s of SIGINT")
	}
}
