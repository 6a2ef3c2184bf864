package kubernetes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bottle-dev/bottle/backend"
)

// ImageSource builds images in another engine and pushes them to a
// registry. (*docker.Backend) satisfies it; this package never imports
// backend/docker, so cmd wires the two together. Its Leftovers and
// RemoveResource report and remove the per-bottle images it built.
type ImageSource interface {
	EnsureImage(ctx context.Context, img backend.Image, p backend.Progress) (string, error)
	// PushImage tags the local image ref as remote and pushes it.
	PushImage(ctx context.Context, ref, remote string) error
	Leftovers(ctx context.Context) ([]backend.Resource, error)
	RemoveResource(ctx context.Context, r backend.Resource) error
}

// Options configures New. The zero value means: the kubeconfig of
// $KUBECONFIG (else ~/.kube/config), its current context and that
// context's namespace.
type Options struct {
	// Kubeconfig is a list of kubeconfig files separated by the OS path
	// list separator, as in $KUBECONFIG. Empty: the client-go default.
	Kubeconfig string
	// Context is the kubeconfig context to use; empty: the current one.
	Context string
	// Namespace holds the bottles' Pods; empty: the context's, else
	// "default".
	Namespace string
	// Registry is HOST[:PORT]/PATH, where built images are pushed for the
	// cluster to pull. Without it only image references work.
	Registry string
	// Images builds Dockerfile agents; nil allows image references only.
	Images ImageSource
	// Config, when set, is used instead of loading a kubeconfig (tests).
	Config *rest.Config
}

// Backend runs bottles as Pods. It keeps no state in memory beyond its
// client: the API server holds everything, so one Backend may be used from
// several goroutines and processes at once.
type Backend struct {
	cs       kubernetes.Interface
	cfg      *rest.Config
	ns       string
	registry string
	images   ImageSource
	host     string // the API server, for error messages
	name     string // Locator of the resolved context, namespace, registry
}

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend for the cluster opts names. It reads the kubeconfig
// but does not contact the API server: Ping does.
func New(opts Options) (*Backend, error) {
	cfg := opts.Config
	ns := opts.Namespace
	kctx := opts.Context
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if opts.Kubeconfig != "" {
			rules.Precedence = filepath.SplitList(opts.Kubeconfig)
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
		var err error
		cfg, err = cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes backend: load kubeconfig (set KUBECONFIG, or run scripts/kube-up for a local cluster): %w", err)
		}
		if ns == "" {
			if n, _, err := cc.Namespace(); err == nil {
				ns = n
			}
		}
		if kctx == "" {
			if raw, err := cc.RawConfig(); err == nil {
				kctx = raw.CurrentContext
			}
		}
	}
	if ns == "" {
		ns = "default"
	}
	cfg = rest.CopyConfig(cfg)
	// Attach, exec and watch streams are long-lived; the per-request
	// timeout would cut them. Every call carries a ctx instead.
	cfg.Timeout = 0
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes backend: client for %s: %w", cfg.Host, err)
	}
	reg := strings.TrimSuffix(opts.Registry, "/")
	return &Backend{cs: cs, cfg: cfg, ns: ns, registry: reg, images: opts.Images, host: cfg.Host,
		name: Locator(Options{Context: kctx, Namespace: ns, Registry: reg})}, nil
}

// Name is the backend's locator: "kubernetes" with the context, namespace
// and registry it runs bottles on, so that metadata records where a bottle
// ran (see ParseLocator).
func (b *Backend) Name() string { return b.name }

// Namespace is the namespace the bottles' Pods live in.
func (b *Backend) Namespace() string { return b.ns }

// Ping checks that the API server answers and that the namespace exists.
func (b *Backend) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Listing Pods needs only the namespace-scoped rights bottle needs
	// anyway (reading the Namespace object is a cluster-scoped right).
	if _, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: managedSelector}); err != nil {
		return wrap(err, "kubernetes API server %s, namespace %q", b.host, b.ns)
	}
	return nil
}
