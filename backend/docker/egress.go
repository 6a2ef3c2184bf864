package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
)

// proxyReadyTimeout bounds how long a launch waits for its proxy to take
// the policy and serve.
const proxyReadyTimeout = 30 * time.Second

// proxyPids bounds the proxy's processes: one Go process and its threads.
const proxyPids = 512

// proxyLabels are the labels of a proxy container: the bottle's, without
// backend.LabelManaged (it is not a bottle) and with LabelProxy.
func proxyLabels(labels map[string]string) map[string]string {
	l := maps.Clone(labels)
	delete(l, backend.LabelManaged)
	l[LabelProxy] = "egress"
	return l
}

// startProxy runs the egress proxy of spec's identity: a container on an
// outbound network of its own, attached to the bottle's internal network
// under its name, that gets the policy over its attach stream (never in
// its config) and must report ready before the bottle is created. Any
// failure leaves the bottle without a way out, and the launch fails.
// bottleNetReady waits for the bottle's network, made beside the proxy's
// own first steps.
func (b *Backend) startProxy(ctx context.Context, spec backend.Spec, bottleNet string, labels map[string]string, bottleNetReady func() error) error {
	name := backend.ProxyName(spec.Identity)
	// The image check and the outbound network are independent.
	var img string
	imgErr := make(chan error, 1)
	go func() {
		var err error
		img, err = b.proxyImage(ctx, b.proxyBin)
		imgErr <- err
	}()
	_, nerr := b.ensureNetwork(ctx, name, false, labels)
	if err := <-imgErr; err != nil {
		return err
	}
	if nerr != nil {
		return nerr
	}
	cfg := &container.Config{
		Image: img, Labels: proxyLabels(labels),
		OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
	}
	pids := int64(proxyPids)
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(name),
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges:true"},
		ReadonlyRootfs: true,
		ExtraHosts:     b.proxyHosts,
		Resources:      container.Resources{PidsLimit: &pids},
	}
	resp, err := b.c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if isNotFound(err) {
		// gc (of any home: the image is shared) removed the image between
		// its check and this create: build it again, once.
		if cfg.Image, err = b.proxyImage(ctx, b.proxyBin); err != nil {
			return err
		}
		resp, err = b.c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	}
	if isConflict(err) {
		// A proxy left by an earlier launch of this identity (a resume
		// after a crash): replace it, so that it gets this launch's policy.
		if rerr := b.removeProxy(ctx, spec.Identity); rerr != nil {
			return rerr
		}
		resp, err = b.c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	}
	if err != nil {
		return wrap(err, "create egress proxy %s", name)
	}
	if err := bottleNetReady(); err != nil {
		return err
	}
	if err := b.c.NetworkConnect(ctx, bottleNet, resp.ID, &network.EndpointSettings{Aliases: []string{name}}); err != nil {
		return wrap(err, "attach egress proxy %s to %s", name, bottleNet)
	}
	policy := spec.Egress.Policy
	if policy.RootCAs == "" {
		policy.RootCAs = b.proxyCAs
	}
	body, err := json.Marshal(policy)
	if err != nil {
		return fmt.Errorf("egress policy of %s: %w", spec.Identity, err)
	}
	return b.handOver(ctx, resp.ID, name, body)
}

// handOver starts the proxy, writes the policy to its stdin, closes it and
// waits for the ready event on its stdout.
func (b *Backend) handOver(ctx context.Context, id, name string, policy []byte) error {
	ctx, cancel := context.WithTimeout(ctx, proxyReadyTimeout)
	defer cancel()
	hj, err := b.c.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return wrap(err, "attach egress proxy %s", name)
	}
	defer hj.Close()
	if err := b.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return wrap(err, "start egress proxy %s", name)
	}
	if _, err := hj.Conn.Write(policy); err != nil {
		return fmt.Errorf("hand the policy to egress proxy %s: %w", name, err)
	}
	if err := hj.CloseWrite(); err != nil {
		return fmt.Errorf("hand the policy to egress proxy %s: %w", name, err)
	}
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	go func() {
		_, err := stdcopy.StdCopy(pw, &limitedWriter{w: &stderr, n: 4096}, hj.Reader)
		pw.CloseWithError(err)
	}()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"event":"egress_ready"`) {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if ok {
			return nil
		}
		hj.Close()
		return fmt.Errorf("egress proxy %s stopped before serving: %s", name, strings.TrimSpace(stderr.String()))
	case <-ctx.Done():
		hj.Close()
		return fmt.Errorf("egress proxy %s did not report ready: %w", name, ctx.Err())
	}
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// removeProxy removes the identity's proxy container and its outbound
// network; either already gone counts as removed.
func (b *Backend) removeProxy(ctx context.Context, identity string) error {
	name := backend.ProxyName(identity)
	info, err := b.c.ContainerInspect(ctx, name)
	switch {
	case isNotFound(err):
	case err != nil:
		return wrap(err, "remove egress proxy %s", name)
	case info.Config != nil && info.Config.Labels[LabelProxy] == "egress" && info.Config.Labels[backend.LabelIdentity] == identity:
		if err := b.c.ContainerRemove(ctx, info.ID, container.RemoveOptions{Force: true}); err != nil && !isNotFound(err) {
			if !isConflict(err) {
				return wrap(err, "remove egress proxy %s", name)
			}
			if err := b.waitRemoved(ctx, info.ID); err != nil {
				return wrap(err, "remove egress proxy %s", name)
			}
		}
	}
	return b.removeNetwork(ctx, name)
}

// Grant adds rules to the running proxy of identity
// (backend.EgressEnforcer): it runs the proxy binary's grant command
// inside the proxy container, which reaches the proxy's control port on
// its own loopback.
func (b *Backend) Grant(ctx context.Context, identity string, rules []egress.Rule) error {
	argv := []string{proxyBinaryPath, "egress-proxy", "grant"}
	for _, r := range rules {
		argv = append(argv, r.String())
	}
	var out bytes.Buffer
	code, err := b.Exec(ctx, backend.ProxyName(identity), backend.ExecSpec{Argv: argv, Stdout: &out, Stderr: &limitedWriter{w: &out, n: 4096}})
	if err != nil {
		return fmt.Errorf("grant egress to %s: %w", identity, err)
	}
	if code != 0 {
		return fmt.Errorf("grant egress to %s: %s", identity, strings.TrimSpace(out.String()))
	}
	return nil
}

// EgressLog writes the proxy's report of identity (JSON lines: denials,
// allowed counts, grants) to w (backend.EgressEnforcer).
func (b *Backend) EgressLog(ctx context.Context, identity string, w io.Writer) error {
	name := backend.ProxyName(identity)
	rc, err := b.c.ContainerLogs(ctx, name, container.LogsOptions{ShowStdout: true})
	if err != nil {
		return wrap(err, "egress log of %s", identity)
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(&limitedWriter{w: w, n: maxEgressLog}, io.Discard, rc)
	return err
}

// maxEgressLog bounds the report read from a proxy: its lines name hosts
// the agent chose.
const maxEgressLog = 16 << 20

// proxyLeftovers lists the egress proxy containers, with the identity each
// serves, for Leftovers: gc removes those whose identity has no state.
func (b *Backend) proxyLeftovers(ctx context.Context) ([]backend.Resource, error) {
	f := filters.NewArgs(filters.Arg("label", LabelProxy+"=egress"), filters.Arg("label", backend.LabelIdentity))
	cs, err := b.c.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, wrap(err, "list egress proxies")
	}
	var out []backend.Resource
	for _, c := range cs {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, backend.Resource{Kind: "container", ID: c.ID, Name: name, Identity: c.Labels[backend.LabelIdentity], Labels: c.Labels})
	}
	return out, nil
}

// CloseEgress stops the proxy of identity (SIGTERM: it reports its last
// counts) and writes its report to w (backend.EgressEnforcer).
func (b *Backend) CloseEgress(ctx context.Context, identity string, w io.Writer) error {
	name := backend.ProxyName(identity)
	secs := int(stopTimeout / time.Second)
	if err := b.c.ContainerStop(ctx, name, container.StopOptions{Timeout: &secs}); err != nil {
		return wrap(err, "stop egress proxy %s", name)
	}
	return b.EgressLog(ctx, identity, w)
}
