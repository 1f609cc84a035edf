package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/stripelab/stripelab/components/machine"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/process"
	"github.com/stripelab/stripelab/components/runner"
	"github.com/stripelab/stripelab/scenarios"
)

// Ports and paths inside a machine's container.
const (
	SupervisorPort = 6999  // `node machine` serves here
	InstancePort   = 7000  // instance i serves on 7000+i
	GossipPort     = 30000 // instance i's mesh sidecar binds 30000+i
	LinkPort       = 10000 // the controller's link m->i listens on the gateway, port 10000+m*N+i
	UserPort       = 20000 // the users' link of city c to gateway i: 127.2.0.(1+c):20000+i
	ConfigPath     = "/machine.json"
	DataPath       = "/data" // the machine's volume
)

// Options configure a containers host.
type Options struct {
	// Image says which binary the node image carries (by default the
	// run's binary when it is static, else one built from source).
	Image ImageOptions
	// Log receives progress lines (image build, container starts); nil: none.
	Log io.Writer
	// StartTimeout bounds one container's start until its supervisor
	// answers (default 30s).
	StartTimeout time.Duration
	// WaitLock makes Prepare wait up to this long for another real run
	// (of either backend) to end instead of failing at once.
	WaitLock time.Duration
}

// Host runs every machine of a Plan as a container.
type Host struct {
	opts Options
	run  *runner.Run
	cli  *testcontainers.DockerClient
	img  Image
	lock *os.File

	prepTook time.Duration
	// rootCgroup: containers go directly under the root CPU cgroup,
	// weighted by their instances (cgroupfs driver only)
	rootCgroup bool

	netName string
	netID   string
	base    netip.Addr // the subnet's first address
	gw      netip.Addr
	n       int // instances in the plan (link port stride)

	admin *http.Client

	mu       sync.Mutex
	machines []*mach
	done     bool
}

type mach struct {
	name    string // DNS alias and container name suffix
	ip      netip.Addr
	volume  string
	c       testcontainers.Container
	id      string
	running bool
	status  []machine.Status
	statusT time.Time
}

// New returns a containers host; Prepare readies it for a run.
func New(o Options) *Host {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	return &Host{opts: o, admin: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 5 * time.Second}}}
}

// Name is "containers".
func (h *Host) Name() string { return "containers" }

// Image is the node image of the run (after Prepare).
func (h *Host) Image() Image { return h.img }

// PrepareTook is how long Prepare took once it held the one-run lock
// (image check or build, network, every container started).
func (h *Host) PrepareTook() time.Duration { return h.prepTook }

// Network is the run's Docker network name (after Prepare).
func (h *Host) Network() string { return h.netName }

func (h *Host) logf(format string, args ...any) {
	if h.opts.Log != nil {
		fmt.Fprintf(h.opts.Log, format+"\n", args...)
	}
}

// runLabels are the labels of everything the run creates.
func (h *Host) runLabels(kind string) map[string]string {
	return map[string]string{LabelRun: h.run.ID, LabelKind: kind, LabelController: controllerID()}
}

var dnsBad = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName turns a machine name (city/az/rack/mN) into a DNS label.
func dnsName(s string) string {
	s = strings.Trim(dnsBad.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// Prepare connects to the engine, builds the node image if needed,
// creates the run's network (a subnet of 10.128.0.0/9 picked from the run
// id, the machines at fixed addresses in it) and, in parallel, every
// machine's volume and container, started with a supervisor that has no
// children yet (waited for by wait.ForHTTP on its /healthz).
func (h *Host) Prepare(ctx context.Context, run *runner.Run) (err error) {
	h.run = run
	p := run.Plan
	h.n = len(p.Instances)
	if len(p.Machines) > 4000 || LinkPort+len(p.Machines)*h.n >= UserPort || InstancePort+h.n >= LinkPort {
		return fmt.Errorf("containers host: %d machines and %d instances are more than one run's ports hold (machines x instances < %d)", len(p.Machines), h.n, UserPort-LinkPort)
	}
	if h.lock, err = takeLock(ctx, run.ID, h.opts.WaitLock); err != nil {
		return err
	}
	t0 := time.Now()
	defer func() { h.prepTook = time.Since(t0) }()
	if h.cli, err = Connect(ctx); err != nil {
		return err
	}
	imgOpts := h.opts.Image
	if imgOpts.Binary == "" && imgOpts.Source == "" && imgOpts.Package == "" && run.Binary != "" && checkStatic(run.Binary) == nil {
		imgOpts.Binary = run.Binary
	}
	t := time.Now()
	if h.img, err = EnsureImage(ctx, h.cli, imgOpts); err != nil {
		return err
	}
	if h.img.Built {
		h.logf("image %s built in %s (%.1f MB)", h.img.Ref, h.img.Took.Truncate(time.Millisecond), float64(h.img.Size)/1e6)
	} else {
		h.logf("image %s (up to date, checked in %s)", h.img.Ref, time.Since(t).Truncate(time.Millisecond))
	}
	if info, err := h.cli.Info(ctx, client.InfoOptions{}); err == nil && info.Info.CgroupDriver == "cgroupfs" {
		h.rootCgroup = true
	}
	if err := h.createNetwork(ctx); err != nil {
		return err
	}
	h.machines = make([]*mach, len(p.Machines))
	for m, pm := range p.Machines {
		h.machines[m] = &mach{name: dnsName(pm.Name), ip: addrAdd(h.base, 10+m)}
	}
	tm := time.Now()
	errs := make([]error, len(p.Machines))
	sem := make(chan struct{}, startParallel)
	var wg sync.WaitGroup
	for m := range p.Machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t := time.Now()
			errs[m] = h.create(ctx, m)
			h.logf("machine %s created and started in %s", h.machines[m].name, time.Since(t).Truncate(time.Millisecond))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	h.logf("%d machines' containers up in %s (image, network and containers: %s)", len(p.Machines), time.Since(tm).Truncate(time.Millisecond), time.Since(t0).Truncate(time.Millisecond))
	return nil
}

// startParallel bounds the containers created and started at once.
const startParallel = 6

func addrAdd(a netip.Addr, k int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(k)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// createNetwork makes the run's bridge network on a free /20 of
// 10.128.0.0/9, starting from one the run id picks, and checks that the
// controller can listen on its gateway (it must run on the Docker host).
func (h *Host) createNetwork(ctx context.Context) error {
	f := fnv.New32a()
	f.Write([]byte(h.run.ID))
	start := int(f.Sum32() % 2048)
	h.netName = "stripelab-" + h.run.ID
	var last error
	for k := 0; k < 64; k++ {
		idx := (start + k) % 2048 // 2048 /20s in a /9
		base := addrAdd(netip.AddrFrom4([4]byte{10, 128, 0, 0}), idx<<12)
		sub := netip.PrefixFrom(base, 20)
		gw := base.Next()
		res, err := h.cli.NetworkCreate(ctx, h.netName, client.NetworkCreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub, Gateway: gw}}},
			Labels: h.runLabels("network"),
		})
		if err != nil {
			last = err
			if strings.Contains(err.Error(), "overlap") || strings.Contains(err.Error(), "in use") {
				continue
			}
			return fmt.Errorf("network %s: %v", h.netName, err)
		}
		h.netID, h.base, h.gw = res.ID, base, gw
		ln, err := net.Listen("tcp", net.JoinHostPort(gw.String(), "0"))
		if err != nil {
			return fmt.Errorf("the controller cannot listen on the network's gateway %s (%v): the containers backend needs the controller on the Docker host (Linux), where the run's bridge networks are local", gw, err)
		}
		ln.Close()
		h.logf("network %s: %s, gateway %s", h.netName, sub, gw)
		return nil
	}
	return fmt.Errorf("network %s: no free /20 in 10.128.0.0/9 after 64 tries: %v", h.netName, last)
}

// create makes machine m's volume and container (not started).
func (h *Host) create(ctx context.Context, m int) error {
	p := h.run.Plan
	pm := p.Machines[m]
	mc := h.machines[m]
	labels := h.runLabels("machine")
	labels[LabelCity] = p.Cities[pm.City].Name
	labels[LabelAZ] = p.AZs[pm.AZ].Name
	labels[LabelRack] = p.Racks[pm.Rack].Name
	labels[LabelMachine] = pm.Name
	labels[LabelMachineIdx] = strconv.Itoa(m)
	vl := h.runLabels("volume")
	for _, k := range []string{LabelCity, LabelAZ, LabelRack, LabelMachine, LabelMachineIdx} {
		vl[k] = labels[k]
	}
	mc.volume = fmt.Sprintf("stripelab-%s-%d", h.run.ID, m)
	if _, err := h.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: mc.volume, Labels: vl}); err != nil {
		return fmt.Errorf("volume of machine %s: %v", pm.Name, err)
	}
	cfg, err := h.machineConfig(m, nil)
	if err != nil {
		return err
	}
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          h.img.Ref,
			Name:           fmt.Sprintf("stripelab-%s-%s", h.run.ID, mc.name),
			Cmd:            []string{"node", "machine", "--config", ConfigPath},
			Labels:         labels,
			ExposedPorts:   []string{strconv.Itoa(SupervisorPort) + "/tcp"},
			Networks:       []string{h.netName},
			NetworkAliases: map[string][]string{h.netName: {mc.name}},
			Files:          []testcontainers.ContainerFile{{Reader: bytes.NewReader(cfg), ContainerFilePath: ConfigPath, FileMode: 0o644}},
			ConfigModifier: func(c *container.Config) { c.Hostname = mc.name },
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: mc.volume, Target: DataPath})
				if h.rootCgroup {
					// Under Docker's own cgroup every container of every
					// machine shares the CPU weight of one process of the
					// host; at the root, weighted 1024 per instance, a
					// machine weighs what its processes weigh on the
					// process backend.
					hc.CgroupParent = "/"
					hc.CPUShares = 1024 * int64(max(1, instancesOn(p, m)))
				}
			},
			EndpointSettingsModifier: func(eps map[string]*network.EndpointSettings) {
				if ep := eps[h.netName]; ep != nil {
					ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: mc.ip}
				}
			},
			WaitingFor: wait.ForHTTP("/healthz").WithPort(strconv.Itoa(SupervisorPort) + "/tcp").
				// the supervisor answers once its children are started
				// (503 until they are healthy: the runner waits for that)
				WithStatusCodeMatcher(func(s int) bool { return s == http.StatusOK || s == http.StatusServiceUnavailable }).
				WithPollInterval(50 * time.Millisecond).WithStartupTimeout(h.opts.StartTimeout),
		},
		Started: true,
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	if c != nil {
		mc.c, mc.id = c, c.GetContainerID()
	}
	if err != nil {
		return fmt.Errorf("container of machine %s: %v%s", pm.Name, err, h.tail(mc.id))
	}
	h.mu.Lock()
	mc.running = true
	h.mu.Unlock()
	return nil
}

// machineConfig is machine m's supervisor config with cfgs as children;
// the children inherit the run, scenario and secret from it.
func (h *Host) machineConfig(m int, cfgs []*node.Config) ([]byte, error) {
	mc := node.Config{Role: "machine", Run: h.run.ID, Scenario: string(h.run.Plan.File.Text), Instance: m,
		Listen: fmt.Sprintf("0.0.0.0:%d", SupervisorPort), Secret: h.run.Secret, DataDir: DataPath}
	for _, c := range cfgs {
		ch := *c
		ch.Run, ch.Scenario, ch.Secret = "", "", ""
		mc.Children = append(mc.Children, ch)
	}
	return json.Marshal(mc)
}

func instancesOn(p *scenarios.Plan, m int) int {
	n := 0
	for _, in := range p.Instances {
		if in.Machine == m {
			n++
		}
	}
	return n
}

func (h *Host) machineOf(i int) int { return h.run.Plan.Instances[i].Machine }

// MachineAddr is machine m's address on the run's network.
func (h *Host) MachineAddr(m int) string { return h.machines[m].ip.String() }

// Listen is 0.0.0.0:7000+i inside the machine's container.
func (h *Host) Listen(i int) string { return fmt.Sprintf("0.0.0.0:%d", InstancePort+i) }

// InstanceAddr is the machine's address, port 7000+i: the controller is
// on the Docker host and reaches the run's network directly.
func (h *Host) InstanceAddr(i int) string {
	return fmt.Sprintf("%s:%d", h.machines[h.machineOf(i)].ip, InstancePort+i)
}

// LinkListen is the network's gateway (the host side of the bridge),
// port 10000+m*N+i (N: the plan's instance count): every machine's links
// share the one address the containers reach the controller at.
func (h *Host) LinkListen(m, i int) string {
	return fmt.Sprintf("%s:%d", h.gw, LinkPort+m*h.n+i)
}

// LinkDial is LinkListen.
func (h *Host) LinkDial(m, i int) string { return h.LinkListen(m, i) }

// UserListen is 127.2.0.(1+c), port 20000+i, on the controller.
func (h *Host) UserListen(c, i int) string { return fmt.Sprintf("127.2.0.%d:%d", 1+c, UserPort+i) }

// GossipAddr is the instance's machine address, port 30000+i: mesh
// traffic goes container to container over the bridge.
func (h *Host) GossipAddr(i int) string {
	return fmt.Sprintf("%s:%d", h.machines[h.machineOf(i)].ip, GossipPort+i)
}

// DataDir is /data/<i> on the machine's volume.
func (h *Host) DataDir(i int) string { return DataPath + "/" + strconv.Itoa(i) }

// StartMachine starts machine m with cfgs as its children. At bring-up
// its container already runs (Prepare started every supervisor, empty,
// in parallel) and the children are sent to the supervisor; after a
// KillMachine the supervisor config is rewritten with cfgs and the
// container started again. It returns once the supervisor answers (its
// children started, not necessarily healthy).
func (h *Host) StartMachine(ctx context.Context, m int, cfgs []*node.Config) error {
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return errors.New("containers host: cleaned up")
	}
	mc := h.machines[m]
	running := mc.running
	h.mu.Unlock()
	if mc.c == nil {
		return fmt.Errorf("machine %d has no container", m)
	}
	if running {
		for _, c := range cfgs {
			if err := h.Start(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	cfg, err := h.machineConfig(m, cfgs)
	if err != nil {
		return err
	}
	if err := h.copyConfig(ctx, mc.id, cfg); err != nil {
		return fmt.Errorf("machine %s: config: %v", mc.name, err)
	}
	if err := mc.c.Start(ctx); err != nil {
		return fmt.Errorf("machine %s: start: %v%s", mc.name, err, h.tail(mc.id))
	}
	h.mu.Lock()
	mc.running, mc.statusT = true, time.Time{}
	h.mu.Unlock()
	return nil
}

// copyConfig puts the machine config into the container (stopped or not).
func (h *Host) copyConfig(ctx context.Context, id string, b []byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(ConfigPath, "/"), Mode: 0o644, Size: int64(len(b)), ModTime: time.Now()})
	tw.Write(b)
	tw.Close()
	_, err := h.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf})
	return err
}

// tail is the end of a container's log, for errors.
func (h *Host) tail(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rc, err := h.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 8<<10))
	// the stream is multiplexed: 8-byte frame headers before each chunk
	var out []byte
	for len(b) >= 8 {
		n := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		b = b[8:]
		if n > len(b) {
			n = len(b)
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	if len(out) == 0 {
		return ""
	}
	return "\n" + strings.TrimSpace(string(out))
}

func (h *Host) supervisor(m int) string {
	return fmt.Sprintf("http://%s:%d", h.machines[m].ip, SupervisorPort)
}

func (h *Host) adminPost(ctx context.Context, m int, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.supervisor(m)+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.run.Secret)
	resp, err := h.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	h.mu.Lock()
	h.machines[m].statusT = time.Time{}
	h.mu.Unlock()
	return nil
}

func (h *Host) machineUp(m int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.machines[m].running
}

// Start starts (or restarts) instance i through its machine's supervisor,
// sending its config (the supervisor may not have it yet).
func (h *Host) Start(ctx context.Context, cfg *node.Config) error {
	m := h.machineOf(cfg.Instance)
	if !h.machineUp(m) {
		return fmt.Errorf("instance %d: machine %s is down", cfg.Instance, h.machines[m].name)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := h.adminPost(ctx, m, "/admin/start?instance="+strconv.Itoa(cfg.Instance), b); err != nil {
		return fmt.Errorf("start instance %d: %v", cfg.Instance, err)
	}
	return nil
}

// Kill has the supervisor SIGKILL instance i; it answers once the process
// is gone. An instance on a machine that is down is dead already.
func (h *Host) Kill(i int) error {
	m := h.machineOf(i)
	if !h.machineUp(m) {
		return nil
	}
	if err := h.adminPost(context.Background(), m, "/admin/kill?instance="+strconv.Itoa(i), nil); err != nil {
		return fmt.Errorf("kill instance %d: %v", i, err)
	}
	return nil
}

// KillMachine SIGKILLs machine m's container (its supervisor is PID 1,
// so every instance dies with it) and waits until it has stopped.
func (h *Host) KillMachine(m int) error {
	mc := h.machines[m]
	if mc.id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h.mu.Lock()
	mc.running = false
	h.mu.Unlock()
	if _, err := h.cli.ContainerKill(ctx, mc.id, client.ContainerKillOptions{Signal: "KILL"}); err != nil && !strings.Contains(err.Error(), "is not running") {
		return fmt.Errorf("kill machine %s: %v", mc.name, err)
	}
	for {
		ins, err := h.cli.ContainerInspect(ctx, mc.id, client.ContainerInspectOptions{})
		if err != nil {
			return fmt.Errorf("kill machine %s: %v", mc.name, err)
		}
		if ins.Container.State == nil || !ins.Container.State.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("machine %s still running 15s after SIGKILL", mc.name)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// statusTTL is how long a supervisor's list of children is reused.
const statusTTL = 25 * time.Millisecond

// Alive reports whether instance i runs: its machine is up and its
// supervisor lists it running.
func (h *Host) Alive(i int) bool {
	m := h.machineOf(i)
	h.mu.Lock()
	mc := h.machines[m]
	if !mc.running {
		h.mu.Unlock()
		return false
	}
	st, fresh := mc.status, time.Since(mc.statusT) < statusTTL
	h.mu.Unlock()
	if !fresh {
		var err error
		if st, err = h.Children(m); err != nil {
			return false
		}
		h.mu.Lock()
		mc.status, mc.statusT = st, time.Now()
		h.mu.Unlock()
	}
	for _, s := range st {
		if s.Instance == i {
			return s.Running
		}
	}
	return false
}

// Children asks machine m's supervisor for its children.
func (h *Host) Children(m int) ([]machine.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.supervisor(m)+"/admin/children", nil)
	req.Header.Set("Authorization", "Bearer "+h.run.Secret)
	resp, err := h.admin.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st []machine.Status
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/admin/children: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Isolate disconnects machine m from the run's network: every connection
// to and from it fails (the controller's links, the users, gossip). It is
// the Docker form of a partition cutting m from everything.
func (h *Host) Isolate(m int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := h.cli.NetworkDisconnect(ctx, h.netID, client.NetworkDisconnectOptions{Container: h.machines[m].id, Force: true})
	if err != nil {
		return fmt.Errorf("disconnect machine %s: %v", h.machines[m].name, err)
	}
	return nil
}

// Rejoin connects machine m to the run's network again, at its address
// and with its alias.
func (h *Host) Rejoin(m int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	mc := h.machines[m]
	_, err := h.cli.NetworkConnect(ctx, h.netID, client.NetworkConnectOptions{Container: mc.id,
		EndpointConfig: &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: mc.ip}, Aliases: []string{mc.name}}})
	if err != nil {
		return fmt.Errorf("reconnect machine %s: %v", mc.name, err)
	}
	return nil
}

// Throttle sets machine m's CPU quota to cpus cores (0: no limit), the
// Docker form of a slow machine.
func (h *Host) Throttle(m int, cpus float64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	const period = 100000
	res := &container.Resources{CPUPeriod: period, CPUQuota: int64(cpus * period)}
	if cpus <= 0 {
		res.CPUQuota = -1
	}
	if _, err := h.cli.ContainerUpdate(ctx, h.machines[m].id, client.ContainerUpdateOptions{Resources: res}); err != nil {
		return fmt.Errorf("throttle machine %s: %v", h.machines[m].name, err)
	}
	return nil
}

// Cleanup removes every container, the network and every volume of the
// run (found by its label, so nothing the bookkeeping missed stays).
func (h *Host) Cleanup() error {
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return nil
	}
	h.done = true
	for _, mc := range h.machines {
		mc.running = false
	}
	h.mu.Unlock()
	defer func() {
		if h.lock != nil {
			h.lock.Truncate(0)
			h.lock.Close() // releases the flock
		}
	}()
	if h.run == nil || h.cli == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t := time.Now()
	rm, err := removeRun(ctx, h.cli, h.run.ID)
	h.logf("removed %s of run %s in %s", rm, h.run.ID, time.Since(t).Truncate(time.Millisecond))
	h.admin.CloseIdleConnections()
	h.cli.Close()
	return err
}

// takeLock takes the one-real-run lock the process backend takes too
// (process.RunsDir()/.lock): two real runs on one machine would share its
// cores and distort each other's measures.
func takeLock(ctx context.Context, run string, wait time.Duration) (*os.File, error) {
	if err := os.MkdirAll(process.RunsDir(), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(process.RunsDir(), ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	for end := time.Now().Add(wait); err != nil && time.Now().Before(end) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		b, _ := os.ReadFile(lf.Name())
		lf.Close()
		return nil, fmt.Errorf("another real run holds %s (%s): one real run at a time on this machine", lf.Name(), strings.TrimSpace(string(b)))
	}
	lf.Truncate(0)
	fmt.Fprintf(lf, "controller pid %d, run %s (containers)\n", os.Getpid(), run)
	return lf, nil
}
