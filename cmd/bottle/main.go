// Command bottle runs AI coding agents in isolated sandboxes declared in
// bottle.hcl. See README.md.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv))
}
