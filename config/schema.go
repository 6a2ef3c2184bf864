package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Block types of bottle.hcl.
const (
	blockVariable  = "variable"
	blockLocals    = "locals"
	blockAgent     = "agent"
	blockBottle    = "bottle"
	blockCwd       = "cwd"
	blockResources = "resources"
)

// Root names an expression may reference.
const (
	rootVar     = "var"
	rootLocal   = "local"
	rootSession = "session"
	rootAgent   = "agent"
)

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: blockVariable, LabelNames: []string{"name"}},
		{Type: blockLocals},
		{Type: blockAgent, LabelNames: []string{"name"}},
		{Type: blockBottle, LabelNames: []string{"name"}},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
}

var agentSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "image"},
		{Name: "dockerfile"},
		{Name: "context"},
		{Name: "command"},
		{Name: "resume_command"},
		{Name: "transcript"},
		{Name: "env"},
		{Name: "workdir"},
		{Name: "user"},
	},
	Blocks: containmentBlocks(false),
}

var bottleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "agent", Required: true},
		{Name: "backend"},
		{Name: "network"},
		{Name: "env"},
		{Name: "registry"},
	},
	Blocks: append([]hcl.BlockHeaderSchema{
		{Type: blockCwd},
		{Type: blockResources},
		{Type: blockKubernetes},
	}, containmentBlocks(true)...),
}

var cwdSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "path"},
		{Name: "copy"},
		{Name: "target"},
		{Name: "exclude"},
		{Name: "keep"},
	},
}

var resourcesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "cpus"},
		{Name: "memory"},
	},
}

// rawBlock is one block after the schema check: its header, its content and
// the range of the whole block (used as diagnostic Context).
type rawBlock struct {
	block   *hcl.Block
	content *hcl.BodyContent
	attrs   hcl.Attributes // locals blocks only: they have no fixed schema
	rng     hcl.Range
}

func (b *rawBlock) name() string { return b.block.Labels[0] }

// rawBottle is a bottle block with its optional nested blocks.
type rawBottle struct {
	rawBlock
	cwd       *rawBlock
	resources *rawBlock
}

// rawConfig is the file split by block type, in source order.
type rawConfig struct {
	variables []*rawBlock
	locals    []*rawBlock
	agents    []*rawBlock
	bottles   []*rawBottle
}

// checkSchema is the schema stage: it splits the file into blocks, checks
// every block body against its schema, and checks names and duplicates.
func checkSchema(body hcl.Body) (*rawConfig, hcl.Diagnostics) {
	content, diags := body.Content(rootSchema)
	raw := &rawConfig{}
	seen := map[string]map[string]*hcl.Block{
		blockVariable: {}, blockAgent: {}, blockBottle: {},
	}
	for _, block := range content.Blocks {
		rb := &rawBlock{block: block, rng: blockRange(block)}
		if block.Type == blockLocals {
			var d hcl.Diagnostics
			rb.attrs, d = block.Body.JustAttributes()
			diags = append(diags, d...)
			raw.locals = append(raw.locals, rb)
			continue
		}
		diags = append(diags, checkName(block, seen[block.Type])...)
		switch block.Type {
		case blockVariable:
			rb.content, diags = appendContent(diags, block.Body, variableSchema)
			raw.variables = append(raw.variables, rb)
		case blockAgent:
			rb.content, diags = appendContent(diags, block.Body, agentSchema)
			raw.agents = append(raw.agents, rb)
		case blockBottle:
			rb.content, diags = appendContent(diags, block.Body, bottleSchema)
			rbt := &rawBottle{rawBlock: *rb}
			diags = append(diags, rbt.nested()...)
			raw.bottles = append(raw.bottles, rbt)
		}
	}
	return raw, diags
}

func appendContent(diags hcl.Diagnostics, body hcl.Body, schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	content, d := body.Content(schema)
	if content == nil {
		content = &hcl.BodyContent{Attributes: hcl.Attributes{}}
	}
	return content, append(diags, d...)
}

// nested checks the cwd and resources blocks of a bottle: at most one of each.
func (b *rawBottle) nested() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, block := range b.content.Blocks {
		if isContainmentBlock(block.Type) || block.Type == blockKubernetes {
			continue // decoded by decodeContainment, decodeKubernetes
		}
		rb := &rawBlock{block: block, rng: blockRange(block)}
		slot, schema := &b.cwd, cwdSchema
		if block.Type == blockResources {
			slot, schema = &b.resources, resourcesSchema
		}
		rb.content, diags = appendContent(diags, block.Body, schema)
		if *slot != nil {
			first := (*slot).block.DefRange
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", block.Type),
				Detail: fmt.Sprintf("A bottle has at most one %s block; the first one is at %s. Merge the two blocks.",
					block.Type, posString(first)),
				Subject: block.DefRange.Ptr(),
				Context: b.rng.Ptr(),
			})
			continue
		}
		*slot = rb
	}
	return diags
}

// checkName validates a block's name label and reports a duplicate on the
// second occurrence, naming the first.
func checkName(block *hcl.Block, seen map[string]*hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	subject := block.LabelRanges[0].Ptr()
	ctx := blockRange(block).Ptr()
	if !hclsyntax.ValidIdentifier(name) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Invalid %s name", block.Type),
			Detail: fmt.Sprintf("%q is not a valid %s name. A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.",
				name, block.Type),
			Subject: subject,
			Context: ctx,
		}}
	}
	if first, ok := seen[name]; ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s", block.Type),
			Detail: fmt.Sprintf("A%s %s named %q was already declared at %s. Names must be unique: rename or remove one of them.",
				article(block.Type), block.Type, name, posString(first.DefRange)),
			Subject: subject,
			Context: ctx,
		}}
	}
	seen[name] = block
	return nil
}

// article returns "n" for words that need "an".
func article(word string) string {
	if word != "" && (word[0] == 'a' || word[0] == 'e' || word[0] == 'i' || word[0] == 'o' || word[0] == 'u') {
		return "n"
	}
	return ""
}

// blockRange is the range of a whole block, header to closing brace.
func blockRange(block *hcl.Block) hcl.Range {
	if body, ok := block.Body.(*hclsyntax.Body); ok {
		return hcl.RangeBetween(block.DefRange, body.SrcRange)
	}
	return block.DefRange
}

// posString names a place in a file as "file:line".
func posString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}
