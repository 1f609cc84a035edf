// Package machine is `stripelab node machine`: the supervisor of one
// machine of the Plan. It starts the instances placed on the machine
// (its config's Children) as its own child processes, running the same
// binary as `node ROLE --config FILE`, so that losing the machine (a
// container kill) loses every instance on it. It restarts nothing by
// itself: a child that exits stays down until a runner asks for it again.
//
// Admin endpoints (bearer = the run's secret):
//
//	POST /admin/kill?instance=I    SIGKILL instance I (its process group); answers once it is gone
//	POST /admin/start?instance=I   start instance I again if it is not running; a body, when
//	                               given, is the instance's config (a new child, or a new config
//	                               for a known one that is down)
//	GET  /admin/children           every child: role, pid, running, starts, exits, last exit
//
// /healthz answers 200 only when every child runs and answers its own
// /healthz. Children die with the supervisor (Pdeathsig) even when it is
// SIGKILLed outside a container.
package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/stripelab/stripelab/components/node"
)

// Event kinds the supervisor emits on its own event log (Subject: the instance).
const (
	EvChildStarted = "child_started"
	EvChildKilled  = "child_killed" // killed by an admin request
	EvChildExited  = "child_exited" // exited on its own (Detail: how)
)

// Supervisor runs the children of one machine.
type Supervisor struct {
	// Exe is the binary children run (default: this one) and Args its
	// arguments for a child (default: node ROLE --config FILE).
	Exe  string
	Args func(role, config string) []string
	// Grace is how long a child has to exit after SIGTERM at shutdown.
	Grace time.Duration
	// HealthTimeout bounds one child's /healthz answer.
	HealthTimeout time.Duration
	// Stderr receives the children's output (default: os.Stderr).
	Stderr *os.File

	log       *slog.Logger
	events    *node.Events
	parent    *node.Config
	dir       string
	tmpDir    bool
	order     []int
	children  map[int]*child
	hc        *http.Client
	spawn     chan spawnReq
	stopSpawn context.CancelFunc

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

type child struct {
	cfg      node.Config
	path     string
	pid      int
	running  bool
	killing  bool
	done     chan struct{} // closed when the current process has exited
	starts   int
	exits    int
	lastExit string
}

// Status is one child as GET /admin/children shows it.
type Status struct {
	Instance int    `json:"instance"`
	Role     string `json:"role"`
	Listen   string `json:"listen"`
	Pid      int    `json:"pid,omitempty"`
	Running  bool   `json:"running"`
	Starts   int    `json:"starts"`
	Exits    int    `json:"exits"`
	LastExit string `json:"last_exit,omitempty"`
}

// Start is the machine role's node.StartFunc.
func Start(ctx context.Context, env *node.Env) (func(), error) {
	s := &Supervisor{}
	if err := s.Init(env.Config, env.Log, env.Server.Events); err != nil {
		return nil, err
	}
	s.Register(env.Server)
	if err := s.StartAll(); err != nil {
		s.Stop()
		return nil, err
	}
	return s.Stop, nil
}

// Init checks cfg's children and writes their config files under
// cfg.DataDir/conf (a temporary directory when DataDir is empty). Each
// child inherits the run, scenario and secret of the machine's config
// when its own are empty.
func (s *Supervisor) Init(cfg *node.Config, log *slog.Logger, ev *node.Events) error {
	if log == nil {
		log = slog.Default()
	}
	s.log, s.events = log, ev
	if s.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("machine: the binary to run: %v", err)
		}
		s.Exe = exe
	}
	if s.Args == nil {
		s.Args = func(role, config string) []string { return []string{"node", role, "--config", config} }
	}
	if s.Grace <= 0 {
		s.Grace = 2 * time.Second
	}
	if s.HealthTimeout <= 0 {
		s.HealthTimeout = time.Second
	}
	if s.Stderr == nil {
		s.Stderr = os.Stderr
	}
	s.dir = cfg.DataDir
	if s.dir == "" {
		d, err := os.MkdirTemp("", "stripelab-machine-")
		if err != nil {
			return err
		}
		s.dir, s.tmpDir = d, true
	}
	conf := filepath.Join(s.dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return err
	}
	s.parent = cfg
	s.children = map[int]*child{}
	for _, c := range cfg.Children {
		if _, dup := s.children[c.Instance]; dup {
			return fmt.Errorf("machine: instance %d is listed twice", c.Instance)
		}
		if err := s.addChild(c); err != nil {
			return err
		}
	}
	s.hc = &http.Client{Timeout: s.HealthTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	sctx, cancel := context.WithCancel(context.Background())
	s.stopSpawn = cancel
	s.spawn = make(chan spawnReq)
	ready := make(chan struct{})
	go s.spawner(sctx, ready)
	<-ready
	return nil
}

// addChild checks c, fills what it inherits and writes its config file;
// an instance already known gets the new config (used at its next start).
func (s *Supervisor) addChild(c node.Config) error {
	if c.Role == "machine" || !slices.Contains(node.Roles, c.Role) {
		return fmt.Errorf("machine: child instance %d: role %q is not one a machine runs", c.Instance, c.Role)
	}
	if c.Listen == "" {
		return fmt.Errorf("machine: child instance %d (%s) has no listen address", c.Instance, c.Role)
	}
	if c.Run == "" {
		c.Run = s.parent.Run
	}
	if c.Scenario == "" {
		c.Scenario = s.parent.Scenario
	}
	if c.Secret == "" {
		c.Secret = s.parent.Secret
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, "conf", fmt.Sprintf("instance-%d.json", c.Instance))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	if old, ok := s.children[c.Instance]; ok {
		old.cfg, old.path = c, path
		return nil
	}
	s.children[c.Instance] = &child{cfg: c, path: path}
	s.order = append(s.order, c.Instance)
	return nil
}

// AddChild adds instance c (or replaces the config of a known instance
// that is not running) without starting it.
func (s *Supervisor) AddChild(c node.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.children[c.Instance]; ok && old.running {
		if old.cfg.Role != c.Role || old.cfg.Listen != c.Listen {
			return fmt.Errorf("machine: instance %d runs as %s on %s; stop it before changing it", c.Instance, old.cfg.Role, old.cfg.Listen)
		}
		return nil
	}
	return s.addChild(c)
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

// spawner starts every child from one locked OS thread: Pdeathsig fires
// when the thread that forked a child ends, and Go may end an unlocked
// thread at any time. It ends (and its thread with it) after Stop.
func (s *Supervisor) spawner(ctx context.Context, ready chan<- struct{}) {
	runtime.LockOSThread()
	close(ready)
	for {
		select {
		case r := <-s.spawn:
			r.reply <- r.cmd.Start()
		case <-ctx.Done():
			return
		}
	}
}

// Register adds the admin endpoints and the children's health to srv.
func (s *Supervisor) Register(srv *node.Server) {
	srv.Admin("POST /admin/kill", s.serveKill)
	srv.Admin("POST /admin/start", s.serveStart)
	srv.Admin("GET /admin/children", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Children())
	})
	srv.AddCheck(s.Healthy)
}

// StartAll starts every child that is not running.
func (s *Supervisor) StartAll() error {
	for _, i := range s.order {
		if _, err := s.StartChild(i); err != nil {
			return err
		}
	}
	return nil
}

// ErrUnknown is returned for an instance that is not on this machine.
var ErrUnknown = errors.New("not an instance of this machine")

// StartChild starts instance i unless it runs; it reports whether it
// started it.
func (s *Supervisor) StartChild(i int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.children[i]
	if !ok {
		return false, fmt.Errorf("instance %d: %w", i, ErrUnknown)
	}
	if s.stopped {
		return false, fmt.Errorf("instance %d: the machine is stopping", i)
	}
	if c.running {
		return false, nil
	}
	cmd := exec.Command(s.Exe, s.Args(c.cfg.Role, c.path)...)
	cmd.Stdout, cmd.Stderr = s.Stderr, s.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	reply := make(chan error, 1)
	s.spawn <- spawnReq{cmd, reply}
	if err := <-reply; err != nil {
		return false, fmt.Errorf("instance %d (%s): %v", i, c.cfg.Role, err)
	}
	c.pid, c.running, c.killing = cmd.Process.Pid, true, false
	c.done = make(chan struct{})
	c.starts++
	s.events.Emit(EvChildStarted, i, 0, strconv.Itoa(c.pid))
	s.log.Info("machine: started", "instance", i, "role", c.cfg.Role, "pid", c.pid)
	s.wg.Add(1)
	go s.wait(c, cmd)
	return true, nil
}

func (s *Supervisor) wait(c *child, cmd *exec.Cmd) {
	defer s.wg.Done()
	err := cmd.Wait()
	how := "exit 0"
	if err != nil {
		how = err.Error()
	}
	s.mu.Lock()
	c.running = false
	c.exits++
	c.lastExit = how
	killed := c.killing
	close(c.done)
	s.mu.Unlock()
	if killed {
		s.events.Emit(EvChildKilled, c.cfg.Instance, 0, how)
	} else {
		s.events.Emit(EvChildExited, c.cfg.Instance, 0, how)
		s.log.Warn("machine: child exited", "instance", c.cfg.Instance, "role", c.cfg.Role, "how", how)
	}
}

// KillChild SIGKILLs instance i's process group and waits until it is
// gone; it reports whether it was running.
func (s *Supervisor) KillChild(ctx context.Context, i int) (bool, error) {
	s.mu.Lock()
	c, ok := s.children[i]
	if !ok {
		s.mu.Unlock()
		return false, fmt.Errorf("instance %d: %w", i, ErrUnknown)
	}
	if !c.running {
		s.mu.Unlock()
		return false, nil
	}
	c.killing = true
	pid, done := c.pid, c.done
	s.mu.Unlock()
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, fmt.Errorf("instance %d: kill: %v", i, err)
	}
	select {
	case <-done:
		return true, nil
	case <-ctx.Done():
		return true, fmt.Errorf("instance %d: not gone after SIGKILL: %v", i, ctx.Err())
	}
}

// Children lists the children in config order.
func (s *Supervisor) Children() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.order))
	for _, i := range s.order {
		c := s.children[i]
		st := Status{Instance: i, Role: c.cfg.Role, Listen: c.cfg.Listen, Running: c.running, Starts: c.starts, Exits: c.exits, LastExit: c.lastExit}
		if c.running {
			st.Pid = c.pid
		}
		out = append(out, st)
	}
	return out
}

// Healthy asks every child's /healthz; it fails on the first child that is
// down or does not answer 200.
func (s *Supervisor) Healthy() error {
	sts := s.Children()
	errs := make([]error, len(sts))
	var wg sync.WaitGroup
	for k, st := range sts {
		if !st.Running {
			errs[k] = fmt.Errorf("instance %d (%s) is down", st.Instance, st.Role)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.hc.Get("http://" + DialAddr(st.Listen) + "/healthz")
			if err != nil {
				errs[k] = fmt.Errorf("instance %d (%s): %v", st.Instance, st.Role, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs[k] = fmt.Errorf("instance %d (%s): /healthz %s", st.Instance, st.Role, resp.Status)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// DialAddr turns a listen address into one to dial from the same host:
// an unspecified host becomes 127.0.0.1.
func DialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Stop sends SIGTERM to every child, SIGKILL to those still there after
// Grace, waits for all of them and removes a temporary directory.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	var pids []int
	for _, i := range s.order {
		if c := s.children[i]; c.running {
			c.killing = true
			pids = append(pids, c.pid)
		}
	}
	s.mu.Unlock()
	for _, p := range pids {
		syscall.Kill(-p, syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(s.Grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		for _, p := range pids {
			syscall.Kill(-p, syscall.SIGKILL)
		}
		<-done
	}
	s.stopSpawn()
	if s.tmpDir {
		os.RemoveAll(s.dir)
	}
}

func (s *Supervisor) instanceParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("instance")
	i, err := strconv.Atoi(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("machine: want ?instance=N (an instance index), got %q", v), http.StatusBadRequest)
		return 0, false
	}
	s.mu.Lock()
	_, ok := s.children[i]
	s.mu.Unlock()
	if !ok {
		http.Error(w, fmt.Sprintf("machine: instance %d is not on this machine", i), http.StatusNotFound)
		return 0, false
	}
	return i, true
}

// Answer is the reply of /admin/kill and /admin/start.
type Answer struct {
	Instance int  `json:"instance"`
	Running  bool `json:"running"`
	// Changed is true when the request killed or started the instance,
	// false when it was already in that state.
	Changed bool `json:"changed"`
}

func (s *Supervisor) serveKill(w http.ResponseWriter, r *http.Request) {
	i, ok := s.instanceParam(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	was, err := s.KillChild(ctx, i)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, Answer{Instance: i, Running: false, Changed: was})
}

// maxConfig bounds a child config sent to /admin/start.
const maxConfig = 4 << 20

func (s *Supervisor) serveStart(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfig+1))
	if err != nil {
		http.Error(w, "machine: reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxConfig {
		http.Error(w, fmt.Sprintf("machine: a config of more than %d bytes", maxConfig), http.StatusRequestEntityTooLarge)
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var c node.Config
		if err := json.Unmarshal(body, &c); err != nil {
			http.Error(w, "machine: the body is not an instance config: "+err.Error(), http.StatusBadRequest)
			return
		}
		if q := r.URL.Query().Get("instance"); q != strconv.Itoa(c.Instance) {
			http.Error(w, fmt.Sprintf("machine: ?instance=%s but the config is instance %d", q, c.Instance), http.StatusBadRequest)
			return
		}
		if err := s.AddChild(c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	i, ok := s.instanceParam(w, r)
	if !ok {
		return
	}
	started, err := s.StartChild(i)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, Answer{Instance: i, Running: true, Changed: started})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
