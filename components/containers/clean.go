package containers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/stripelab/stripelab/components/runner"
)

func init() { runner.RegisterCleaner("containers", Clean) }

// Removed counts what a cleanup removed.
type Removed struct{ Containers, Networks, Volumes int }

func (r Removed) String() string {
	return fmt.Sprintf("%d containers, %d networks, %d volumes", r.Containers, r.Networks, r.Volumes)
}

func runFilter(run string) client.Filters {
	if run == "" {
		return make(client.Filters).Add("label", LabelRun)
	}
	return make(client.Filters).Add("label", LabelRun+"="+run)
}

// removeRun removes every container (with its anonymous volumes), network
// and volume labelled with run, in that order.
func removeRun(ctx context.Context, cli *testcontainers.DockerClient, run string) (Removed, error) {
	var rm Removed
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter(run)})
	if err != nil {
		return rm, err
	}
	// in parallel: a removal waits for the container's kill and its
	// filesystem's teardown
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, startParallel)
	for _, c := range cs.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !notFound(err) {
				errs = append(errs, fmt.Errorf("container %s: %v", c.ID[:12], err))
				return
			}
			rm.Containers++
		}()
	}
	wg.Wait()
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter(run)})
	if err != nil {
		return rm, err
	}
	for _, n := range ns.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("network %s: %v", n.Name, err))
			continue
		}
		rm.Networks++
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: runFilter(run)})
	if err != nil {
		return rm, err
	}
	for _, v := range vs.Items {
		if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("volume %s: %v", v.Name, err))
			continue
		}
		rm.Volumes++
	}
	return rm, errors.Join(errs...)
}

func notFound(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "no such") || strings.Contains(s, "not found")
}

// Leftovers lists what carries our run label: container, network and
// volume names with their run (tests assert it is empty).
func Leftovers(ctx context.Context, cli *testcontainers.DockerClient, run string) ([]string, error) {
	var out []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter(run)})
	if err != nil {
		return nil, err
	}
	for _, c := range cs.Items {
		out = append(out, "container "+strings.Join(c.Names, ",")+" run "+c.Labels[LabelRun])
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter(run)})
	if err != nil {
		return nil, err
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name+" run "+n.Labels[LabelRun])
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: runFilter(run)})
	if err != nil {
		return nil, err
	}
	for _, v := range vs.Items {
		out = append(out, "volume "+v.Name+" run "+v.Labels[LabelRun])
	}
	return out, nil
}

// Clean removes the containers, networks and volumes of every run whose
// controller is dead (the controller label names host and pid); a run
// whose controller still runs is left alone. With no Docker engine there
// is nothing to clean.
func Clean(ctx context.Context, report func(format string, args ...any)) error {
	cli, err := Connect(ctx)
	if err != nil {
		return nil
	}
	defer cli.Close()
	runs := map[string]string{} // run -> controller
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter("")})
	if err != nil {
		return err
	}
	for _, c := range cs.Items {
		runs[c.Labels[LabelRun]] = c.Labels[LabelController]
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter("")})
	if err != nil {
		return err
	}
	for _, n := range ns.Items {
		runs[n.Labels[LabelRun]] = n.Labels[LabelController]
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: runFilter("")})
	if err != nil {
		return err
	}
	for _, v := range vs.Items {
		runs[v.Labels[LabelRun]] = v.Labels[LabelController]
	}
	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		if ctl := runs[id]; controllerAlive(ctl) {
			report("containers run %s: its controller (%s) is alive; left alone", id, ctl)
			continue
		}
		rm, err := removeRun(ctx, cli, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("containers run %s: %v", id, err))
		}
		report("containers run %s: controller dead, removed %s", id, rm)
	}
	return errors.Join(errs...)
}
