// Command kubeharden checks Kubernetes manifests and clusters against
// hardening practice. See the README for usage.
package main

import (
	"os"

	"github.com/kubeharden/kubeharden/internal/cli"
	"github.com/kubeharden/kubeharden/scan"
)

func main() {
	scan.TuneGC()
	os.Exit(cli.Main(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
