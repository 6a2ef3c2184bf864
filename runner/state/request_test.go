package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// requestJSON encodes a request from a valid base with fields overridden
// (a nil value deletes the field).
func requestJSON(t testing.TB, override map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"id":         "req-1",
		"kind":       "capability",
		"reason":     "need ffmpeg",
		"dockerfile": []string{"RUN apt-get install -y ffmpeg"},
		"created_at": "2025-01-02T03:04:05Z",
	}
	for k, v := range override {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	// No HTML escaping, so that "<<" stays readable in the fuzz corpus.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestParseRequestValid(t *testing.T) {
	r, err := ParseRequest("req-1", requestJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Request{
		ID:         "req-1",
		Kind:       RequestKindCapa,
		Reason:     "need ffmpeg",
		Dockerfile: []string{"RUN apt-get install -y ffmpeg"},
		CreatedAt:  "2025-01-02T03:04:05Z",
	}
	if r.ID != want.ID || r.Kind != want.Kind || r.Reason != want.Reason || r.CreatedAt != want.CreatedAt || !slices.Equal(r.Dockerfile, want.Dockerfile) {
		t.Errorf("ParseRequest = %+v, want %+v", r, want)
	}
}

func TestParseRequestAccepts(t *testing.T) {
	maxLinesOK := make([]string, maxLines)
	for i := range maxLinesOK {
		maxLinesOK[i] = fmt.Sprintf("RUN echo %d", i)
	}
	tests := []struct {
		name     string
		override map[string]any
	}{
		{"lowercase run", map[string]any{"dockerfile": []string{"run apt-get install -y ffmpeg"}}},
		{"mixed case", map[string]any{"dockerfile": []string{"Run echo hi"}}},
		{"every allowed instruction", map[string]any{"dockerfile": []string{
			"RUN apt-get update", "ENV A=1", "WORKDIR /x", "USER agent", "LABEL a=b", "ARG V=1",
		}}},
		{"leading and trailing spaces", map[string]any{"dockerfile": []string{"   RUN echo hi   "}}},
		{"exec form", map[string]any{"dockerfile": []string{`RUN ["apt-get", "install", "-y", "ffmpeg"]`}}},
		{"here-string is not a heredoc", map[string]any{"dockerfile": []string{"RUN cat <<< hello"}}},
		{"shell redirections", map[string]any{"dockerfile": []string{"RUN echo a > /tmp/x && cat < /tmp/x"}}},
		{"backslash inside the line", map[string]any{"dockerfile": []string{`RUN printf 'a\nb' | tr '\\' x`}}},
		{"no created_at", map[string]any{"created_at": nil}},
		{"created_at with offset", map[string]any{"created_at": "2025-01-02T03:04:05+02:00"}},
		{"reason with a tab", map[string]any{"reason": "need\tffmpeg"}},
		{"reason with unicode", map[string]any{"reason": "brauche ffmpeg für Videos"}},
		{"reason at the limit", map[string]any{"reason": strings.Repeat("r", maxReasonLen)}},
		{"line at the limit", map[string]any{"dockerfile": []string{"RUN " + strings.Repeat("x", maxLineLen-4)}}},
		{"max lines", map[string]any{"dockerfile": maxLinesOK}},
		{"unknown fields ignored", map[string]any{"extra": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseRequest("req-1", requestJSON(t, tt.override)); err != nil {
				t.Errorf("ParseRequest: %v", err)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	tooMany := make([]string, maxLines+1)
	for i := range tooMany {
		tooMany[i] = "RUN true"
	}
	line := func(l ...string) map[string]any { return map[string]any{"dockerfile": l} }
	tests := []struct {
		name     string
		fileID   string // "" = req-1
		data     []byte // nil = requestJSON(override)
		override map[string]any
		want     string // substring of the error
	}{
		{name: "oversized", data: requestJSON(t, map[string]any{"pad": strings.Repeat("x", MaxRequestSize)}), want: "larger than"},
		{name: "invalid JSON", data: []byte(`{"id":"req-1",`), want: "not valid JSON"},
		{name: "empty file", data: []byte{}, want: "not valid JSON"},
		{name: "JSON array", data: []byte(`["RUN x"]`), want: "not valid JSON"},
		{name: "dockerfile is a string", override: map[string]any{"dockerfile": "RUN x"}, want: "not valid JSON"},
		{name: "JSON null", data: []byte(`null`), want: "does not match"},
		{name: "id mismatch", fileID: "req-2", want: `"req-1" does not match its file name "req-2"`},
		{name: "id missing", override: map[string]any{"id": nil}, want: "does not match"},
		{name: "unknown kind", override: map[string]any{"kind": "root"}, want: `unknown request kind "root"`},
		{name: "missing kind", override: map[string]any{"kind": nil}, want: "unknown request kind"},
		{name: "kind case", override: map[string]any{"kind": "Capability"}, want: "unknown request kind"},
		{name: "empty reason", override: map[string]any{"reason": ""}, want: "reason is empty"},
		{name: "blank reason", override: map[string]any{"reason": " \t "}, want: "reason is empty"},
		{name: "reason too long", override: map[string]any{"reason": strings.Repeat("r", maxReasonLen+1)}, want: "reason is longer"},
		{name: "reason with newline", override: map[string]any{"reason": "need\nffmpeg"}, want: "control characters"},
		{name: "reason with escape sequence", override: map[string]any{"reason": "need \x1b[2J ffmpeg"}, want: "control characters"},
		{name: "reason with invalid UTF-8", data: []byte("{\"id\":\"req-1\",\"kind\":\"capability\",\"reason\":\"a\xffb\",\"dockerfile\":[\"RUN x\"]}"), want: "control characters"},
		{name: "bad created_at", override: map[string]any{"created_at": "yesterday"}, want: "RFC 3339"},
		{name: "created_at without zone", override: map[string]any{"created_at": "2025-01-02T03:04:05"}, want: "RFC 3339"},
		{name: "empty dockerfile", override: line(), want: "dockerfile is empty"},
		{name: "missing dockerfile", override: map[string]any{"dockerfile": nil}, want: "dockerfile is empty"},
		{name: "too many lines", override: map[string]any{"dockerfile": tooMany}, want: "at most 32"},
		{name: "line too long", override: line("RUN " + strings.Repeat("x", maxLineLen)), want: "longer than"},
		{name: "empty line", override: line("RUN x", ""), want: "line 2: is empty"},
		{name: "blank line", override: line("   "), want: "is empty"},
		{name: "FROM", override: line("FROM evil:latest"), want: `instruction "FROM" is not allowed`},
		{name: "lowercase from", override: line("from evil"), want: "not allowed"},
		{name: "COPY", override: line("COPY / /host"), want: `"COPY"`},
		{name: "ADD", override: line("ADD https://evil.example/x /x"), want: `"ADD"`},
		{name: "ONBUILD", override: line("ONBUILD RUN curl evil"), want: `"ONBUILD"`},
		{name: "CMD", override: line("CMD [\"sh\"]"), want: `"CMD"`},
		{name: "ENTRYPOINT", override: line("ENTRYPOINT sh"), want: "not allowed"},
		{name: "SHELL", override: line(`SHELL ["/bin/evil"]`), want: "not allowed"},
		{name: "VOLUME", override: line("VOLUME /x"), want: "not allowed"},
		{name: "comment", override: line("# a comment"), want: "not allowed"},
		{name: "escape directive", override: line("# escape=`"), want: "line continuation"},
		{name: "keyword glued to argument", override: line("RUN\u00a0echo"), want: "not allowed"},
		{name: "no arguments", override: line("RUN"), want: "RUN has no arguments"},
		{name: "only spaces after keyword", override: line("ENV    "), want: "has no arguments"},
		{name: "newline smuggling FROM", override: line("RUN true\nFROM evil"), want: "line break"},
		{name: "newline at the end", override: line("RUN true\n"), want: "line break"},
		{name: "carriage return", override: line("RUN true\rFROM evil"), want: "line break"},
		{name: "tab", override: line("RUN\ttrue"), want: "control character"},
		{name: "NUL", override: line("RUN true\x00"), want: "control character"},
		{name: "vertical tab", override: line("RUN true\vFROM evil"), want: "control character"},
		{name: "form feed", override: line("RUN true\fFROM evil"), want: "control character"},
		{name: "next line U+0085", override: line("RUN true\u0085FROM evil"), want: "control character"},
		{name: "line separator U+2028", override: line("RUN true\u2028FROM evil"), want: "control character"},
		{name: "paragraph separator U+2029", override: line("RUN true\u2029FROM evil"), want: "control character"},
		{name: "invalid UTF-8 in a line", data: []byte("{\"id\":\"req-1\",\"kind\":\"capability\",\"reason\":\"r\",\"dockerfile\":[\"RUN a\xc0b\"]}"), want: "control character"},
		{name: "trailing backslash", override: line(`RUN apt-get install \`, "FROM evil"), want: "line 1: ends with a line continuation"},
		{name: "trailing backslash and spaces", override: line(`RUN true \   `), want: "line continuation"},
		{name: "trailing backslash and no-break space", override: line("RUN true \\\u00a0"), want: "line continuation"},
		{name: "trailing backtick", override: line("RUN true `"), want: "line continuation"},
		{name: "lone backslash", override: line(`\`), want: "line continuation"},
		{name: "heredoc", override: line("RUN <<EOF", "FROM evil", "EOF"), want: "heredoc"},
		{name: "heredoc with dash", override: line("RUN cat <<-EOF"), want: "heredoc"},
		{name: "heredoc with fd", override: line("RUN cat 3<<EOF"), want: "heredoc"},
		{name: "heredoc quoted", override: line(`RUN cat <<"EOF"`), want: "heredoc"},
		{name: "heredoc after a here-string", override: line("RUN cat <<<x <<EOF", "USER root", "EOF"), want: "heredoc"},
		{name: "heredoc after a long run of <", override: line("RUN echo <<<<<x && cat <<EOF"), want: "heredoc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileID := tt.fileID
			if fileID == "" {
				fileID = "req-1"
			}
			data := tt.data
			if data == nil {
				data = requestJSON(t, tt.override)
			}
			r, err := ParseRequest(fileID, data)
			if err == nil {
				t.Fatalf("ParseRequest accepted %s: %+v", data, r)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseRequestSizeLimit(t *testing.T) {
	// Exactly MaxRequestSize bytes (padded with JSON whitespace) is read.
	data := requestJSON(t, nil)
	data = append(data, []byte(strings.Repeat(" ", MaxRequestSize-len(data)))...)
	if _, err := ParseRequest("req-1", data); err != nil {
		t.Errorf("request of exactly MaxRequestSize: %v", err)
	}
	if _, err := ParseRequest("req-1", append(data, ' ')); err == nil {
		t.Error("request of MaxRequestSize+1 bytes accepted")
	}
}

func TestParseRequestTruncatesEchoes(t *testing.T) {
	// Errors quote what the agent sent, but never all of it.
	long := strings.Repeat("k", 10_000)
	for _, override := range []map[string]any{
		{"id": long},
		{"kind": long},
		{"created_at": long},
		{"dockerfile": []string{strings.Repeat("K", 3000) + " x"}},
	} {
		_, err := ParseRequest("req-1", requestJSON(t, override))
		if err == nil {
			t.Fatalf("accepted %v", override)
		}
		if len(err.Error()) > 300 {
			t.Errorf("error is %d bytes long: %.80q…", len(err.Error()), err)
		}
	}
}
