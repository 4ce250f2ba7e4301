// Command kubeharden checks Kubernetes manifests and clusters against
// hardening practice. See the README for usage.
package main

import (
	"os"

	"github.com/kubeharden/kubeharden/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
