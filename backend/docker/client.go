package docker

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/bottle-dev/bottle/backend"
)

// APIClient is the part of the Docker client the backend uses: small enough
// to fake in tests, and a list of every engine call the backend can make.
// *client.Client implements it.
type APIClient interface {
	Ping(ctx context.Context) (types.Ping, error)
	Close() error

	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, opts build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	ImageSave(ctx context.Context, refs []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
	ImageTag(ctx context.Context, source, target string) error
	ImagePush(ctx context.Context, ref string, opts image.PushOptions) (io.ReadCloser, error)

	NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error)
	NetworkInspect(ctx context.Context, name string, opts network.InspectOptions) (network.Inspect, error)
	NetworkList(ctx context.Context, opts network.ListOptions) ([]network.Summary, error)
	NetworkRemove(ctx context.Context, name string) error
	NetworkConnect(ctx context.Context, networkID, containerID string, cfg *network.EndpointSettings) error

	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerResize(ctx context.Context, id string, opts container.ResizeOptions) error
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerCommit(ctx context.Context, id string, opts container.CommitOptions) (container.CommitResponse, error)
	ContainerStatPath(ctx context.Context, id, path string) (container.PathStat, error)
	CopyToContainer(ctx context.Context, id, path string, content io.Reader, opts container.CopyToContainerOptions) error
	CopyFromContainer(ctx context.Context, id, path string) (io.ReadCloser, container.PathStat, error)
	ContainerDiff(ctx context.Context, id string) ([]container.FilesystemChange, error)

	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, opts container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
}

var _ APIClient = (*client.Client)(nil)

// Backend runs bottles as Docker containers. It holds no state besides the
// client: everything it knows about a bottle it reads from the engine.
type Backend struct {
	c APIClient
	// pool is where bottle networks take their subnets from (zero:
	// DefaultSubnetPool).
	pool netip.Prefix
	// proxyBin is the bottle binary the egress proxy image is made of;
	// proxyHosts are extra host:ip entries for the proxy (SetProxy).
	proxyBin   string
	proxyHosts []string
	// proxyCAs are PEM roots the proxies trust besides the system's
	// (SetProxyCAs).
	proxyCAs string
	// starts are the proxies being started for launches (egressstart.go).
	starts proxyStarts
}

var (
	_ backend.Backend         = (*Backend)(nil)
	_ backend.NetworkPreparer = (*Backend)(nil)
	_ backend.Deriver         = (*Backend)(nil)
	_ backend.Differ          = (*Backend)(nil)
	_ backend.EgressEnforcer  = (*Backend)(nil)
)

// New builds a client from the environment (DOCKER_HOST, DOCKER_CERT_PATH,
// …) that negotiates the API version with the engine on first use. It does
// not contact the engine: call Ping for that.
func New(ctx context.Context) (*Backend, error) {
	_ = ctx // reserved: building the client does no I/O today
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return NewWithClient(c), nil
}

// NewWithClient returns a backend on c (a *client.Client or a fake).
func NewWithClient(c APIClient) *Backend {
	bin, _ := os.Executable() // "" fails an egress launch, with a clear error
	return &Backend{c: c, proxyBin: bin}
}

// SetProxy sets the binary egress proxies run (by default this process's
// executable: it must dispatch "egress-proxy" when named "bottle") and
// host:ip entries added to the proxies' /etc/hosts.
func (b *Backend) SetProxy(bin string, hosts []string) {
	b.proxyBin, b.proxyHosts = bin, hosts
}

// SetProxyCAs sets PEM certificates the egress proxies trust for TLS
// upstreams besides the host's bundle; they go with the policy.
func (b *Backend) SetProxyCAs(pem string) { b.proxyCAs = pem }

// Name returns backend.Docker.
func (b *Backend) Name() string { return backend.Docker }

// Ping checks that the engine answers.
func (b *Backend) Ping(ctx context.Context) error {
	if _, err := b.c.Ping(ctx); err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	return nil
}

// Close releases the client's connections.
func (b *Backend) Close() error {
	return b.c.Close()
}
