package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/bottle-dev/bottle/backend"
)

// streams are the three standard streams of an exec or attach.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool
	sizes          remotecommand.TerminalSizeQueue
}

// exec runs argv in a container of the Pod id over SPDY and returns its
// exit code.
func (b *Backend) exec(ctx context.Context, id, container string, argv []string, s streams) (int, error) {
	req := b.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(b.ns).Name(id).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   argv,
			Stdin:     s.stdin != nil,
			Stdout:    s.stdout != nil,
			Stderr:    s.stderr != nil && !s.tty,
			TTY:       s.tty,
		}, scheme.ParameterCodec)
	return b.stream(ctx, req.URL(), s)
}

// stream runs one exec or attach request and returns the process's exit
// code (0 for an attach, which has none).
func (b *Backend) stream(ctx context.Context, u *url.URL, s streams) (int, error) {
	ex, err := remotecommand.NewSPDYExecutor(b.cfg, "POST", u)
	if err != nil {
		return 0, fmt.Errorf("stream to %s: %w", b.host, err)
	}
	// A cancelled stream returns before remotecommand's copy goroutines
	// end: the fences keep them from writing to the caller's writers once
	// stream has returned.
	opts := remotecommand.StreamOptions{Stdin: s.stdin, Tty: s.tty, TerminalSizeQueue: s.sizes}
	if s.stdout != nil {
		f := &fence{w: s.stdout}
		defer f.close()
		opts.Stdout = f
	}
	if s.stderr != nil && !s.tty {
		f := &fence{w: s.stderr}
		defer f.close()
		opts.Stderr = f
	}
	err = ex.StreamWithContext(ctx, opts)
	var exit utilexec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		return exit.ExitStatus(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("stream: %w", err)
	}
	return 0, nil
}

// Exec runs a command beside the agent. Kubernetes exec has no environment
// or working directory of its own, so a shell sets them up (the image needs
// sh and env). A bottle whose agent ended refuses, as a stopped container
// does.
func (b *Backend) Exec(ctx context.Context, id string, spec backend.ExecSpec) (int, error) {
	p, err := b.pod(ctx, id)
	if err != nil {
		return 0, err
	}
	if st, _ := stateOf(p); st == backend.StateExited {
		return 0, fmt.Errorf("exec in %s: the agent has ended; the bottle is not running", id)
	}
	argv := append([]string{"/bin/sh", "-c", execSh, "bottle-exec", spec.Workdir}, spec.Env...)
	argv = append(argv, spec.Argv...)
	return b.exec(ctx, id, agentContainer, argv, streams{stdin: spec.Stdin, stdout: spec.Stdout, stderr: spec.Stderr})
}

// limitedBuffer keeps the first 64 KiB written to it (error messages from
// helper scripts), discarding the rest.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 64<<10 - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fence passes writes on to w until it is closed; close waits for a write
// in progress, and later writes fail.
type fence struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (f *fence) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, io.ErrClosedPipe
	}
	return f.w.Write(p)
}

func (f *fence) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}
