package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script")

// TestMain lets the test binary act as the bottle command: scripts run it
// with "exec bottle", and the end-to-end tests find it on PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bottle": func() {
			os.Exit(run(context.Background(), os.Args[1:], stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv))
		},
	})
}

func TestScripts(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(e *testscript.Env) error {
			e.Setenv("BOTTLE_HOME", filepath.Join(e.WorkDir, ".bottle"))
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("NO_COLOR", "1")
			e.Setenv("EXAMPLES", filepath.Join(root, "examples"))
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){"writeq": writeQueueFile},
	})
}

// writeQueueFile is "writeq DIR NAME FILE": it copies FILE to DIR/NAME, with
// Go escapes (\x1b, \u202e) in NAME interpreted, so that scripts can plant
// queue files with hostile names.
func writeQueueFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: writeq DIR NAME FILE")
	}
	name, err := strconv.Unquote(`"` + args[1] + `"`)
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(ts.MkAbs(args[0]), name), []byte(ts.ReadFile(args[2])), 0o644))
}
