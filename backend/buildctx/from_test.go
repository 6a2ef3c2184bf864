package buildctx

import "testing"

func TestBaseImage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"FROM busybox:latest\nRUN true\n", "busybox:latest"},
		{"# comment\n\nfrom --platform=linux/amd64 bottle/x-abcde:base AS a\n", "bottle/x-abcde:base"},
		{"ARG V=1\nFROM alpine:${V}\n", ""},
		{"FROM \\\n  busybox\n", ""},
		{"RUN true\nFROM busybox\n", ""},
		{"FROM\n", ""},
		{"", ""},
	} {
		if got := BaseImage([]byte(tc.in)); got != tc.want {
			t.Errorf("BaseImage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
