// Package buildctx turns host directories into tar streams and content
// hashes: the cwd copied into a bottle (Tar), the build context of an agent
// Dockerfile (Context), and the hash that names a built image (Hash, Tag).
//
// It is pure: it reads the host file system and writes to an io.Writer. It
// must not import the Docker client or any backend, so that `bottle plan`
// can hash a context with no engine around and every backend can stream the
// same bytes.
//
// Exclude patterns follow .dockerignore semantics (github.com/moby/patternmatcher),
// including "!" exceptions that re-include files below an excluded directory.
// Symlinks are archived as symlinks and never followed. Sockets and device
// nodes are skipped: they cannot be meaningfully copied into a bottle.
package buildctx
