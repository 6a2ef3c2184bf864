package fake

import (
	"fmt"
	"strings"
)

// matchParen returns the index of the ')' closing a "$(" whose body starts
// at start, skipping quoted text and nested parentheses.
func matchParen(src string, start int) (int, error) {
	depth := 1
	for i := start; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '\'':
			end := strings.IndexByte(src[i+1:], '\'')
			if end < 0 {
				return 0, fmt.Errorf("syntax error: unterminated quoted string")
			}
			i += end + 1
		case '"':
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("syntax error: missing ')'")
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func validName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && !isAlpha(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// literalWords splits s into words the way the shell would, with quotes
// removed and no expansion: what a Dockerfile's LABEL and ENV lines need.
func literalWords(s string) ([]string, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range toks {
		if t.kind != tWord {
			continue
		}
		var b strings.Builder
		for _, p := range t.word.parts {
			if p.kind == pLit {
				b.WriteString(p.text)
			} else {
				b.WriteString("$" + p.text)
			}
		}
		out = append(out, b.String())
	}
	return out, nil
}
