package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is what `smolvm --version` prints; the fake follows 1.9.3.
const version = "smolvm 1.9.3"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// app is one invocation of the fake CLI.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string
	store          *store
}

// run executes one command line and returns the process exit code: 0, the
// guest's code for exec/run, 1 for a runtime error ("Error: …"), 2 for a
// clap usage error ("error: …" plus usage).
func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	code, err := a.dispatch(ctx, argv)
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "error: %s\n\nUsage: %s\n\nFor more information, try '--help'.\n", ue.msg, ue.usage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "Error: %s\n", err)
		return 1
	}
	return code
}

func (a *app) dispatch(ctx context.Context, argv []string) (int, error) {
	top := &usageError{usage: "smolvm <COMMAND>"}
	if len(argv) == 0 {
		top.msg = "'smolvm' requires a subcommand but one was not provided"
		return 0, top
	}
	switch argv[0] {
	case "--version", "-V":
		fmt.Fprintln(a.stdout, version)
		return 0, nil
	case "machine", "vm":
	default:
		top.msg = fmt.Sprintf("unrecognized subcommand '%s'", argv[0])
		return 0, top
	}
	if len(argv) < 2 {
		return 0, &usageError{msg: "'smolvm machine' requires a subcommand but one was not provided",
			usage: "smolvm machine <COMMAND>"}
	}
	sub := argv[1]
	if c, ok := aliases[sub]; ok {
		sub = c
	}
	spec := specs[sub]
	if spec == nil {
		return 0, &usageError{msg: fmt.Sprintf("unrecognized subcommand '%s'", argv[1]),
			usage: "smolvm machine <COMMAND>"}
	}
	p, err := spec.parse(argv[2:])
	if err != nil {
		return 0, err
	}
	if a.store, err = newStore(a.env); err != nil {
		return 0, err
	}
	switch sub {
	case "create":
		return 0, a.create(ctx, p)
	case "start":
		return 0, a.start(ctx, p)
	case "stop":
		return 0, a.stop(ctx, p)
	case "delete":
		return 0, a.delete(ctx, p)
	case "status":
		return 0, a.status(ctx, p)
	case "ls":
		return 0, a.list(ctx, p)
	case "data-dir":
		return 0, a.dataDir(p)
	case "exec":
		return a.exec(ctx, p)
	case "cp":
		return 0, a.cp(ctx, p)
	case "run":
		return a.runEphemeral(ctx, p)
	}
	return 0, fmt.Errorf("unhandled subcommand %s", sub)
}

// nameOr returns --name, or the default most commands target.
func nameOr(p *args, def string) string {
	if n := p.value("name"); n != "" {
		return n
	}
	return def
}

func notFound(name string) error { return fmt.Errorf("vm not found: %s", name) }

func notRunning(name string) error {
	return fmt.Errorf("agent operation failed: connect: machine '%s' is not running. "+
		"Use 'smolvm machine start --name %s' first.", name, name)
}

// shortID is the random part of generated names (vm-<shortid>).
func shortID() string {
	b := make([]byte, 4)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func parseJSONList(s string) []string {
	var v []string
	if json.Unmarshal([]byte(s), &v) != nil {
		return nil
	}
	return v
}

// envPairs resolves `-e KEY` (no '='): smolvm copies the host's value.
func (a *app) envPairs(list []string) []string {
	var out []string
	for _, e := range list {
		if strings.Contains(e, "=") {
			out = append(out, e)
		} else if v := a.env(e); v != "" {
			out = append(out, e+"="+v)
		}
	}
	return out
}
