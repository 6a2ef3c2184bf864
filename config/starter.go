package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Starter returns the starter bottle.hcl that bottle init writes. It is built
// with the hclwrite API, so it is always well-formed and formatted, and it
// loads without errors in any folder.
func Starter() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	comment(body,
		"# bottle.hcl: the agents this project runs, and the bottles (sandboxes) they run in.",
		"# Check it with `bottle validate`; see what `bottle apply` would do with `bottle plan`.",
		"# For a real coding agent (Claude Code), see examples/claude in the bottle repository.")
	body.AppendNewline()

	task := body.AppendNewBlock(blockVariable, []string{"task"}).Body()
	task.SetAttributeValue("description", cty.StringVal("What the agent should do."))
	task.SetAttributeValue("default", cty.StringVal("Describe this project in one paragraph."))
	body.AppendNewline()

	comment(body,
		"# An agent is what runs in a bottle: an image (or a Dockerfile), a command, its environment.",
		"# session.id is known only at launch; plans show it as (known after launch).")
	agent := body.AppendNewBlock(blockAgent, []string{"shell"}).Body()
	agent.SetAttributeValue("image", cty.StringVal("busybox:latest"))
	agent.SetAttributeValue("command", cty.ListVal([]cty.Value{
		cty.StringVal("sh"), cty.StringVal("-c"),
		cty.StringVal("echo \"task: $TASK\"; echo \"session: $SESSION\"; ls -la"),
	}))
	agent.SetAttributeValue("workdir", cty.StringVal(DefaultWorkdir))
	agent.SetAttributeRaw("env", hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
		{Name: hclwrite.TokensForIdentifier("TASK"), Value: traversal(rootVar, "task")},
		{Name: hclwrite.TokensForIdentifier("SESSION"), Value: traversal(rootSession, sessionID)},
	}))
	body.AppendNewline()

	comment(body, "# A bottle runs an agent with this folder copied in (copy = false bind-mounts it instead).")
	bottle := body.AppendNewBlock(blockBottle, []string{"main"}).Body()
	bottle.SetAttributeTraversal("agent", hcl.Traversal{
		hcl.TraverseRoot{Name: rootAgent}, hcl.TraverseAttr{Name: "shell"},
	})
	bottle.SetAttributeValue("backend", cty.StringVal(BackendDocker))
	bottle.AppendNewline()
	cwd := bottle.AppendNewBlock(blockCwd, nil).Body()
	cwd.SetAttributeValue("path", cty.StringVal("."))
	cwd.SetAttributeValue("copy", cty.True)
	cwd.SetAttributeValue("exclude", cty.ListVal([]cty.Value{cty.StringVal(".git")}))
	bottle.AppendNewline()
	res := bottle.AppendNewBlock(blockResources, nil).Body()
	res.SetAttributeValue("cpus", cty.NumberIntVal(2))
	res.SetAttributeValue("memory", cty.StringVal("2GiB"))

	return hclwrite.Format(f.Bytes())
}

// comment appends whole-line comments.
func comment(body *hclwrite.Body, lines ...string) {
	for _, line := range lines {
		body.AppendUnstructuredTokens(hclwrite.Tokens{
			{Type: hclsyntax.TokenComment, Bytes: []byte(line + "\n")},
		})
	}
}

// traversal returns the tokens of root.attr.
func traversal(root, attr string) hclwrite.Tokens {
	return hclwrite.TokensForTraversal(hcl.Traversal{
		hcl.TraverseRoot{Name: root}, hcl.TraverseAttr{Name: attr},
	})
}
