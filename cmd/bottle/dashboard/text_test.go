package dashboard

import (
	"slices"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		s    string
		w    int
		want []string
	}{
		{"hello world this is a test", 10, []string{"hello", "world this", "is a test"}},
		{"supercalifragilistic word", 8, []string{"supercal", "ifragili", "stic", "word"}},
		{"  a   b  c  ", 3, []string{"a b", "c"}},
		{"reason: need-to-install it", 12, []string{"reason:", "need-to-", "install it"}},
		{"日本語の ok", 4, []string{"日本", "語の", "ok"}},
		{"", 5, nil},
		{"x", 0, nil},
	} {
		got := wrap(c.s, c.w)
		if !slices.Equal(got, c.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
		for _, l := range got {
			if ansi.StringWidth(l) > c.w {
				t.Errorf("wrap(%q, %d): line %q is wider than %d", c.s, c.w, l, c.w)
			}
		}
	}
}

func TestHardWrap(t *testing.T) {
	for _, c := range []struct {
		s    string
		w    int
		want []string
	}{
		{"hello world", 4, []string{"hell", "o wo", "rld"}},
		{"  indented", 4, []string{"  in", "dent", "ed"}},
		{"short", 10, []string{"short"}},
		{"", 10, []string{""}},
		{"日本語", 1, []string{"日", "本", "語"}},
	} {
		if got := hardWrap(c.s, c.w); !slices.Equal(got, c.want) {
			t.Errorf("hardWrap(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
	}
}
