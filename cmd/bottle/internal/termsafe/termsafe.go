// Package termsafe renders text that a bottle could have written (request
// ids and file names from its queue, reasons, Dockerfile lines, audit
// details, its output, errors that quote any of these) so that it can be
// printed on the operator's terminal without acting on it.
//
// The agent is hostile: an escape sequence could retitle the window, move the
// cursor over what the operator reads, or write the clipboard (OSC 52); a
// bidi override or a zero-width character makes a line read differently from
// its bytes. So every C0 and C1 control, DEL, Unicode format character
// (category Cf: bidi overrides and isolates, zero-width spaces and joiners,
// the BOM…), line and paragraph separator, space other than U+0020,
// unassigned or private-use code point and invalid UTF-8 byte is shown as a
// visible escape (\x1b, \u202e, \xff) instead of being written.
//
// Every place in cmd/bottle and its dashboard that prints such text goes
// through this package; it imports nothing of bottle.
package termsafe

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String renders s as one line: line breaks and tabs are escaped too.
func String(s string) string {
	return render(s, false)
}

// Lines renders s keeping its line breaks ("\n") and tabs, which are safe to
// print; everything else is rendered as String does. It suits multi-line
// messages such as errors.
func Lines(s string) string {
	return render(s, true)
}

// sgr matches a Select Graphic Rendition sequence (colours, bold): harmless,
// and so common in agents' output that showing each one would bury the text.
var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

// Output renders one line of an agent's terminal output: colour and style
// sequences (SGR) are dropped, tabs kept, and everything else rendered as
// String does, so no other sequence reaches the terminal.
func Output(s string) string {
	return render(sgr.ReplaceAllString(s, ""), false, '\t')
}

// render escapes what String describes; keep lists the runes written as they
// are, and lines keeps "\n" and "\t".
func render(s string, lines bool, keep ...rune) string {
	if lines {
		keep = append(keep, '\n', '\t')
	}
	if safe(s, keep) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case visible(r) || containsRune(keep, r):
			b.WriteString(s[i : i+n])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// safe reports whether s prints as it is (the common case: no copy).
func safe(s string, keep []rune) bool {
	for _, r := range s {
		if r == utf8.RuneError || (!visible(r) && !containsRune(keep, r)) {
			return false
		}
	}
	return true
}

// visible reports whether r is drawn as itself: a graphic character (letter,
// mark, number, punctuation, symbol) or the ASCII space. Other spaces are
// escaped because they pass for one while being a different byte sequence.
func visible(r rune) bool {
	if r == ' ' {
		return true
	}
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) {
		return false
	}
	return unicode.IsGraphic(r) && !unicode.Is(unicode.Zs, r) && !unicode.Is(unicode.Co, r)
}

func containsRune(rs []rune, r rune) bool {
	for _, k := range rs {
		if k == r {
			return true
		}
	}
	return false
}
