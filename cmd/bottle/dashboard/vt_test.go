package dashboard

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// vtScreen is just enough of a terminal emulator to read what bubbletea
// draws on a pseudo-terminal: printable text with deferred autowrap, CR,
// LF, cursor movement, erase in line and display, and the alternate screen.
// Everything else (styles, modes, titles) is parsed and ignored.
type vtScreen struct {
	mu      sync.Mutex
	w, h    int
	cells   [][]rune
	x, y    int
	wrap    bool // a character was written in the last column
	pending []byte
	state   int
	seq     []byte
}

const (
	vtGround = iota
	vtEsc
	vtCSI
	vtString // OSC, DCS, APC: until BEL or ST
	vtStringEsc
)

func newVTScreen(w, h int) *vtScreen {
	s := &vtScreen{w: w, h: h}
	s.clear(0, 0, w, h)
	return s
}

func (s *vtScreen) clear(x0, y0, x1, y1 int) {
	if s.cells == nil {
		s.cells = make([][]rune, s.h)
		for i := range s.cells {
			s.cells[i] = make([]rune, s.w)
		}
	}
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			s.cells[y][x] = ' '
		}
	}
}

func (s *vtScreen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, p...)
	for len(s.pending) > 0 && utf8.FullRune(s.pending) {
		r, n := utf8.DecodeRune(s.pending)
		s.pending = s.pending[n:]
		s.feed(r)
	}
	return len(p), nil
}

func (s *vtScreen) feed(r rune) {
	switch s.state {
	case vtEsc:
		switch r {
		case '[':
			s.state, s.seq = vtCSI, s.seq[:0]
		case ']', 'P', '_', '^':
			s.state = vtString
		default:
			s.state = vtGround
		}
	case vtCSI:
		if r >= 0x40 && r <= 0x7e {
			s.csi(string(s.seq), r)
			s.state = vtGround
			return
		}
		s.seq = append(s.seq, byte(r))
	case vtString:
		switch r {
		case 0x07:
			s.state = vtGround
		case 0x1b:
			s.state = vtStringEsc
		}
	case vtStringEsc:
		s.state = vtGround
	default:
		s.ground(r)
	}
}

func (s *vtScreen) ground(r rune) {
	switch {
	case r == 0x1b:
		s.state = vtEsc
	case r == '\r':
		s.x, s.wrap = 0, false
	case r == '\n':
		s.lineFeed()
	case r == '\b':
		s.x, s.wrap = max(0, s.x-1), false
	case r < 0x20 || r == 0x7f:
	default:
		if s.wrap {
			s.x, s.wrap = 0, false
			s.lineFeed()
		}
		s.cells[s.y][s.x] = r
		if s.x == s.w-1 {
			s.wrap = true
		} else {
			s.x++
		}
	}
}

func (s *vtScreen) lineFeed() {
	s.wrap = false
	if s.y < s.h-1 {
		s.y++
		return
	}
	copy(s.cells, s.cells[1:])
	s.cells[s.h-1] = []rune(strings.Repeat(" ", s.w))
}

func (s *vtScreen) csi(params string, final rune) {
	private := strings.HasPrefix(params, "?")
	var ps []int
	for _, f := range strings.Split(strings.TrimLeft(params, "?>="), ";") {
		n, _ := strconv.Atoi(f)
		ps = append(ps, n)
	}
	arg := func(i, def int) int {
		if i < len(ps) && ps[i] > 0 {
			return ps[i]
		}
		return def
	}
	s.wrap = false
	switch final {
	case 'A':
		s.y -= arg(0, 1)
	case 'B':
		s.y += arg(0, 1)
	case 'C':
		s.x += arg(0, 1)
	case 'D':
		s.x -= arg(0, 1)
	case 'E':
		s.y, s.x = s.y+arg(0, 1), 0
	case 'F':
		s.y, s.x = s.y-arg(0, 1), 0
	case 'G':
		s.x = arg(0, 1) - 1
	case 'd':
		s.y = arg(0, 1) - 1
	case 'H', 'f':
		s.y, s.x = arg(0, 1)-1, arg(1, 1)-1
	case 'J':
		switch arg(0, 0) {
		case 0:
			s.clear(s.x, s.y, s.w, s.y+1)
			s.clear(0, s.y+1, s.w, s.h)
		case 1:
			s.clear(0, 0, s.w, s.y)
			s.clear(0, s.y, s.x+1, s.y+1)
		default:
			s.clear(0, 0, s.w, s.h)
		}
	case 'K':
		switch arg(0, 0) {
		case 0:
			s.clear(s.x, s.y, s.w, s.y+1)
		case 1:
			s.clear(0, s.y, s.x+1, s.y+1)
		default:
			s.clear(0, s.y, s.w, s.y+1)
		}
	case 'h', 'l':
		if private && (params == "?1049" || params == "?47" || params == "?1047") {
			s.clear(0, 0, s.w, s.h)
			s.x, s.y = 0, 0
		}
	}
	s.x = max(0, min(s.x, s.w-1))
	s.y = max(0, min(s.y, s.h-1))
}

// String is the screen's text, trailing spaces trimmed.
func (s *vtScreen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := make([]string, s.h)
	for i, row := range s.cells {
		lines[i] = strings.TrimRight(string(row), " ")
	}
	return strings.Join(lines, "\n")
}

func TestVTScreen(t *testing.T) {
	s := newVTScreen(10, 3)
	for _, chunk := range []string{
		"\x1b[?1049h\x1b[?25l\x1b]0;title\x07hello\x1b[1;31m wo",
		"rld\xe2", "\x94\x80\r\n\x1b[2Bdown", // a rune split across writes
		"\x1b[1;1Hone\x1b[K\x1b[3;3Hxy\x1b[1D\x1b[0K",
	} {
		if _, err := s.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	want := "one\nd─\ndox"
	if got := s.String(); got != want {
		t.Errorf("screen:\n%q\nwant\n%q", got, want)
	}
}
