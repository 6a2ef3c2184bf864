package backend

import "slices"

// Security is the hardening of one bottle, for the backends that can apply
// it (docker). runner fills it from DefaultSecurity and the bottle's
// security block.
type Security struct {
	// Capabilities is the whole set the agent keeps, upper-case without
	// the CAP_ prefix; every other capability is dropped. ["ALL"] keeps
	// them all; nil leaves the engine's default set (a Spec not made by
	// the runner, such as a backend test's).
	Capabilities []string
	// NoNewPrivileges stops setuid binaries and file capabilities from
	// raising the privileges of the agent's processes.
	NoNewPrivileges bool
	// PidsLimit is the most processes the bottle may run at once; 0
	// means no limit.
	PidsLimit int64
}

// DefaultCapabilities is what a coding agent keeps by default. Approved
// capabilities are installed at build time, as root, so at run time the
// agent needs only to manage the files of its workspace (CHOWN,
// DAC_OVERRIDE, FOWNER, FSETID), signal its own processes (KILL) and run a
// dev server on a low port (NET_BIND_SERVICE). Dropped from the engine's
// default set: NET_RAW (raw sockets: spoofing, sniffing the bridge), MKNOD
// (device nodes), SETUID, SETGID, SETPCAP and SETFCAP (changing identity or
// granting capabilities), SYS_CHROOT and AUDIT_WRITE.
var DefaultCapabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE"}

// DefaultPidsLimit bounds the processes of a bottle, so that a fork bomb
// in the agent's tools cannot exhaust the host: far above what a build or
// a test suite runs at once.
const DefaultPidsLimit = 4096

// DefaultSecurity is the hardening of a bottle without a security block.
func DefaultSecurity() Security {
	return Security{Capabilities: slices.Clone(DefaultCapabilities), NoNewPrivileges: true, PidsLimit: DefaultPidsLimit}
}
