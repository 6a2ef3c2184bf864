package main

import (
	"fmt"
	"strings"
)

// flagKind says how many values a flag takes.
type flagKind int

const (
	boolFlag  flagKind = iota // --net
	valueFlag                 // --name NAME (the last one wins)
	multiFlag                 // -e K=V, repeatable
)

// flagDef is one option of a subcommand, as clap would declare it.
type flagDef struct {
	long  string
	short byte // 0 when there is no short form
	kind  flagKind
}

// cmdSpec is the clap-like declaration of one subcommand.
type cmdSpec struct {
	usage      string
	flags      []flagDef
	positional int  // positional arguments before the trailing argv
	trailing   bool // accepts a guest argv (after "--" or the first extra positional)
	conflicts  [][2]string
}

// args is a parsed command line.
type args struct {
	bools  map[string]bool
	values map[string][]string
	pos    []string
	argv   []string
}

func (a *args) has(name string) bool { return a.bools[name] || len(a.values[name]) > 0 }

func (a *args) value(name string) string {
	if v := a.values[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// usageError is a clap argument error: "error: …" plus usage, exit 2.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

func (s *cmdSpec) lookup(long string, short byte) *flagDef {
	for i := range s.flags {
		f := &s.flags[i]
		if (long != "" && f.long == long) || (short != 0 && f.short == short) {
			return f
		}
	}
	return nil
}

// parse splits argv the way clap does for these commands: options first,
// everything after "--" (or after the positional arguments, for commands
// with a trailing argv) is the guest command.
func (s *cmdSpec) parse(argv []string) (*args, error) {
	a := &args{bools: map[string]bool{}, values: map[string][]string{}}
	bad := func(format string, v ...any) error {
		return &usageError{msg: fmt.Sprintf(format, v...), usage: s.usage}
	}
	set := func(f *flagDef, val string, hasVal bool) error {
		if f.kind == boolFlag {
			if hasVal {
				return bad("unexpected value '%s' for '--%s' found; no more were expected", val, f.long)
			}
			a.bools[f.long] = true
			return nil
		}
		a.values[f.long] = append(a.values[f.long], val)
		return nil
	}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		switch {
		case arg == "--":
			if !s.trailing {
				return nil, bad("unexpected argument '%s' found", strings.Join(argv[i+1:], " "))
			}
			a.argv = append([]string{}, argv[i+1:]...)
			return a, s.check(a, bad)
		case strings.HasPrefix(arg, "--"):
			name, val, hasVal := strings.Cut(arg[2:], "=")
			f := s.lookup(name, 0)
			if f == nil {
				return nil, bad("unexpected argument '%s' found", arg)
			}
			if f.kind != boolFlag && !hasVal {
				if i+1 >= len(argv) {
					return nil, bad("a value is required for '--%s' but none was supplied", f.long)
				}
				i++
				val = argv[i]
			}
			if err := set(f, val, hasVal); err != nil {
				return nil, err
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			for j := 1; j < len(arg); j++ {
				f := s.lookup("", arg[j])
				if f == nil {
					return nil, bad("unexpected argument '-%c' found", arg[j])
				}
				if f.kind == boolFlag {
					a.bools[f.long] = true
					continue
				}
				val := strings.TrimPrefix(arg[j+1:], "=")
				if val == "" {
					if i+1 >= len(argv) {
						return nil, bad("a value is required for '--%s' but none was supplied", f.long)
					}
					i++
					val = argv[i]
				}
				a.values[f.long] = append(a.values[f.long], val)
				break
			}
		case len(a.pos) < s.positional:
			a.pos = append(a.pos, arg)
		case s.trailing:
			a.argv = append([]string{}, argv[i:]...)
			return a, s.check(a, bad)
		default:
			return nil, bad("unexpected argument '%s' found", arg)
		}
	}
	return a, s.check(a, bad)
}

func (s *cmdSpec) check(a *args, bad func(string, ...any) error) error {
	for _, c := range s.conflicts {
		if a.has(c[0]) && a.has(c[1]) {
			return bad("the argument '--%s' cannot be used with '--%s'", c[0], c[1])
		}
	}
	if len(a.pos) < s.positional {
		return bad("the following required arguments were not provided")
	}
	return nil
}

// Flag sets shared by several subcommands.
var (
	nameFlag  = flagDef{"name", 'n', valueFlag}
	envFlag   = flagDef{"env", 'e', multiFlag}
	wdFlag    = flagDef{"workdir", 'w', valueFlag}
	volFlag   = flagDef{"volume", 'v', multiFlag}
	portFlag  = flagDef{"port", 'p', multiFlag}
	imageFlag = flagDef{"image", 'I', valueFlag}
)

var specs = map[string]*cmdSpec{
	"create": {
		usage: "smolvm machine create [OPTIONS] [-- <COMMAND>...]",
		flags: []flagDef{nameFlag, imageFlag, envFlag, wdFlag, volFlag, portFlag,
			{"cpus", 0, valueFlag}, {"mem", 0, valueFlag}, {"storage", 0, valueFlag},
			{"overlay", 0, valueFlag}, {"net", 0, boolFlag}, {"allow-host", 0, multiFlag},
			{"allow-cidr", 0, multiFlag}, {"outbound-localhost-only", 0, boolFlag},
			{"dns", 0, valueFlag}, {"init", 0, multiFlag}, {"label", 0, multiFlag},
			{"secret-env", 0, multiFlag}, {"secret-file", 0, multiFlag},
			{"smolfile", 's', valueFlag}, {"from", 0, valueFlag}, {"max-image-size", 0, valueFlag}},
		trailing: true,
	},
	"start": {
		usage: "smolvm machine start [OPTIONS]",
		flags: []flagDef{nameFlag, {"proxy", 0, valueFlag}, {"no-proxy", 0, valueFlag}},
	},
	"stop":     {usage: "smolvm machine stop [OPTIONS]", flags: []flagDef{nameFlag}},
	"data-dir": {usage: "smolvm machine data-dir [OPTIONS]", flags: []flagDef{nameFlag}},
	"status": {
		usage: "smolvm machine status [OPTIONS]",
		flags: []flagDef{nameFlag, {"json", 0, boolFlag}},
	},
	"ls": {
		usage: "smolvm machine ls [OPTIONS]",
		flags: []flagDef{{"json", 0, boolFlag}, {"verbose", 'v', boolFlag}},
	},
	"delete": {
		usage: "smolvm machine delete [OPTIONS]",
		flags: []flagDef{nameFlag, {"force", 'f', boolFlag}, {"cascade", 0, boolFlag}},
	},
	"exec": {
		// 1.9.x: exec has --name only, no -n.
		usage: "smolvm machine exec [OPTIONS] --name <NAME> -- <COMMAND>...",
		flags: []flagDef{{"name", 0, valueFlag}, envFlag, wdFlag, {"timeout", 0, valueFlag},
			{"secret-env", 0, multiFlag}, {"secret-file", 0, multiFlag},
			{"interactive", 'i', boolFlag}, {"tty", 't', boolFlag}, {"stream", 0, boolFlag},
			{"detach", 'd', boolFlag}},
		trailing:  true,
		conflicts: [][2]string{{"detach", "interactive"}, {"detach", "tty"}, {"detach", "stream"}},
	},
	"cp": {
		usage:      "smolvm machine cp [OPTIONS] <SRC> <DST>",
		flags:      []flagDef{{"mode", 0, valueFlag}, {"uid", 0, valueFlag}, {"gid", 0, valueFlag}},
		positional: 2,
	},
	"run": {
		usage: "smolvm machine run [OPTIONS] -- <COMMAND>...",
		flags: []flagDef{nameFlag, imageFlag, envFlag, wdFlag, volFlag, portFlag,
			{"net", 0, boolFlag}, {"allow-host", 0, multiFlag}, {"allow-cidr", 0, multiFlag},
			{"cpus", 0, valueFlag}, {"mem", 0, valueFlag}, {"timeout", 0, valueFlag},
			{"interactive", 'i', boolFlag}, {"tty", 't', boolFlag}, {"detach", 'd', boolFlag},
			{"unprivileged", 0, boolFlag}, {"oci-cache", 0, boolFlag}, {"smolfile", 's', valueFlag}},
		trailing: true,
	},
}

// aliases maps clap's visible aliases onto the canonical subcommand.
var aliases = map[string]string{"list": "ls", "rm": "delete"}
