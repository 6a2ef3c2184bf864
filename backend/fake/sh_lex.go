package fake

import (
	"fmt"
	"strings"
)

// The fake runs bottles' commands with a small POSIX-sh subset, enough for
// the conformance suite and for agents scripted in tests: lists (; && ||
// newlines), pipelines, if/for/while/until, { } and ( ) groups, single and
// double quotes, $name ${name} $? $# $0-$9 $@, $(...) substitution, field
// splitting, and the redirections < > >> N>&M. No globbing, no functions,
// no here-documents, no arithmetic: those are syntax errors.

type tokKind int

const (
	tWord tokKind = iota
	tNewline
	tSemi
	tAnd
	tOr
	tPipe
	tAmp
	tLParen
	tRParen
	tRedir
	tEOF
)

type token struct {
	kind tokKind
	word *word
	op   string // tRedir: ">", ">>", "<", ">&", "<&"
	fd   int    // tRedir: the explicit fd, or -1
}

type partKind int

const (
	pLit partKind = iota
	pParam
	pCmdSub
)

// part is one piece of a word: literal text, a parameter or a command
// substitution, quoted or not (which decides field splitting).
type part struct {
	kind   partKind
	text   string
	quoted bool
}

type word struct {
	parts []part
}

// keyword returns the word's text when it is a single unquoted literal.
func (w *word) keyword() string {
	if len(w.parts) == 1 && w.parts[0].kind == pLit && !w.parts[0].quoted {
		return w.parts[0].text
	}
	return ""
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	for l.pos < len(src) {
		c := src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '\\' && l.peekAt(1) == '\n':
			l.pos += 2
		case c == '#':
			for l.pos < len(src) && src[l.pos] != '\n' {
				l.pos++
			}
		case c == '\n':
			l.emit(token{kind: tNewline}, 1)
		case c == ';':
			if l.peekAt(1) == ';' {
				return nil, fmt.Errorf("syntax error: ';;' (case is not supported)")
			}
			l.emit(token{kind: tSemi}, 1)
		case c == '&':
			if l.peekAt(1) == '&' {
				l.emit(token{kind: tAnd}, 2)
			} else {
				l.emit(token{kind: tAmp}, 1)
			}
		case c == '|':
			if l.peekAt(1) == '|' {
				l.emit(token{kind: tOr}, 2)
			} else {
				l.emit(token{kind: tPipe}, 1)
			}
		case c == '(':
			l.emit(token{kind: tLParen}, 1)
		case c == ')':
			l.emit(token{kind: tRParen}, 1)
		case c == '<' || c == '>':
			if err := l.redir(-1); err != nil {
				return nil, err
			}
		default:
			if fd, n, ok := l.ioNumber(); ok {
				l.pos += n
				if err := l.redir(fd); err != nil {
					return nil, err
				}
				continue
			}
			w, err := l.word()
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tWord, word: w})
		}
	}
	l.toks = append(l.toks, token{kind: tEOF})
	return l.toks, nil
}

func (l *lexer) peekAt(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

func (l *lexer) emit(t token, width int) {
	l.toks = append(l.toks, t)
	l.pos += width
}

// ioNumber recognises the digit before a redirection, as in 2>&1.
func (l *lexer) ioNumber() (fd, n int, ok bool) {
	c := l.src[l.pos]
	if c < '0' || c > '9' {
		return 0, 0, false
	}
	if next := l.peekAt(1); next != '<' && next != '>' {
		return 0, 0, false
	}
	return int(c - '0'), 1, true
}

func (l *lexer) redir(fd int) error {
	op := string(l.src[l.pos])
	switch next := l.peekAt(1); {
	case op == "<" && next == '<':
		return fmt.Errorf("syntax error: here-documents are not supported")
	case op == ">" && next == '>':
		op = ">>"
	case next == '&':
		op += "&"
	case op == ">" && next == '|':
		l.pos++ // >| is > without noclobber, which is always off here
	}
	l.emit(token{kind: tRedir, op: op, fd: fd}, len(op))
	return nil
}

// word reads one word: runs of unquoted text, quoted strings and
// expansions, up to an unquoted blank or operator.
func (l *lexer) word() (*word, error) {
	w := &word{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			w.parts = append(w.parts, part{kind: pLit, text: lit.String()})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if strings.IndexByte(" \t\r\n;&|()<>", c) >= 0 {
			break
		}
		switch c {
		case '\'':
			end := strings.IndexByte(l.src[l.pos+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("syntax error: unterminated quoted string")
			}
			flush()
			w.parts = append(w.parts, part{kind: pLit, text: l.src[l.pos+1 : l.pos+1+end], quoted: true})
			l.pos += end + 2
		case '"':
			flush()
			if err := l.double(w); err != nil {
				return nil, err
			}
		case '\\':
			flush()
			if l.pos+1 < len(l.src) {
				w.parts = append(w.parts, part{kind: pLit, text: l.src[l.pos+1 : l.pos+2], quoted: true})
			}
			l.pos += 2
		case '$':
			flush()
			if err := l.dollar(w, false); err != nil {
				return nil, err
			}
		case '`':
			return nil, fmt.Errorf("syntax error: backquotes are not supported; use $(...)")
		default:
			lit.WriteByte(c)
			l.pos++
		}
	}
	flush()
	return w, nil
}

// double reads a double-quoted string; pos is at the opening quote.
func (l *lexer) double(w *word) error {
	l.pos++
	var lit strings.Builder
	w.parts = append(w.parts, part{kind: pLit, quoted: true}) // "" is a field
	flush := func() {
		if lit.Len() > 0 {
			w.parts = append(w.parts, part{kind: pLit, text: lit.String(), quoted: true})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			flush()
			l.pos++
			return nil
		case '\\':
			next := l.peekAt(1)
			switch next {
			case '$', '`', '"', '\\':
				lit.WriteByte(next)
				l.pos += 2
			case '\n':
				l.pos += 2
			default:
				lit.WriteByte(c)
				l.pos++
			}
		case '$':
			flush()
			if err := l.dollar(w, true); err != nil {
				return err
			}
		case '`':
			return fmt.Errorf("syntax error: backquotes are not supported; use $(...)")
		default:
			lit.WriteByte(c)
			l.pos++
		}
	}
	return fmt.Errorf("syntax error: unterminated quoted string")
}

// dollar reads an expansion; pos is at the '$'.
func (l *lexer) dollar(w *word, quoted bool) error {
	next := l.peekAt(1)
	switch {
	case next == '(':
		if l.peekAt(2) == '(' {
			return fmt.Errorf("syntax error: arithmetic expansion is not supported")
		}
		end, err := matchParen(l.src, l.pos+2)
		if err != nil {
			return err
		}
		w.parts = append(w.parts, part{kind: pCmdSub, text: l.src[l.pos+2 : end], quoted: quoted})
		l.pos = end + 1
	case next == '{':
		end := strings.IndexByte(l.src[l.pos:], '}')
		if end < 0 {
			return fmt.Errorf("syntax error: missing '}'")
		}
		name := l.src[l.pos+2 : l.pos+end]
		if !validName(name) && !(len(name) == 1 && strings.IndexByte("?#@*$0123456789", name[0]) >= 0) {
			return fmt.Errorf("syntax error: ${%s} is not supported", name)
		}
		w.parts = append(w.parts, part{kind: pParam, text: name, quoted: quoted})
		l.pos += end + 1
	case next == '_' || isAlpha(next):
		end := l.pos + 1
		for end < len(l.src) && (l.src[end] == '_' || isAlpha(l.src[end]) || isDigit(l.src[end])) {
			end++
		}
		w.parts = append(w.parts, part{kind: pParam, text: l.src[l.pos+1 : end], quoted: quoted})
		l.pos = end
	case next != 0 && strings.IndexByte("?#@*$!0123456789", next) >= 0:
		w.parts = append(w.parts, part{kind: pParam, text: string(next), quoted: quoted})
		l.pos += 2
	default:
		w.parts = append(w.parts, part{kind: pLit, text: "$", quoted: quoted})
		l.pos++
	}
	return nil
}
