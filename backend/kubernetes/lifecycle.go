package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/bottle-dev/bottle/backend"
)

var getOpts = metav1.GetOptions{}

var _ backend.HaltedReader = (*Backend)(nil)

// managedSelector selects every bottle resource in the namespace.
const managedSelector = backend.LabelManaged + "=true"

// Create makes the bottle's NetworkPolicy and Pod and waits until the Pod's
// containers run (the agent's waits at its gate), so that CopyIn works at
// once. An image the cluster cannot pull is an error naming it.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (backend.Instance, error) {
	name := backend.InstanceName(spec.Identity)
	if len(spec.Command) == 0 {
		return backend.Instance{}, fmt.Errorf("create %s: the kubernetes backend needs the agent's command", name)
	}
	pod, err := podFor(spec, b.remoteRef(spec.Image))
	if err != nil {
		return backend.Instance{}, fmt.Errorf("create %s: %w", name, err)
	}
	// The policy first, so that the Pod never runs without it. A policy of
	// the same name is the identity's own (a duplicate Create, or one left
	// by a crash): kept as it is.
	if _, err := b.cs.NetworkingV1().NetworkPolicies(b.ns).Create(ctx, policyFor(spec), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return backend.Instance{}, wrap(err, "create network policy %s", name)
	}
	created, err := b.cs.CoreV1().Pods(b.ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return backend.Instance{}, wrap(err, "create pod %s", name)
	}
	running, err := b.waitPod(ctx, created, func(p *corev1.Pod) (bool, error) {
		if p.Status.Phase == corev1.PodRunning && allRunning(p) {
			return true, nil
		}
		return false, startFailure(p)
	})
	if err != nil {
		return backend.Instance{}, fmt.Errorf("create %s: %w", name, err)
	}
	if err := b.fillMounts(ctx, running); err != nil {
		return backend.Instance{}, fmt.Errorf("create %s: %w", name, err)
	}
	return instanceOf(running), nil
}

func allRunning(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) < len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// startFailure turns the waiting reasons that will not resolve by
// themselves into an error.
func startFailure(p *corev1.Pod) error {
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return fmt.Errorf("pod ended before the agent started (%s: %s)", p.Status.Reason, p.Status.Message)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return fmt.Errorf("container %s cannot start: %s: %s (is the image pushed to a registry the cluster can pull from? see `registry`)", cs.Name, w.Reason, w.Message)
			}
		}
		if t := cs.State.Terminated; t != nil && cs.Name == agentContainer {
			return fmt.Errorf("container %s ended before the agent started: %s (exit %d): %s (the image needs /bin/sh and mkfifo)", cs.Name, t.Reason, t.ExitCode, t.Message)
		}
	}
	return nil
}

// waitPod watches the Pod until done says so, starting from p.
func (b *Backend) waitPod(ctx context.Context, p *corev1.Pod, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	for {
		if ok, err := done(p); ok || err != nil {
			return p, err
		}
		w, err := b.cs.CoreV1().Pods(b.ns).Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", p.Name).String(),
			ResourceVersion: p.ResourceVersion,
		})
		if err != nil {
			return nil, wrap(err, "watch pod %s", p.Name)
		}
		next, err := b.nextMatch(ctx, w, done)
		w.Stop()
		if err != nil {
			return nil, err
		}
		if next != nil {
			return next, nil
		}
		// The watch ended (server timeout, or a too old resourceVersion):
		// read the Pod afresh and watch again.
		if p, err = b.cs.CoreV1().Pods(b.ns).Get(ctx, p.Name, getOpts); err != nil {
			return nil, wrap(err, "get pod %s", p.Name)
		}
	}
}

// nextMatch reads w until done matches (that Pod), the Pod is deleted (an
// ErrNotFound), or the watch ends (nil, nil).
func (b *Backend) nextMatch(ctx context.Context, w watch.Interface, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return nil, fmt.Errorf("pod was deleted: %w", backend.ErrNotFound)
			case watch.Error:
				return nil, nil
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			if ok, err := done(p); ok || err != nil {
				return p, err
			}
		}
	}
}

// stateOf is the agent's state: the status container ends with the agent's
// exit code; before the gate is released the bottle is only created.
func stateOf(p *corev1.Pod) (backend.State, int) {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && (cs.Name == statusContainer || cs.Name == agentContainer) {
			return backend.StateExited, int(t.ExitCode)
		}
	}
	switch {
	case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
		return backend.StateExited, 255
	case p.Annotations[annoStarted] == "true":
		return backend.StateRunning, 0
	}
	return backend.StateCreated, 0
}

func instanceOf(p *corev1.Pod) backend.Instance {
	labels := labelsOf(p.ObjectMeta)
	state, code := stateOf(p)
	img := ""
	if len(p.Spec.Containers) > 0 {
		img = p.Spec.Containers[0].Image
	}
	return backend.Instance{
		ID:        p.Name,
		Name:      p.Name,
		Identity:  labels[backend.LabelIdentity],
		Bottle:    labels[backend.LabelBottle],
		Agent:     labels[backend.LabelAgent],
		Image:     img,
		State:     state,
		ExitCode:  code,
		CreatedAt: p.CreationTimestamp.Time,
		Labels:    labels,
	}
}

// pod reads a bottle's Pod; a missing one wraps ErrNotFound.
func (b *Backend) pod(ctx context.Context, id string) (*corev1.Pod, error) {
	p, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, getOpts)
	if err != nil {
		return nil, wrap(err, "pod %s in namespace %s", id, b.ns)
	}
	if p.Labels[backend.LabelManaged] != "true" {
		return nil, fmt.Errorf("pod %s in namespace %s is not a bottle: %w", id, b.ns, backend.ErrNotFound)
	}
	return p, nil
}

// Inspect returns the bottle's current state.
func (b *Backend) Inspect(ctx context.Context, id string) (backend.Instance, error) {
	p, err := b.pod(ctx, id)
	if err != nil {
		return backend.Instance{}, err
	}
	return instanceOf(p), nil
}

// List returns the bottles whose labels include all of match.
func (b *Backend) List(ctx context.Context, match map[string]string) ([]backend.Instance, error) {
	pods, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{LabelSelector: managedSelector})
	if err != nil {
		return nil, wrap(err, "list pods in namespace %s", b.ns)
	}
	var out []backend.Instance
	for i := range pods.Items {
		inst := instanceOf(&pods.Items[i])
		if containsAll(inst.Labels, match) {
			out = append(out, inst)
		}
	}
	return out, nil
}

func containsAll(labels, match map[string]string) bool {
	for k, v := range match {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Start releases the agent detached. Starting a started bottle does
// nothing.
func (b *Backend) Start(ctx context.Context, id string) error {
	p, err := b.pod(ctx, id)
	if err != nil {
		return err
	}
	if p.Annotations[annoStarted] == "true" {
		return nil
	}
	if err := b.markStarted(ctx, id); err != nil {
		return err
	}
	return b.release(ctx, id, "detached")
}

func (b *Backend) markStarted(ctx context.Context, id string) error {
	patch := []byte(`{"metadata":{"annotations":{"` + annoStarted + `":"true"}}}`)
	if _, err := b.cs.CoreV1().Pods(b.ns).Patch(ctx, id, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return wrap(err, "mark pod %s started", id)
	}
	return nil
}

func (b *Backend) release(ctx context.Context, id, how string) error {
	var stderr limitedBuffer
	code, err := b.exec(ctx, id, agentContainer, []string{"/bin/sh", "-c", releaseSh, "bottle-release", how}, streams{stderr: &stderr})
	if err != nil {
		return fmt.Errorf("start the agent in %s: %w", id, err)
	}
	if code != 0 {
		return fmt.Errorf("start the agent in %s: exit %d: %s", id, code, stderr.String())
	}
	return nil
}

// Halt ends the agent (SIGTERM, then SIGKILL after 10 s). The Pod stays,
// so that files can be copied out; Remove deletes it.
func (b *Backend) Halt(ctx context.Context, id string) error {
	p, err := b.pod(ctx, id)
	if err != nil {
		return err
	}
	if st, _ := stateOf(p); st != backend.StateRunning {
		return nil
	}
	var stderr limitedBuffer
	code, err := b.exec(ctx, id, agentContainer, []string{"/bin/sh", "-c", stopSh, "bottle-stop", "100"}, streams{stderr: &stderr})
	if err != nil {
		return fmt.Errorf("halt %s: %w", id, err)
	}
	if code != 0 {
		return fmt.Errorf("halt %s: exit %d: %s", id, code, stderr.String())
	}
	return nil
}

// ReadsHalted: the agent's container outlives the agent (its gate stays),
// so CopyOut reads a halted bottle as the agent left it, restarting nothing
// (backend.HaltedReader). An approval therefore halts the agent before its
// snapshot, as on Docker, and the snapshot sees the agent's last write whole.
func (b *Backend) ReadsHalted() bool { return true }

// Remove deletes the bottle's Pod and NetworkPolicy at once (no grace: the
// agent's files were copied out before, if they were wanted) and waits
// until the Pod is gone. A missing bottle is not an error.
func (b *Backend) Remove(ctx context.Context, id string) error {
	now := int64(0)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &now}
	perr := b.cs.CoreV1().Pods(b.ns).Delete(ctx, id, opts)
	if perr != nil && !apierrors.IsNotFound(perr) {
		return wrap(perr, "delete pod %s", id)
	}
	if err := b.cs.NetworkingV1().NetworkPolicies(b.ns).Delete(ctx, id, opts); err != nil && !apierrors.IsNotFound(err) {
		return wrap(err, "delete network policy %s", id)
	}
	if perr != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, getOpts)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "get pod %s", id)
	}
	_, err = b.waitPod(ctx, p, func(*corev1.Pod) (bool, error) { return false, nil })
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("remove %s: %w", id, err)
}

// Leftovers lists the NetworkPolicies of the namespace's bottles and the
// per-bottle images the builder keeps.
func (b *Backend) Leftovers(ctx context.Context) ([]backend.Resource, error) {
	pols, err := b.cs.NetworkingV1().NetworkPolicies(b.ns).List(ctx, metav1.ListOptions{LabelSelector: managedSelector})
	if err != nil {
		return nil, wrap(err, "list network policies in namespace %s", b.ns)
	}
	var out []backend.Resource
	for _, p := range pols.Items {
		l := labelsOf(p.ObjectMeta)
		out = append(out, backend.Resource{Kind: "networkpolicy", ID: p.Name, Name: p.Name, Identity: l[backend.LabelIdentity], Labels: l})
	}
	if b.images != nil {
		imgs, err := b.images.Leftovers(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range imgs {
			if r.Kind == "image" {
				r.Labels = maps.Clone(r.Labels)
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// RemoveResource deletes one leftover; one already gone counts as removed.
func (b *Backend) RemoveResource(ctx context.Context, r backend.Resource) error {
	switch r.Kind {
	case "networkpolicy":
		err := b.cs.NetworkingV1().NetworkPolicies(b.ns).Delete(ctx, r.ID, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return wrap(err, "delete network policy %s", r.ID)
		}
		return nil
	case "image":
		if b.images == nil {
			return fmt.Errorf("remove image %s: no image builder configured", r.Name)
		}
		return b.images.RemoveResource(ctx, r)
	case RegistryImageKind:
		return b.removeRegistryImage(ctx, r)
	}
	return fmt.Errorf("remove %s %s: the kubernetes backend has no such resource kind", r.Kind, r.Name)
}
