package fake

// The syntax tree of a script.
type (
	list struct {
		items []*andOr
	}
	andOr struct {
		pipes []*pipeline
		ops   []tokKind // tAnd or tOr before pipes[i+1]
	}
	pipeline struct {
		neg  bool
		cmds []command
	}
	command interface{ redirections() []redir }

	redir struct {
		fd     int
		op     string
		target *word
	}
	assign struct {
		name  string
		value *word
	}
	simpleCmd struct {
		assigns []assign
		args    []*word
		redirs  []redir
	}
	ifCmd struct {
		conds, bodies []*list
		els           *list
		redirs        []redir
	}
	forCmd struct {
		name   string
		items  []*word
		hasIn  bool
		body   *list
		redirs []redir
	}
	loopCmd struct {
		until      bool
		cond, body *list
		redirs     []redir
	}
	groupCmd struct {
		body     *list
		subshell bool
		redirs   []redir
	}
)

func (c *simpleCmd) redirections() []redir { return c.redirs }

func (c *ifCmd) redirections() []redir { return c.redirs }

func (c *forCmd) redirections() []redir { return c.redirs }

func (c *loopCmd) redirections() []redir { return c.redirs }

func (c *groupCmd) redirections() []redir { return c.redirs }

var reserved = []string{"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "{", "}", "!", "case", "esac"}
