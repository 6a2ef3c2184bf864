package fake

import "fmt"

// The compound commands: if, for, while and until.

func (p *parser) ifCmd() (command, error) {
	c := &ifCmd{}
	for kw := "if"; kw == "if" || kw == "elif"; kw = p.keyword() {
		p.i++
		cond, err := p.list("then")
		if err != nil {
			return nil, err
		}
		if err := p.expect("then"); err != nil {
			return nil, err
		}
		body, err := p.list("elif", "else", "fi")
		if err != nil {
			return nil, err
		}
		c.conds, c.bodies = append(c.conds, cond), append(c.bodies, body)
	}
	if p.keyword() == "else" {
		p.i++
		els, err := p.list("fi")
		if err != nil {
			return nil, err
		}
		c.els = els
	}
	return c, p.expect("fi")
}

func (p *parser) forCmd() (command, error) {
	p.i++
	t := p.peek()
	if t.kind != tWord || !validName(t.word.keyword()) {
		return nil, fmt.Errorf("syntax error: bad for loop variable")
	}
	c := &forCmd{name: t.word.keyword()}
	p.i++
	p.skipNewlines()
	if p.keyword() == "in" {
		c.hasIn = true
		for p.i++; p.peek().kind == tWord; p.i++ {
			c.items = append(c.items, p.peek().word)
		}
	}
	if k := p.peek().kind; k == tSemi || k == tNewline {
		p.i++
	}
	p.skipNewlines()
	if err := p.expect("do"); err != nil {
		return nil, err
	}
	body, err := p.list("done")
	if err != nil {
		return nil, err
	}
	c.body = body
	return c, p.expect("done")
}

func (p *parser) loopCmd(until bool) (command, error) {
	p.i++
	cond, err := p.list("do")
	if err != nil {
		return nil, err
	}
	if err := p.expect("do"); err != nil {
		return nil, err
	}
	body, err := p.list("done")
	if err != nil {
		return nil, err
	}
	return &loopCmd{until: until, cond: cond, body: body}, p.expect("done")
}
