package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/bottle-dev/bottle/backend"
)

// attachSettle is how long Run waits, once its attach streams exist, before
// releasing the agent: the node attaches to the container's output a
// moment after the streams are set up, and output before that is lost.
const attachSettle = 50 * time.Millisecond

// drainGrace is how long Run lets the attach stream deliver the last of the
// agent's output once the Pod reports the agent's end.
const drainGrace = 500 * time.Millisecond

// Run attaches to the agent's container, releases the agent, and returns
// its exit code when it ends. Cancelling ctx detaches and leaves the agent
// running.
func (b *Backend) Run(ctx context.Context, id string, streamsIO backend.IO) (int, error) {
	p, err := b.pod(ctx, id)
	if err != nil {
		return 0, err
	}
	if st, code := stateOf(p); st == backend.StateExited {
		return code, fmt.Errorf("run %s: the agent already ended (exit %d)", id, code)
	}
	started := p.Annotations[annoStarted] == "true"
	tty := p.Spec.Containers[0].TTY
	if !started {
		if err := b.markStarted(ctx, id); err != nil {
			return 0, err
		}
	}

	actx, cancelAttach := context.WithCancel(ctx)
	defer cancelAttach()
	attached := make(chan struct{})
	in := &firstRead{r: streamsIO.Stdin, ready: attached}
	if tty {
		// The node ends a terminal attach, output included, as soon as
		// its stdin closes: hold stdin open until the attach ends.
		in.hold = actx.Done()
	}
	req := b.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(b.ns).Name(id).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{
			Container: agentContainer,
			Stdin:     true,
			Stdout:    streamsIO.Stdout != nil,
			Stderr:    streamsIO.Stderr != nil && !tty,
			TTY:       tty,
		}, scheme.ParameterCodec)
	s := streams{stdin: in, stdout: streamsIO.Stdout, stderr: streamsIO.Stderr, tty: tty}
	if tty && streamsIO.Resize != nil {
		s.sizes = &sizeQueue{ctx: actx, c: streamsIO.Resize}
	}
	// attachDone closes once the stream has returned: from then on
	// nothing writes to the caller's writers, so Run never returns before.
	attachDone := make(chan struct{})
	var attachErr error
	go func() {
		_, attachErr = b.stream(actx, req.URL(), s)
		close(attachDone)
	}()
	defer func() {
		cancelAttach()
		<-attachDone
	}()

	if !started {
		select {
		case <-attached:
		case <-attachDone:
			return 0, fmt.Errorf("attach to %s: %w", id, attachErr)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		t := time.NewTimer(attachSettle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
		if err := b.release(ctx, id, "attached"); err != nil {
			return 0, err
		}
	}

	// Mirror the queue (read-write mounts) while the agent runs.
	m := newMirror(b, id, mountsOf(p))
	mctx, stopMirror := context.WithCancel(ctx)
	mirrored := make(chan struct{})
	go func() {
		m.run(mctx)
		close(mirrored)
	}()
	defer func() {
		stopMirror()
		<-mirrored
	}()

	type result struct {
		pod *corev1.Pod
		err error
	}
	ended := make(chan result, 1)
	go func() {
		p, err := b.waitPod(ctx, p, func(p *corev1.Pod) (bool, error) {
			st, _ := stateOf(p)
			return st == backend.StateExited, nil
		})
		ended <- result{p, err}
	}()
	var end result
	select {
	case <-attachDone:
		// The agent closed its output (the gate closes the container's
		// streams when the agent ends): its exit code follows.
		end = <-ended
	case end = <-ended:
		// A terminal stays open after the agent ends (the gate holds
		// it): give the stream a moment for the last output.
		t := time.NewTimer(drainGrace)
		select {
		case <-attachDone:
		case <-t.C:
		}
		t.Stop()
	}
	cancelAttach()
	<-attachDone
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if end.err != nil {
		return 0, fmt.Errorf("run %s: %w", id, end.err)
	}
	stopMirror()
	<-mirrored
	if err := m.finish(ctx, end.pod); err != nil {
		return 0, fmt.Errorf("run %s: copy the read-write mounts back: %w", id, err)
	}
	_, code := stateOf(end.pod)
	return code, nil
}

// firstRead closes ready on the first Read: remotecommand reads stdin only
// once every stream of the attach exists, which tells Run when it may
// release the agent. A nil r is an empty input. With hold set, the end of
// r (or a nil r) is reported only once hold is closed: containerd detaches
// a terminal's output when the attach's stdin closes.
type firstRead struct {
	r     io.Reader
	ready chan struct{}
	once  sync.Once
	hold  <-chan struct{}
	ended bool
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { close(f.ready) })
	if f.r != nil && !f.ended {
		n, err := f.r.Read(p)
		if !errors.Is(err, io.EOF) || f.hold == nil {
			return n, err
		}
		f.ended = true
		if n > 0 {
			return n, nil
		}
	}
	if f.hold != nil {
		<-f.hold
	}
	return 0, io.EOF
}

// sizeQueue adapts IO.Resize to remotecommand's TerminalSizeQueue.
type sizeQueue struct {
	ctx context.Context
	c   <-chan backend.TermSize
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	select {
	case s, ok := <-q.c:
		if !ok {
			return nil
		}
		return &remotecommand.TerminalSize{Width: s.Cols, Height: s.Rows}
	case <-q.ctx.Done():
		return nil
	}
}

// Logs writes what the agent printed (both streams, as the node logged
// them). With follow it streams until the agent ends: the agent's container
// outlives the agent (its gate stays for copies), so the stream is cut when
// the Pod reports the end, and whatever the cut missed is read from the
// complete log.
func (b *Backend) Logs(ctx context.Context, id string, follow bool, w io.Writer) error {
	p, err := b.pod(ctx, id)
	if err != nil {
		return err
	}
	if st, _ := stateOf(p); !follow || st == backend.StateExited {
		_, err := b.copyLogs(ctx, id, false, w, 0)
		return err
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cw := &countingWriter{w: w}
	followed := make(chan error, 1)
	go func() {
		_, err := b.copyLogs(fctx, id, true, cw, 0)
		followed <- err
	}()
	ended := make(chan error, 1)
	go func() {
		_, err := b.waitPod(fctx, p, func(p *corev1.Pod) (bool, error) {
			st, _ := stateOf(p)
			return st == backend.StateExited, nil
		})
		ended <- err
	}()
	select {
	case <-followed:
	case err := <-ended:
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("logs of %s: %w", id, err)
		}
	}
	cancel()
	<-followed
	if ctx.Err() != nil {
		return nil
	}
	_, err = b.copyLogs(ctx, id, false, w, cw.n)
	return err
}

// copyLogs copies the agent container's log to w, skipping its first skip
// bytes.
func (b *Backend) copyLogs(ctx context.Context, id string, follow bool, w io.Writer, skip int64) (int64, error) {
	rc, err := b.cs.CoreV1().Pods(b.ns).GetLogs(id, &corev1.PodLogOptions{Container: agentContainer, Follow: follow}).Stream(ctx)
	if err != nil {
		return 0, wrap(err, "logs of %s", id)
	}
	defer rc.Close()
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, rc, skip); err != nil {
			return 0, nil // nothing beyond what was written
		}
	}
	n, err := io.Copy(w, rc)
	if err != nil && ctx.Err() == nil {
		return n, fmt.Errorf("logs of %s: %w", id, err)
	}
	return n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
