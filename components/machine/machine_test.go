package machine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// The test binary doubles as the children: `TEST node ROLE --config FILE`
// serves the shared node endpoints (role machine runs the real
// supervisor). A child whose Seed is exitSeed exits with status 3 once up.
const exitSeed = 7

func TestMain(m *testing.M) {
	if len(os.Args) == 5 && os.Args[1] == "node" && os.Args[3] == "--config" {
		os.Exit(fakeNode(os.Args[2], os.Args[4]))
	}
	os.Exit(m.Run())
}

func fakeNode(role, path string) int {
	cfg, err := node.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := Start
	if role != "machine" {
		start = func(ctx context.Context, env *node.Env) (func(), error) {
			if cfg.Seed == exitSeed {
				go func() { time.Sleep(50 * time.Millisecond); os.Exit(3) }()
			}
			return nil, nil
		}
	}
	if err := node.Run(ctx, cfg, start, log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

const secret = "s3cret"

// smoke returns the ci/smoke scenario's text and plan.
func smoke(t *testing.T) (string, *scenarios.Plan) {
	t.Helper()
	b, err := fs.ReadFile(scenarios.LibraryFS(), "ci/smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := scenarios.Parse("smoke.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), scenarios.NewPlan(f)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// machineConfig is a machine config with the first n instances of the
// plan as children (any machine: the supervisor does not check placement).
func machineConfig(t *testing.T, n int, seeds map[int]uint64) *node.Config {
	text, p := smoke(t)
	cfg := &node.Config{Role: "machine", Run: "t", Scenario: text, Secret: secret, Listen: freePort(t), DataDir: t.TempDir()}
	for i := 0; i < n && i < len(p.Instances); i++ {
		cfg.Children = append(cfg.Children, node.Config{Role: p.Instances[i].Role.String(), Instance: i, Listen: freePort(t), Seed: seeds[i]})
	}
	return cfg
}

// serve runs a supervisor for cfg in this process and returns its base URL.
func serve(t *testing.T, cfg *node.Config) (*Supervisor, string) {
	t.Helper()
	s := &Supervisor{Exe: os.Args[0], Stderr: os.Stderr}
	srv := node.NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	if err := s.Init(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), srv.Events); err != nil {
		t.Fatal(err)
	}
	s.Register(srv)
	if err := s.StartAll(); err != nil {
		s.Stop()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServeListener(ctx, ln, time.Second); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Stop()
		for _, c := range s.Children() {
			if c.Running {
				t.Errorf("instance %d still running after Stop", c.Instance)
			}
		}
	})
	return s, "http://" + cfg.Listen
}

func admin(t *testing.T, method, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func health(u string) (int, string) {
	resp, err := http.Get(u + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHealthy polls /healthz until it answers 200; bounded by 10 s of
// child start-ups (a child starts in well under one).
func waitHealthy(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := health(u)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("machine not healthy after 10s: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after the parenthesised command name; Z is a zombie.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestKillAndStartAChild(t *testing.T) {
	cfg := machineConfig(t, 3, nil)
	s, u := serve(t, cfg)
	waitHealthy(t, u)
	victim := cfg.Children[1].Instance
	var pid int
	for _, c := range s.Children() {
		if c.Instance == victim {
			pid = c.Pid
		}
	}
	if pid == 0 || !alive(pid) {
		t.Fatalf("instance %d has no live pid: %+v", victim, s.Children())
	}

	code, body := admin(t, "POST", fmt.Sprintf("%s/admin/kill?instance=%d", u, victim))
	var a Answer
	if code != 200 || json.Unmarshal([]byte(body), &a) != nil || !a.Changed || a.Running {
		t.Fatalf("kill: %d %s", code, body)
	}
	if alive(pid) {
		t.Fatalf("pid %d alive after kill answered", pid)
	}
	code, body = health(u)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, fmt.Sprintf("instance %d", victim)) {
		t.Fatalf("healthz with a child down: %d %q", code, body)
	}
	// A second kill is a no-op, not an error.
	code, body = admin(t, "POST", fmt.Sprintf("%s/admin/kill?instance=%d", u, victim))
	if code != 200 || json.Unmarshal([]byte(body), &a) != nil || a.Changed {
		t.Fatalf("second kill: %d %s", code, body)
	}
	// Nothing restarts it by itself.
	for _, c := range s.Children() {
		if c.Instance == victim && (c.Running || c.Starts != 1 || c.Exits != 1) {
			t.Fatalf("after kill: %+v", c)
		}
	}

	code, body = admin(t, "POST", fmt.Sprintf("%s/admin/start?instance=%d", u, victim))
	if code != 200 || json.Unmarshal([]byte(body), &a) != nil || !a.Changed || !a.Running {
		t.Fatalf("start: %d %s", code, body)
	}
	waitHealthy(t, u)
	code, body = admin(t, "GET", u+"/admin/children")
	var sts []Status
	if code != 200 || json.Unmarshal([]byte(body), &sts) != nil || len(sts) != 3 {
		t.Fatalf("children: %d %s", code, body)
	}
	for _, c := range sts {
		want := 1
		if c.Instance == victim {
			want = 2
		}
		if !c.Running || c.Starts != want {
			t.Errorf("instance %d: running %v starts %d, want running and %d starts", c.Instance, c.Running, c.Starts, want)
		}
	}
	var kinds []string
	for _, ev := range s.events.After(0) {
		if ev.Subject == victim {
			kinds = append(kinds, ev.Kind)
		}
	}
	if want := []string{EvChildStarted, EvChildKilled, EvChildStarted}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("events of instance %d: %v, want %v", victim, kinds, want)
	}
}

func TestAChildThatExitsStaysDown(t *testing.T) {
	cfg := machineConfig(t, 2, map[int]uint64{1: exitSeed})
	s, u := serve(t, cfg)
	deadline := time.Now().Add(10 * time.Second)
	for {
		sts := s.Children()
		if !sts[1].Running && sts[1].Exits == 1 {
			if sts[1].Starts != 1 || !strings.Contains(sts[1].LastExit, "exit status 3") {
				t.Fatalf("exited child: %+v", sts[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child with exit seed still running after 10s: %+v", sts[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := health(u); code != http.StatusServiceUnavailable || !strings.Contains(body, "instance 1") {
		t.Fatalf("healthz: %d %q", code, body)
	}
	evs := s.events.After(0)
	if last := evs[len(evs)-1]; last.Kind != EvChildExited || last.Subject != 1 {
		t.Fatalf("last event %+v, want %s of instance 1", last, EvChildExited)
	}
}

func TestAdminBadInput(t *testing.T) {
	cfg := machineConfig(t, 1, nil)
	_, u := serve(t, cfg)
	for _, c := range []struct {
		method, path string
		auth         bool
		code         int
	}{
		{"POST", "/admin/kill?instance=0", false, 401},
		{"POST", "/admin/kill", true, 400},
		{"POST", "/admin/kill?instance=x", true, 400},
		{"POST", "/admin/start?instance=-1", true, 404},
		{"POST", "/admin/start?instance=99", true, 404},
		{"GET", "/admin/kill?instance=0", true, 405},
	} {
		req, _ := http.NewRequest(c.method, u+c.path, nil)
		if c.auth {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
	}
}

func TestBadChildren(t *testing.T) {
	text, _ := smoke(t)
	for name, ch := range map[string][]node.Config{
		"machine child": {{Role: "machine", Instance: 0, Listen: "127.0.0.1:1"}},
		"unknown role":  {{Role: "cache", Instance: 0, Listen: "127.0.0.1:1"}},
		"no listen":     {{Role: "gateway", Instance: 0}},
		"duplicate":     {{Role: "gateway", Instance: 0, Listen: "127.0.0.1:1"}, {Role: "gateway", Instance: 0, Listen: "127.0.0.1:2"}},
	} {
		s := &Supervisor{}
		err := s.Init(&node.Config{Role: "machine", Scenario: text, DataDir: t.TempDir(), Children: ch}, nil, nil)
		if err == nil {
			s.Stop()
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzAdminQuery: any query to /admin/kill answers 200, 400 or 404, never
// panics. The one child is never started, so a kill finds it down.
func FuzzAdminQuery(f *testing.F) {
	for _, s := range []string{"instance=0", "instance=", "instance=1e9", "instance=-0", "instance=%zz", "a=b&instance=0&instance=1"} {
		f.Add(s)
	}
	text := "" // the scenario is not read by Init
	s := &Supervisor{Exe: "/nonexistent"}
	cfg := &node.Config{Role: "machine", Scenario: text, Secret: secret, DataDir: f.TempDir(),
		Children: []node.Config{{Role: "gateway", Instance: 0, Listen: "127.0.0.1:1"}}}
	srv := node.NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	if err := s.Init(cfg, nil, srv.Events); err != nil {
		f.Fatal(err)
	}
	defer s.Stop()
	s.Register(srv)
	f.Fuzz(func(t *testing.T, q string) {
		req, err := http.NewRequest("POST", "http://m/admin/kill", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.RawQuery = q
		req.Header.Set("Authorization", "Bearer "+secret)
		w := &recorder{h: http.Header{}}
		srv.Mux.ServeHTTP(w, req)
		if w.code != 200 && w.code != 400 && w.code != 404 {
			t.Fatalf("query %q: %d", q, w.code)
		}
		if w.code == 200 {
			if v, _ := url.ParseQuery(q); v.Get("instance") == "" {
				t.Fatalf("query %q answered 200 without an instance", q)
			}
		}
	})
}

type recorder struct {
	h    http.Header
	code int
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return len(b), nil
}
func (r *recorder) WriteHeader(c int) { r.code = c }

// TestChildrenDieWithTheSupervisor runs the supervisor as its own process
// (`TEST node machine --config FILE`), SIGKILLs it and checks that its
// children are gone: Pdeathsig, no container needed.
func TestChildrenDieWithTheSupervisor(t *testing.T) {
	cfg := machineConfig(t, 2, nil)
	path := filepath.Join(t.TempDir(), "machine.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "node", "machine", "--config", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, bufio.NewReader(stderr))
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	u := "http://" + cfg.Listen
	waitHealthy(t, u)
	code, body := admin(t, "GET", u+"/admin/children")
	var sts []Status
	if code != 200 || json.Unmarshal([]byte(body), &sts) != nil || len(sts) != 2 {
		t.Fatalf("children: %d %s", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range sts {
		for alive(c.Pid) {
			if time.Now().After(deadline) {
				syscall.Kill(c.Pid, syscall.SIGKILL)
				t.Fatalf("instance %d (pid %d) outlived its supervisor by 5s", c.Instance, c.Pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func adminBody(t *testing.T, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStartANewChildFromItsConfig: a runner starts the instances of a
// machine group by group, so /admin/start takes a config it has not seen.
func TestStartANewChildFromItsConfig(t *testing.T) {
	cfg := machineConfig(t, 1, nil)
	_, p := smoke(t)
	s, u := serve(t, cfg)
	waitHealthy(t, u)
	newc := node.Config{Role: p.Instances[1].Role.String(), Instance: 1, Listen: freePort(t)}
	b, _ := json.Marshal(newc)
	for _, c := range []struct {
		query, body string
		code        int
	}{
		{"instance=2", string(b), 400},        // the query and the config disagree
		{"instance=1", "{not json", 400},      // malformed
		{"instance=1", `{"instance":1}`, 400}, // no role
		{"instance=1", `{"instance":1,"role":"machine","listen":"127.0.0.1:1"}`, 400},
	} {
		if code, body := adminBody(t, u+"/admin/start?"+c.query, c.body); code != c.code {
			t.Errorf("start?%s with %s: %d %s, want %d", c.query, c.body, code, body, c.code)
		}
	}
	if n := len(s.Children()); n != 1 {
		t.Fatalf("rejected configs added children: %d", n)
	}
	code, body := adminBody(t, u+"/admin/start?instance=1", string(b))
	var a Answer
	if code != 200 || json.Unmarshal([]byte(body), &a) != nil || !a.Changed {
		t.Fatalf("start new child: %d %s", code, body)
	}
	waitHealthy(t, u)
	sts := s.Children()
	if len(sts) != 2 || sts[1].Instance != 1 || sts[1].Listen != newc.Listen || !sts[1].Running {
		t.Fatalf("children after the new start: %+v", sts)
	}
	// The inherited fields reached the child's config file.
	got, err := node.Load(filepath.Join(cfg.DataDir, "conf", "instance-1.json"))
	if err != nil || got.Secret != secret || got.Run != cfg.Run || got.Scenario != cfg.Scenario {
		t.Fatalf("child config: %+v, %v", got, err)
	}
	// A running child's role or address cannot change under it.
	moved := newc
	moved.Listen = freePort(t)
	mb, _ := json.Marshal(moved)
	if code, body := adminBody(t, u+"/admin/start?instance=1", string(mb)); code != 400 {
		t.Fatalf("moving a running child: %d %s", code, body)
	}
}

// FuzzAdminStartBody: any body to /admin/start answers 200, 400, 404 or
// 500 (the stand-in binary does not exist, so a valid config fails to
// start), never panics, and a rejected body adds no child.
func FuzzAdminStartBody(f *testing.F) {
	for _, s := range []string{"", "{}", `{"instance":1,"role":"gateway","listen":"127.0.0.1:1"}`, `{"instance":0,"role":"shard"}`, "[1,2]", `{"instance":"x"}`, "\x00"} {
		f.Add("instance=1", s)
	}
	s := &Supervisor{Exe: "/nonexistent"}
	cfg := &node.Config{Role: "machine", Secret: secret, DataDir: f.TempDir()}
	srv := node.NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	if err := s.Init(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), srv.Events); err != nil {
		f.Fatal(err)
	}
	defer s.Stop()
	s.Register(srv)
	f.Fuzz(func(t *testing.T, q, body string) {
		before := len(s.Children())
		req, err := http.NewRequest("POST", "http://m/admin/start", strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.URL.RawQuery = q
		req.Header.Set("Authorization", "Bearer "+secret)
		w := &recorder{h: http.Header{}}
		srv.Mux.ServeHTTP(w, req)
		switch w.code {
		case 200, 404, 500:
		case 400:
			if len(s.Children()) != before {
				t.Fatalf("a rejected body (%q) added a child", body)
			}
		default:
			t.Fatalf("query %q body %q: %d", q, body, w.code)
		}
	})
}
