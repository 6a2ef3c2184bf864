package kubernetes

import (
	"net/url"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// A locator is the backend name a kubernetes bottle is recorded under:
// "kubernetes", or "kubernetes?context=C&namespace=N&registry=R" with the
// cluster, namespace and registry it ran on, so that resume, logs, stop and
// gc find it there whatever the environment says later.

// Locator is Name's form for opts (its non-empty fields only).
func Locator(opts Options) string {
	q := url.Values{}
	for k, v := range map[string]string{"context": opts.Context, "namespace": opts.Namespace, "registry": opts.Registry} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return backend.Kubernetes
	}
	return backend.Kubernetes + "?" + q.Encode()
}

// ParseLocator reads a backend name: ok is false when it does not name the
// kubernetes backend. The Options it returns hold what the name pins; the
// caller fills the rest (kubeconfig, image builder) from its environment.
func ParseLocator(name string) (opts Options, ok bool, err error) {
	base, query, _ := strings.Cut(name, "?")
	if base != backend.Kubernetes {
		return Options{}, false, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return Options{}, true, err
	}
	return Options{Context: q.Get("context"), Namespace: q.Get("namespace"), Registry: q.Get("registry")}, true, nil
}
