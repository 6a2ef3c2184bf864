package fake

import (
	"fmt"
	"slices"
)

type parser struct {
	toks []token
	i    int
}

func parse(src string) (*list, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	l, err := p.list()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected()
	}
	return l, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) keyword() string {
	if t := p.peek(); t.kind == tWord {
		if kw := t.word.keyword(); slices.Contains(reserved, kw) {
			return kw
		}
	}
	return ""
}

func (p *parser) unexpected() error {
	t := p.peek()
	switch t.kind {
	case tEOF:
		return fmt.Errorf("syntax error: unexpected end of file")
	case tWord:
		if kw := p.keyword(); kw != "" {
			return fmt.Errorf("syntax error: unexpected %q", kw)
		}
		return fmt.Errorf("syntax error: unexpected word")
	}
	return fmt.Errorf("syntax error: unexpected operator")
}

func (p *parser) expect(kw string) error {
	if p.keyword() != kw {
		return p.unexpected()
	}
	p.i++
	return nil
}

func (p *parser) skipNewlines() {
	for p.peek().kind == tNewline {
		p.i++
	}
}

// list parses and-or lists up to the end, a ')' or one of the stop words.
func (p *parser) list(stop ...string) (*list, error) {
	l := &list{}
	for {
		p.skipNewlines()
		t := p.peek()
		if t.kind == tEOF || t.kind == tRParen || slices.Contains(stop, p.keyword()) {
			return l, nil
		}
		ao, err := p.andOr()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, ao)
		switch p.peek().kind {
		case tSemi, tNewline:
			p.i++
		case tAmp:
			return nil, fmt.Errorf("syntax error: background jobs (&) are not supported")
		case tEOF, tRParen:
		default:
			if !slices.Contains(stop, p.keyword()) {
				return nil, p.unexpected()
			}
		}
	}
}

func (p *parser) andOr() (*andOr, error) {
	first, err := p.pipeline()
	if err != nil {
		return nil, err
	}
	ao := &andOr{pipes: []*pipeline{first}}
	for k := p.peek().kind; k == tAnd || k == tOr; k = p.peek().kind {
		p.i++
		p.skipNewlines()
		next, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		ao.ops = append(ao.ops, k)
		ao.pipes = append(ao.pipes, next)
	}
	return ao, nil
}

func (p *parser) pipeline() (*pipeline, error) {
	pl := &pipeline{}
	if p.keyword() == "!" {
		pl.neg = true
		p.i++
	}
	for {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		pl.cmds = append(pl.cmds, c)
		if p.peek().kind != tPipe {
			return pl, nil
		}
		p.i++
		p.skipNewlines()
	}
}

func (p *parser) command() (command, error) {
	var c command
	var err error
	switch kw := p.keyword(); {
	case kw == "if":
		c, err = p.ifCmd()
	case kw == "for":
		c, err = p.forCmd()
	case kw == "while" || kw == "until":
		c, err = p.loopCmd(kw == "until")
	case kw == "{":
		p.i++
		g := &groupCmd{}
		if g.body, err = p.list("}"); err == nil {
			err = p.expect("}")
		}
		c = g
	case kw != "":
		return nil, p.unexpected()
	case p.peek().kind == tLParen:
		p.i++
		g := &groupCmd{subshell: true}
		if g.body, err = p.list(); err == nil && p.peek().kind != tRParen {
			err = p.unexpected()
		}
		p.i++
		c = g
	default:
		return p.simple()
	}
	if err != nil {
		return nil, err
	}
	// Redirections after a compound command apply to all of it.
	var rs []redir
	for p.peek().kind == tRedir {
		r, err := p.redir()
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	switch c := c.(type) {
	case *ifCmd:
		c.redirs = rs
	case *forCmd:
		c.redirs = rs
	case *loopCmd:
		c.redirs = rs
	case *groupCmd:
		c.redirs = rs
	}
	return c, nil
}

func (p *parser) redir() (redir, error) {
	t := p.peek()
	p.i++
	target := p.peek()
	if target.kind != tWord {
		return redir{}, p.unexpected()
	}
	p.i++
	fd := t.fd
	if fd < 0 {
		fd = 1
		if t.op[0] == '<' {
			fd = 0
		}
	}
	return redir{fd: fd, op: t.op, target: target.word}, nil
}

func (p *parser) simple() (command, error) {
	c := &simpleCmd{}
	for {
		switch t := p.peek(); t.kind {
		case tWord:
			if a, ok := assignment(t.word); ok && len(c.args) == 0 {
				c.assigns = append(c.assigns, a)
			} else {
				c.args = append(c.args, t.word)
			}
			p.i++
		case tRedir:
			r, err := p.redir()
			if err != nil {
				return nil, err
			}
			c.redirs = append(c.redirs, r)
		default:
			if len(c.args)+len(c.assigns)+len(c.redirs) == 0 {
				return nil, p.unexpected()
			}
			return c, nil
		}
	}
}

// assignment splits NAME=value; the name must be unquoted.
func assignment(w *word) (assign, bool) {
	first := w.parts[0]
	if first.kind != pLit || first.quoted {
		return assign{}, false
	}
	for i := 0; i < len(first.text); i++ {
		if first.text[i] == '=' {
			name := first.text[:i]
			if !validName(name) {
				return assign{}, false
			}
			rest := &word{parts: append([]part{{kind: pLit, text: first.text[i+1:]}}, w.parts[1:]...)}
			return assign{name: name, value: rest}, true
		}
	}
	return assign{}, false
}
