package runner

import (
	"net/url"

	"github.com/bottle-dev/bottle/config"
)

// backendName is the name the runner asks Runner.Backend for: the bottle's
// backend, and for a kubernetes bottle the cluster context, namespace and
// registry its block and registry argument pin, in the locator form
// backend/kubernetes reads ("kubernetes?context=...&namespace=..."). The
// backend's Name, recorded in metadata, carries the resolved values, so a
// resume runs where the bottle ran.
func backendName(b *config.Bottle) string {
	if b.Backend != config.BackendKubernetes {
		return b.Backend
	}
	q := url.Values{}
	if k := b.Kubernetes; k != nil {
		if k.Context != "" {
			q.Set("context", k.Context)
		}
		if k.Namespace != "" {
			q.Set("namespace", k.Namespace)
		}
	}
	if b.Registry != "" {
		q.Set("registry", b.Registry)
	}
	if len(q) == 0 {
		return b.Backend
	}
	return b.Backend + "?" + q.Encode()
}
