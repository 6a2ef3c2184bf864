// Package kubernetes runs bottles as Pods on a Kubernetes cluster, through
// its API server with client-go (the only package that imports it): one Pod
// per identity, streams (attach, exec, logs) over SPDY, files moved as tar
// over exec. It never runs kubectl.
//
// A Pod cannot be created without starting its containers, while the
// backend contract creates a bottle, copies files in, and only then starts
// the agent. So the agent container's first process is a small POSIX-sh
// gate (see gate.go) that waits on a FIFO until Start or Run releases it,
// runs the agent, and stays alive after the agent ends so that the
// workspace and transcript can still be copied out of the stopped bottle.
// A second container, "bottle", reads the agent's exit code from the gate
// and exits with it: the Pod's status then reports the agent's end with no
// polling inside the Pod.
//
// Images are built by another engine (the local Docker, through
// ImageSource) and pushed to the registry the bottle names, from which the
// cluster pulls them.
//
// It imports backend only; cmd wires it to backend/docker's builder.
package kubernetes
