package backend

import (
	"context"
	"io"
	"strconv"

	"github.com/bottle-dev/bottle/backend/egress"
)

// ProxyPort is the port the egress proxy of a bottle listens on.
const ProxyPort = 3128

// ProxyName is the name of the egress proxy of an identity (the docker
// backend's sidecar container); inside the bottle it is also the proxy's
// host name.
func ProxyName(identity string) string {
	return "bottle-" + identity + "-egress"
}

// ProxyEnv is the environment that points a bottle's tools at its proxy,
// in both cases: curl and busybox read the lower-case names, most others
// the upper-case ones.
func ProxyEnv(identity string) map[string]string {
	url := "http://" + ProxyName(identity) + ":" + strconv.Itoa(ProxyPort)
	noProxy := "localhost,127.0.0.1,::1"
	return map[string]string{
		"HTTP_PROXY": url, "HTTPS_PROXY": url, "NO_PROXY": noProxy,
		"http_proxy": url, "https_proxy": url, "no_proxy": noProxy,
	}
}

// EgressSpec is the policy of a bottle whose network is an allowlist. The
// backend enforces it outside the bottle and fails closed: no proxy, no
// way out.
type EgressSpec struct {
	// Policy holds the secrets' real values: a backend passes it to the
	// proxy only over a channel no container config, image or log keeps.
	Policy egress.Policy
}

// LabelProxy marks what a backend makes for the egress proxies: their
// containers ("egress") and images ("image"). A proxy container is not a
// bottle: it does not carry LabelManaged, so List never returns it.
const LabelProxy = "dev.bottle.proxy"

// ProxyImager is implemented by backends that build an image for the
// egress proxy (one per bottle binary, shared by every home on the
// engine). gc removes the images labelled LabelProxy "image" that no
// container uses, except the current one.
type ProxyImager interface {
	// CurrentProxyImage is the reference of the proxy image this bottle
	// binary launches with ("" when there is none to keep).
	CurrentProxyImage(ctx context.Context) (string, error)
}

// EgressEnforcer is implemented by backends whose Create honours
// Spec.Egress; the runner refuses to launch a bottle with a policy on any
// other backend, rather than run it open.
type EgressEnforcer interface {
	// Grant allows more destinations to the running bottle of identity,
	// in place: the next connection is allowed.
	Grant(ctx context.Context, identity string, rules []egress.Rule) error
	// EgressLog writes the proxy's report of identity to w: one JSON
	// event per line (egress/proxy.Event).
	EgressLog(ctx context.Context, identity string, w io.Writer) error
	// CloseEgress stops the proxy of identity, so that it reports its
	// last counts, and writes its whole report to w. No proxy is an error
	// wrapping ErrNotFound.
	CloseEgress(ctx context.Context, identity string, w io.Writer) error
}
