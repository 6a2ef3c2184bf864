package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// BackendKubernetes runs bottles as Pods on a Kubernetes cluster.
const BackendKubernetes = "kubernetes"

const blockKubernetes = "kubernetes"

var kubernetesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "namespace"},
		{Name: "context"},
	},
}

// Kubernetes is a bottle's kubernetes block: which cluster and namespace
// its Pod runs in. Empty fields fall back to the environment
// (BOTTLE_KUBE_CONTEXT and the kubeconfig's current context,
// BOTTLE_KUBE_NAMESPACE and the context's namespace).
type Kubernetes struct {
	Namespace string
	Context   string

	DeclRange hcl.Range
}

// decodeKubernetes decodes the bottle's registry argument and its
// kubernetes block, and checks that the bottle can run on a cluster.
func (l *loader) decodeKubernetes(rb *rawBottle, b *Bottle) hcl.Diagnostics {
	var diags, d hcl.Diagnostics
	b.Registry, b.RegistryRange, d = l.stringAttr(rb.content.Attributes, "registry", l.cfg.ctx, rb.rng)
	diags = append(diags, d...)
	if b.Registry != "" && (strings.Contains(b.Registry, "://") || strings.ContainsAny(b.Registry, " @") || strings.HasSuffix(b.Registry, "/")) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid registry",
			Detail:  fmt.Sprintf("registry is HOST[:PORT]/PATH with no scheme, tag or trailing slash, such as \"registry.example.com/team/bottle\"; it is %q.", b.Registry),
			Subject: b.RegistryRange.Ptr(), Context: rb.rng.Ptr(),
		})
	}
	for _, block := range rb.content.Blocks {
		if block.Type != blockKubernetes {
			continue
		}
		if b.Kubernetes != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Duplicate kubernetes block",
				Detail:  fmt.Sprintf("A bottle has at most one kubernetes block; the first one is at %s. Merge the two blocks.", posString(b.Kubernetes.DeclRange)),
				Subject: block.DefRange.Ptr(), Context: rb.rng.Ptr(),
			})
			continue
		}
		content, cd := block.Body.Content(kubernetesSchema)
		diags = append(diags, cd...)
		k := &Kubernetes{DeclRange: block.DefRange}
		if content != nil {
			k.Namespace, _, d = l.stringAttr(content.Attributes, "namespace", l.cfg.ctx, blockRange(block))
			diags = append(diags, d...)
			k.Context, _, d = l.stringAttr(content.Attributes, "context", l.cfg.ctx, blockRange(block))
			diags = append(diags, d...)
		}
		b.Kubernetes = k
	}
	return diags
}

// validateKubernetes reports what a bottle on a cluster cannot do: a Pod
// runs on another machine, so it cannot bind-mount the project folder; and
// the egress proxy and secret swapping run beside a Docker engine only, so
// a declared egress policy would silently not hold.
func validateKubernetes(b *Bottle) hcl.Diagnostics {
	if b.Backend != BackendKubernetes {
		return nil
	}
	var diags hcl.Diagnostics
	if b.Cwd != nil && !b.Cwd.Copy {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "A kubernetes bottle cannot mount its cwd",
			Detail: fmt.Sprintf("This bottle runs on a Kubernetes cluster, where the project folder %s is not on the machine that runs the Pod, "+
				"so copy = false (a bind mount) cannot work. Set copy = true in the cwd block to copy the folder into the Pod.", b.Cwd.Path),
			Subject: b.Cwd.DeclRange.Ptr(), Context: b.rng.Ptr(),
		})
	}
	if b.Containment.Egress || len(b.Containment.Secrets) > 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Egress policy not supported on kubernetes",
			Detail: "The kubernetes backend cannot enforce an egress block or swap secrets (bottle's egress proxy runs beside a Docker engine). " +
				"Use backend = \"docker\" for this bottle, or remove the egress and secret blocks (a NetworkPolicy CNI can restrict egress instead).",
			Subject: firstOf(b.Containment).Ptr(), Context: b.rng.Ptr(),
		})
	}
	return diags
}
