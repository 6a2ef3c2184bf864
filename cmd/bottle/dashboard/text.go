package dashboard

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
)

// clean makes one line of untrusted output (the agent's, an error that may
// quote it) safe to put on the screen: colours are dropped and every other
// escape sequence, control, bidi or zero-width character is shown escaped
// (termsafe.Output), so the agent can never move the cursor, restyle the
// dashboard or reorder what the operator reads; a carriage return keeps what
// a terminal would show.
func clean(s string) string {
	s = strings.TrimRight(s, "\r")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ReplaceAll(termsafe.Output(s), "\t", " ")
}

// field renders one request field (id, reason, Dockerfile line) with every
// control and format character escaped: nothing of it is dropped, so what is
// shown is byte for byte what an approval builds.
func field(s string) string {
	return termsafe.String(s)
}

// cleanLines applies clean to every line.
func cleanLines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = clean(l)
	}
	return out
}

// fit truncates s to w cells, marking a cut with an ellipsis.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

// pad fits s to exactly w cells.
func pad(s string, w int) string {
	s = fit(s, w)
	return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
}

// wrap breaks one line of text into lines of at most w cells, at spaces and
// hyphens where it can (ansi.Wrap); runs of spaces count as one, and no line
// starts or ends with a space.
func wrap(s string, w int) []string {
	s = strings.Join(strings.Fields(s), " ")
	if w <= 0 || s == "" {
		return nil
	}
	return nonEmptyLines(ansi.Wrap(s, w, ""), true)
}

// hardWrap cuts one line into pieces of w cells (for log lines, where spaces
// are not special and are kept).
func hardWrap(s string, w int) []string {
	if w <= 0 || ansi.StringWidth(s) <= w {
		return []string{s}
	}
	return nonEmptyLines(ansi.Hardwrap(s, w, true), false)
}

// nonEmptyLines splits wrapped text into its lines, dropping the empty line
// ansi's wrappers emit before a rune wider than the limit.
func nonEmptyLines(s string, trim bool) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if trim {
			l = strings.TrimRight(l, " ")
		}
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// statusLines lays the status line out in at most maxLines lines of w cells.
// A long status splits after its first ": " before anywhere else, so that a
// hint such as "resume with bottle resume ID" stays whole on one line.
func statusLines(s string, w, maxLines int) []string {
	if ansi.StringWidth(s) <= w {
		return []string{s}
	}
	var lines []string
	if head, tail, ok := strings.Cut(s, ": "); ok && ansi.StringWidth(head)+1 <= w {
		lines = []string{head + ":"}
		for _, l := range wrap(tail, w-2) {
			lines = append(lines, "  "+l)
		}
	} else {
		lines = wrap(s, w)
	}
	for i := range lines {
		lines[i] = fit(lines[i], w)
	}
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] = fit(lines[maxLines-1]+" …", w)
	}
	return lines
}

// age is a short duration for the table: 42s, 5m, 3h, 12d.
func age(since, now time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := now.Sub(since)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// formatDetails renders audit details as " k=v" pairs in key order, with
// multi-line values (approved Dockerfile lines) joined by "; ".
func formatDetails(d map[string]string) string {
	ks := make([]string, 0, len(d))
	for k := range d {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		v := strings.Join(strings.Split(strings.TrimSpace(d[k]), "\n"), "; ")
		if strings.ContainsRune(v, ' ') {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return clean(b.String())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
