package state

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Limits on what an agent may put in a capability request.
const (
	MaxRequestSize  = 64 << 10
	maxReasonLen    = 2000
	maxLines        = 32
	maxLineLen      = 4096
	RequestKindCapa = "capability"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// allowedInstructions are the Dockerfile instructions a request may add:
// none of them can replace the base image, pull files from outside, or change
// what the bottle runs.
var allowedInstructions = map[string]bool{
	"RUN": true, "ENV": true, "WORKDIR": true, "USER": true, "LABEL": true, "ARG": true,
}

// Request is a capability request an agent filed in its queue.
type Request struct {
	ID         string   `json:"id"`
	Kind       string   `json:"kind"`
	Reason     string   `json:"reason"`
	Dockerfile []string `json:"dockerfile"`
	// Egress is what a request of kind "egress" asks to reach:
	// host[:port] entries (request_egress.go).
	Egress    []string `json:"egress,omitempty"`
	CreatedAt string   `json:"created_at"`
}

// ParseRequest decodes and validates the bytes of a request file named
// <fileID>.json. Every error says what is wrong in words an agent can act on.
func ParseRequest(fileID string, data []byte) (*Request, error) {
	if len(data) > MaxRequestSize {
		return nil, fmt.Errorf("request is larger than %d bytes", MaxRequestSize)
	}
	var r Request
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("request is not valid JSON: %v", err)
	}
	if r.ID != fileID {
		return nil, fmt.Errorf("request id %q does not match its file name %q", truncate(r.ID, 80), fileID)
	}
	if r.Kind != RequestKindCapa && r.Kind != RequestKindEgress {
		return nil, fmt.Errorf("unknown request kind %q: the kinds are %q and %q", truncate(r.Kind, 40), RequestKindCapa, RequestKindEgress)
	}
	if strings.TrimSpace(r.Reason) == "" {
		return nil, fmt.Errorf("reason is empty: say why the capability is needed")
	}
	if len(r.Reason) > maxReasonLen {
		return nil, fmt.Errorf("reason is longer than %d bytes", maxReasonLen)
	}
	if hasControl(r.Reason, true) {
		return nil, fmt.Errorf("reason contains control characters")
	}
	if c, ok := formatChar(r.Reason); ok {
		return nil, fmt.Errorf("reason contains the invisible format character %U (a bidi control, zero-width character or similar); remove it", c)
	}
	if r.CreatedAt != "" {
		if _, err := time.Parse(time.RFC3339, r.CreatedAt); err != nil {
			return nil, fmt.Errorf("created_at %q is not an RFC 3339 time", truncate(r.CreatedAt, 40))
		}
	}
	if r.Kind == RequestKindEgress {
		return &r, checkEgress(&r)
	}
	if len(r.Egress) > 0 {
		return nil, fmt.Errorf("a capability request has no egress entries: file those with bottle-request --egress")
	}
	if len(r.Dockerfile) == 0 {
		return nil, fmt.Errorf("dockerfile is empty: give at least one line such as \"RUN apt-get install -y ffmpeg\"")
	}
	if len(r.Dockerfile) > maxLines {
		return nil, fmt.Errorf("dockerfile has %d lines; at most %d are accepted", len(r.Dockerfile), maxLines)
	}
	for i, line := range r.Dockerfile {
		if err := checkLine(line); err != nil {
			return nil, fmt.Errorf("dockerfile line %d: %v", i+1, err)
		}
	}
	return &r, nil
}

// checkLine makes sure one line is one instruction that cannot grow into
// more: no line breaks, no continuation, no heredoc, an allowed keyword.
func checkLine(line string) error {
	if len(line) > maxLineLen {
		return fmt.Errorf("longer than %d bytes", maxLineLen)
	}
	if hasControl(line, false) {
		return fmt.Errorf("contains a line break or control character; each line must be one instruction")
	}
	if c, ok := formatChar(line); ok {
		// Invisible, or reordering what follows: the operator would not
		// see what Docker builds.
		return fmt.Errorf("contains the invisible format character %U (a bidi control, zero-width character or similar); remove it", c)
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return fmt.Errorf("is empty")
	}
	if strings.HasSuffix(trimmed, "\\") || strings.HasSuffix(trimmed, "`") {
		return fmt.Errorf("ends with a line continuation")
	}
	if hasHeredoc(trimmed) {
		return fmt.Errorf("uses a heredoc (<<), which would swallow the lines after it")
	}
	word, _, _ := strings.Cut(trimmed, " ")
	kw := strings.ToUpper(word)
	if !allowedInstructions[kw] {
		return fmt.Errorf("instruction %q is not allowed; use RUN, ENV, WORKDIR, USER, LABEL or ARG", truncate(word, 20))
	}
	args := strings.TrimSpace(trimmed[len(word):])
	if args == "" {
		return fmt.Errorf("%s has no arguments", kw)
	}
	if kw == "RUN" && strings.HasPrefix(args, "--") {
		// RUN --mount, --network=host and --security=insecure reach
		// outside the image being built.
		return fmt.Errorf("RUN options such as --mount or --network are not allowed")
	}
	return checkKeys(kw, trimmed)
}

// hasHeredoc reports whether s has a run of exactly two '<' anywhere: BuildKit
// treats every such shell word as a heredoc, while a here-string (<<<) or a
// longer run is not one. Checking only the first run would let
// "RUN cat <<<x <<EOF" through.
func hasHeredoc(s string) bool {
	for i := 0; i < len(s); {
		if s[i] != '<' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '<' {
			j++
		}
		if j-i == 2 {
			return true
		}
		i = j
	}
	return false
}

func hasControl(s string, allowTab bool) bool {
	for _, r := range s {
		if r == '\t' && allowTab {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Answer is the host's reply, written as <id>.answer.json into the queue.
type Answer struct {
	ID     string `json:"id"`
	Status string `json:"status"` // approved, denied or rejected
	Reason string `json:"reason,omitempty"`
	Time   string `json:"answered_at"`
}

// Answer statuses.
const (
	AnswerApproved = "approved"
	AnswerDenied   = "denied"
	AnswerRejected = "rejected"
)
