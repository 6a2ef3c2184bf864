package backendtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// The sizes these cases move are well past the output caps of smolvm's
// exec modes (11 MiB per stream buffered, 11 MiB in all with --stream): a
// backend must pick a transport without a cap, not merely pass small
// outputs.
const (
	// Run's stdout is `seq -s ' ' 1 bigStdoutN` (about 45 MiB) and its
	// stderr `seq -s ' ' 1 bigStderrN` (about 6.6 MiB): 51 MiB in all. One
	// long line each: Docker's json-file driver logs and reads back short
	// lines at some 20,000 a second, which would time the cases out.
	bigStdoutN = 6_000_000
	bigStderrN = 1_000_000
	// execOutN makes Exec print about 14 MiB.
	execOutN = 2_000_000
	// bigFileSize is the transcript file of the large snapshot.
	bigFileSize = 100 << 20
	// stdinDeadline bounds a run whose agent reads stdin: it must see EOF.
	stdinDeadline = 60 * time.Second
)

// digest counts and hashes a stream as it is written.
type digest struct {
	n int64
	h hash.Hash
}

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.h.Write(p)
}

func (d *digest) String() string { return fmt.Sprintf("%d bytes, sha256 %x", d.n, d.h.Sum(nil)[:6]) }

// seqDigest is what `seq -s SEP 1 n` prints (seq 1 n for '\n').
func seqDigest(n int, sep byte) *digest {
	d := newDigest()
	var b []byte
	for i := 1; i <= n; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		if i < n {
			b = append(b, sep)
		} else {
			b = append(b, '\n')
		}
		if len(b) > 64<<10 {
			d.Write(b) //nolint:errcheck // never fails
			b = b[:0]
		}
	}
	d.Write(b) //nolint:errcheck // never fails
	return d
}

func sameDigest(got, want *digest) bool {
	return got.n == want.n && bytes.Equal(got.h.Sum(nil), want.h.Sum(nil))
}

// testRunLargeOutput: an attached agent printing 51 MiB over both streams
// gets all of it through, and its own exit code.
func testRunLargeOutput(h *harness) {
	inst := h.create(h.spec("sh", "-c", fmt.Sprintf("seq -s ' ' 1 %d; seq -s ' ' 1 %d >&2; exit 3", bigStdoutN, bigStderrN)))
	out, errOut := newDigest(), newDigest()
	code, err := h.b.Run(h.ctx, inst.ID, backend.IO{Stdout: out, Stderr: errOut})
	h.must(err, "Run of an agent printing 51 MiB")
	if code != 3 {
		h.t.Errorf("exit %d, want the agent's 3", code)
	}
	if want := seqDigest(bigStdoutN, ' '); !sameDigest(out, want) {
		h.t.Errorf("stdout: %v, want %v", out, want)
	}
	if want := seqDigest(bigStderrN, ' '); !sameDigest(errOut, want) {
		h.t.Errorf("stderr: %v, want %v", errOut, want)
	}
}

// testRunStdinEOF: an agent run without stdin that reads it gets EOF at
// once instead of waiting forever.
func testRunStdinEOF(h *harness) {
	inst := h.create(h.spec("sh", "-c", `cat; echo "eof seen"`))
	ctx, cancel := context.WithTimeout(h.ctx, stdinDeadline)
	defer cancel()
	var out, errOut bytes.Buffer
	code, err := h.b.Run(ctx, inst.ID, backend.IO{Stdout: &out, Stderr: &errOut})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		h.t.Fatalf("an agent reading stdin, run without any, did not end within %v: its stdin never reached EOF", stdinDeadline)
	}
	h.must(err, "Run")
	if code != 0 || out.String() != "eof seen\n" {
		h.t.Errorf("exit %d stdout %q stderr %q; want 0 %q", code, out.String(), errOut.String(), "eof seen\n")
	}
}

// testLogsLarge: the logs of a detached agent that printed 14 MiB come
// back whole, with and without follow (one long line, as above).
func testLogsLarge(h *harness) {
	inst := h.create(h.spec("seq", "-s", " ", "1", strconv.Itoa(execOutN)))
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	followed := newDigest()
	h.must(h.b.Logs(h.ctx, inst.ID, true, followed), "Logs -f of 14 MiB")
	if got := h.waitState(inst.ID, backend.StateExited); got.ExitCode != 0 {
		h.t.Fatalf("the agent exited %d, want 0", got.ExitCode)
	}
	logs := newDigest()
	h.must(h.b.Logs(h.ctx, inst.ID, false, logs), "Logs of 14 MiB")
	want := seqDigest(execOutN, ' ')
	if !sameDigest(followed, want) || !sameDigest(logs, want) {
		h.t.Errorf("Logs -f: %v; Logs: %v; want %v", followed, logs, want)
	}
}

// bigFile is the deterministic, incompressible content of the large
// transcript file.
func bigFile() io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{'b', 'o', 't', 't', 'l', 'e'}), bigFileSize)
}

// bigTranscript streams a tar of a 100 MiB file plus a small log.
func bigTranscript() io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		err := tw.WriteHeader(&tar.Header{Name: "big.bin", Mode: 0o644, Size: bigFileSize, ModTime: mtime, Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, bigFile())
		}
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: "log.txt", Mode: 0o644, Size: 4, ModTime: mtime, Typeflag: tar.TypeReg})
		}
		if err == nil {
			_, err = io.WriteString(tw, "one\n")
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// testTranscriptLarge: a 100 MiB transcript goes in, the agent adds to it,
// and the snapshot of the stopped bottle brings every byte back.
func testTranscriptLarge(h *harness) {
	const dir = "/home/agent/.big"
	inst := h.create(h.spec("sh", "-c", `echo two >> /home/agent/.big/log.txt`))
	h.must(h.b.CopyIn(h.ctx, inst.ID, dir, bigTranscript(), nil), "CopyIn of a 100 MiB transcript")
	if code, out, errOut := h.run(inst.ID, ""); code != 0 {
		h.t.Fatalf("agent run: exit %d stdout %q stderr %q", code, out, errOut)
	}

	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		err := h.b.CopyOut(h.ctx, inst.ID, dir, pw)
		pw.CloseWithError(err)
		copied <- err
	}()
	want := newDigest()
	io.Copy(want, bigFile()) //nolint:errcheck // never fails
	got := map[string]string{}
	tr := tar.NewReader(pr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			io.Copy(io.Discard, pr) //nolint:errcheck // let CopyOut end
			h.t.Fatalf("read the snapshot: %v (CopyOut: %v)", err, <-copied)
		}
		if hdr.Name == "big.bin" {
			d := newDigest()
			io.Copy(d, tr) //nolint:errcheck // a short copy shows in the digest
			if !sameDigest(d, want) {
				h.t.Errorf("snapshot's big.bin: %v, want %v", d, want)
			}
			got[hdr.Name] = "checked"
			continue
		}
		var b strings.Builder
		io.Copy(&b, tr) //nolint:errcheck // a short copy shows in the content
		got[hdr.Name] = b.String()
	}
	h.must(<-copied, "CopyOut of a 100 MiB transcript")
	if got["big.bin"] != "checked" || got["log.txt"] != "one\ntwo\n" || len(got) != 2 {
		h.t.Errorf("snapshot entries %q, want big.bin and log.txt %q", got, "one\ntwo\n")
	}
}
