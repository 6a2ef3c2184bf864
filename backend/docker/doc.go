// Package docker implements backend.Backend on the Docker Engine API, with
// the github.com/docker/docker client. It is the only package that imports
// that client (and containerd's errdefs); it never shells out to the docker
// CLI.
//
// One bottle is one container named backend.InstanceName(identity) on its
// own bridge network of the same name (internal when the bottle has no
// network access). Every container, network and image it creates is
// labelled (backend.Label*), so List, Leftovers and gc work from the engine
// alone.
//
// It works with engines from Docker 20.10 (API 1.41) on: builds use the
// legacy builder, which 20.10 engines without buildx always have, and the
// client negotiates the API version.
//
// It imports only backend and backend/buildctx from this module.
package docker
