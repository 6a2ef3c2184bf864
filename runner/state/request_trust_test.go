package state

import (
	"strings"
	"testing"
)

// Lines and reasons that would read differently from what Docker builds, and
// lines that would relabel the per-bottle image, are refused.
func TestParseRequestRejectsFormatCharsAndReservedKeys(t *testing.T) {
	line := func(l ...string) map[string]any { return map[string]any{"dockerfile": l} }
	tests := []struct {
		name     string
		override map[string]any
		want     string
	}{
		{"bidi override in a line", line("RUN echo \u202e;lmth.x > y"), "U+202E"},
		{"bidi isolate in a line", line("RUN echo \u2066x\u2069"), "U+2066"},
		{"zero-width space in a line", line("RUN apt-get install -y ff\u200bmpeg"), "U+200B"},
		{"zero-width joiner in a line", line("RUN a\u200db"), "U+200D"},
		{"BOM in a line", line("\ufeffRUN true"), "U+FEFF"},
		{"word joiner in a line", line("RUN a\u2060b"), "U+2060"},
		{"soft hyphen in a line", line("RUN cu\u00adrl"), "U+00AD"},
		{"bidi override in the reason", map[string]any{"reason": "need \u202eqepmff"}, "reason contains the invisible format character U+202E"},
		{"zero-width in the reason", map[string]any{"reason": "need\u200bffmpeg"}, "U+200B"},
		{"LABEL reserved key", line("LABEL dev.bottle.identity=other-abcde"), `LABEL key "dev.bottle.identity" is in the dev.bottle.* namespace`},
		{"LABEL reserved key upper case", line("LABEL DEV.Bottle.Managed=true"), "namespace"},
		{"LABEL the bare prefix", line("LABEL dev.bottle=x"), "namespace"},
		{"LABEL second pair", line("LABEL a=b dev.bottle.managed=true"), "namespace"},
		{"LABEL quoted key", line(`LABEL "dev.bottle.managed"=true`), "namespace"},
		{"LABEL split quotes", line(`LABEL "dev."'bottle.x'=true`), "namespace"},
		{"LABEL escaped key", line(`LABEL dev\.bottle\.x=1`), "namespace"},
		{"LABEL old form", line("LABEL dev.bottle.identity other-abcde"), "namespace"},
		{"LABEL variable key", line("LABEL ${K}=1"), "uses a variable"},
		{"lowercase label", line("label dev.bottle.x=1"), "namespace"},
		{"ENV reserved key", line("ENV dev.bottle.x=1"), "ENV key"},
		{"ENV old form", line("ENV DEV.BOTTLE.X 1"), "namespace"},
		{"ENV variable key", line("ENV $X=1"), "uses a variable"},
		{"ARG reserved name", line("ARG dev.bottle.x"), "ARG key"},
		{"ARG reserved with default", line("ARG a dev.bottle.x=1"), "namespace"},
		{"LABEL without value", line("LABEL a"), "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest("req-1", requestJSON(t, tt.override))
			if err == nil {
				t.Fatalf("accepted %+v", r)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseRequestAcceptsKeysOutsideTheNamespace(t *testing.T) {
	for _, l := range []string{
		"LABEL dev.bottlex=1",
		"LABEL org.opencontainers.image.title=x dev=bottle",
		`LABEL desc="dev.bottle.x is a label"`,
		"ENV PATH=$PATH:/opt/bin",
		"ENV A dev.bottle.x",
		"ARG VERSION=1.2",
		"ARG A B=dev.bottle.c",
		"RUN echo dev.bottle.x=1",
		"RUN echo 'héllo wörld ✓'",
	} {
		if _, err := ParseRequest("req-1", requestJSON(t, map[string]any{"dockerfile": []string{l}})); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}
