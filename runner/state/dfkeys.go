package state

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// ReservedKeyPrefix is the namespace of the labels bottle puts on what it
// makes (containers, networks, images): gc and image clean-up find and
// attribute resources by them, so an approved line must not set any.
const ReservedKeyPrefix = "dev.bottle"

// checkKeys refuses a LABEL, ENV or ARG line that names a key in bottle's
// dev.bottle.* namespace (compared case-insensitively), or a key that uses a
// variable (its final name would only be known at build time). The line is
// split by BuildKit's own parser and each key unquoted by its shell lexer,
// so quoting and escapes cannot hide a key from the check.
func checkKeys(kw, line string) error {
	if kw != "LABEL" && kw != "ENV" && kw != "ARG" {
		return nil
	}
	res, err := parser.Parse(strings.NewReader(line))
	if err != nil {
		return fmt.Errorf("does not parse as a %s instruction: %v", kw, err)
	}
	if len(res.AST.Children) != 1 {
		return fmt.Errorf("is not exactly one instruction")
	}
	lex := shell.NewLex(parser.DefaultEscapeToken)
	for _, raw := range instructionKeys(kw, res.AST.Children[0]) {
		if strings.ContainsRune(raw, '$') {
			return fmt.Errorf("%s key %q uses a variable; name keys literally", kw, truncate(raw, 80))
		}
		key, _, err := lex.ProcessWord(raw, noEnv{})
		if err != nil {
			return fmt.Errorf("%s key %q does not parse: %v", kw, truncate(raw, 80), err)
		}
		if reservedKey(key) {
			return fmt.Errorf("%s key %q is in the %s.* namespace, which bottle keeps for its own labels", kw, truncate(key, 80), ReservedKeyPrefix)
		}
	}
	return nil
}

// instructionKeys lists the keys, as written, of a parsed LABEL, ENV or ARG
// node. LABEL and ENV parse into (key, value, separator) triples; ARG into
// one word per argument, "name" or "name=default".
func instructionKeys(kw string, n *parser.Node) []string {
	var keys []string
	if kw == "ARG" {
		for w := n.Next; w != nil; w = w.Next {
			k, _, _ := strings.Cut(w.Value, "=")
			keys = append(keys, k)
		}
		return keys
	}
	for k := n.Next; k != nil; {
		keys = append(keys, k.Value)
		// Skip the value and the separator to the next key.
		k = k.Next
		for i := 0; i < 2 && k != nil; i++ {
			k = k.Next
		}
	}
	return keys
}

func reservedKey(key string) bool {
	p := len(ReservedKeyPrefix)
	if len(key) < p || !strings.EqualFold(key[:p], ReservedKeyPrefix) {
		return false
	}
	return len(key) == p || key[p] == '.'
}

// noEnv is an empty build environment for unquoting keys.
type noEnv struct{}

func (noEnv) Get(string) (string, bool) { return "", false }
func (noEnv) Keys() []string            { return nil }

// formatChar returns the first Unicode format character (category Cf: bidi
// overrides and isolates, zero-width spaces and joiners, the BOM...) in s.
// Such characters make a line display differently from what Docker reads, so
// the operator could approve something other than what they saw.
func formatChar(s string) (rune, bool) {
	for _, r := range s {
		if unicode.Is(unicode.Cf, r) {
			return r, true
		}
	}
	return 0, false
}
