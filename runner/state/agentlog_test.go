package state

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// However much is written, agent.log and its one rotated part stay within
// twice the cap, and the newest output is kept in order.
func TestAgentLogIsCapped(t *testing.T) {
	_, d := newDir(t)
	const max = 1000
	l, err := d.OpenAgentLog(max)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder // everything written
	for i := range 500 {
		line := strings.Repeat(string(rune('a'+i%26)), 37) + "\n"
		all.WriteString(line)
		if n, err := l.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		for _, name := range []string{AgentLogFile, agentLogOld} {
			if fi, err := os.Stat(d.Join(name)); err == nil && fi.Size() > max {
				t.Fatalf("%s is %d bytes, cap %d", name, fi.Size(), max)
			}
		}
	}
	var got bytes.Buffer
	if err := d.ReadAgentLog(&got); err != nil {
		t.Fatal(err)
	}
	if got.Len() < max || got.Len() > 2*max || !strings.HasSuffix(all.String(), got.String()) {
		t.Errorf("kept %d bytes, not the tail of what was written:\n%q", got.Len(), got.String())
	}
	// One write larger than the cap keeps its last max bytes.
	big := strings.Repeat("x", 3*max) + "END\n"
	if _, err := l.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if cur, _ := os.ReadFile(d.Join(AgentLogFile)); string(cur) != big[len(big)-max:] {
		t.Errorf("after a write past the cap agent.log holds %d bytes", len(cur))
	}
	// Reopening appends to what is there, still within the cap.
	l, err = d.OpenAgentLog(max)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write([]byte("more\n")); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if fi, err := os.Stat(d.Join(AgentLogFile)); err != nil || fi.Size() > max {
		t.Errorf("after reopening: %v, %v", fi, err)
	}
}

func TestReadAgentLogMissing(t *testing.T) {
	_, d := newDir(t)
	if err := d.ReadAgentLog(&bytes.Buffer{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadAgentLog = %v, want ErrNotExist", err)
	}
}
