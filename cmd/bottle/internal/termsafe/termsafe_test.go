package termsafe

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, ünïcode ✓ 漢字", "plain text, ünïcode ✓ 漢字"},
		{"RUN printf 'a\\nb'", "RUN printf 'a\\nb'"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b]52;c;ZXZpbA==\x1b\\", `\x1b]52;c;ZXZpbA==\x1b\`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\u009b31m C1 CSI", `\u009b31m C1 CSI`},
		{"abc\u202efed", `abc\u202efed`},
		{"\u2066x\u2069", `\u2066x\u2069`},
		{"ff\u200bmpeg\u200d\ufeff", `ff\u200bmpeg\u200d\ufeff`},
		{"a\u00a0b\u3000c", `a\u00a0b\u3000c`},
		{"a\u2028b", `a\u2028b`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"private\ue000", `private\ue000`},
		{"bad\xffutf8\xc0", `bad\xffutf8\xc0`},
		{"del\x7f", `del\x7f`},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLinesKeepsLineBreaksAndTabs(t *testing.T) {
	got := Lines("error: build failed:\n\tstep 2: \x1b]0;x\x07\u202eok")
	want := "error: build failed:\n\tstep 2: \\x1b]0;x\\x07\\u202eok"
	if got != want {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}

func TestOutputDropsColoursOnly(t *testing.T) {
	got := Output("\x1b[1;32mok\x1b[0m\tdone \x1b]8;;http://x\x07link\x1b[?1049h \u202e")
	want := "ok\tdone \\x1b]8;;http://x\\x07link\\x1b[?1049h \\u202e"
	if got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
}

// Whatever the input, what is written holds no control, format or invalid
// character, and nothing is lost: every rune of the input is in the output
// either as itself or as its escape.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "abc", "\x1b[31mred", "\u202e", "\xff\xfe", "a\u200bb", "\U000e0041", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"String": String(s), "Output": Output(s), "Lines": Lines(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("%s(%q) = %q: invalid UTF-8", name, s, out)
			}
			for _, r := range out {
				if r == '\t' && name != "String" || r == '\n' && name == "Lines" {
					continue
				}
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
					t.Fatalf("%s(%q) = %q: writes %U", name, s, out, r)
				}
			}
		}
		if strings.ContainsRune(s, '\x1b') && !strings.Contains(String(s), `\x1b`) {
			t.Fatalf("String(%q) lost an ESC", s)
		}
	})
}
