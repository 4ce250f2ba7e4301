// Package cli is kubeharden's command line: the root command and its
// subcommands. Main is the only place that turns errors into exit codes;
// nothing below it exits.
package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/cli/audit"
	"github.com/kubeharden/kubeharden/internal/cli/catalog"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/cli/db"
	"github.com/kubeharden/kubeharden/internal/cli/inventory"
	clinode "github.com/kubeharden/kubeharden/internal/cli/node"
	"github.com/kubeharden/kubeharden/internal/cli/policy"
	clirbac "github.com/kubeharden/kubeharden/internal/cli/rbac"
	cliruntime "github.com/kubeharden/kubeharden/internal/cli/runtime"
	"github.com/kubeharden/kubeharden/internal/cli/scan"
	"github.com/kubeharden/kubeharden/internal/cli/serve"
)

// Streams are the standard streams a command reads and writes.
type Streams = cmdutil.Streams

// Version is set at build time with -ldflags "-X github.com/kubeharden/kubeharden/internal/cli.Version=...".
var Version = "dev"

// Exit codes.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// Main runs kubeharden with args and returns the process exit code:
// 0 when nothing at or above --fail-on was found, 1 when something was,
// 2 for usage, configuration and input errors.
func Main(args []string, streams Streams) int {
	// KUBEHARDEN_CPUPROFILE=FILE writes a CPU profile of the run, for
	// reports of slow scans.
	if path := os.Getenv("KUBEHARDEN_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	root := NewCommand(streams)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var exit *cmdutil.ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(streams.Err, "kubeharden: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(streams.Err, "kubeharden: %v\n", err)
	return ExitError
}

// NewCommand builds the root command.
func NewCommand(streams Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubeharden",
		Short: "Check Kubernetes manifests and clusters against hardening practice",
		Long: "kubeharden checks Kubernetes objects against hardening practice (CIS Kubernetes Benchmark,\n" +
			"NSA-CISA Kubernetes Hardening Guide, Pod Security Standards), explains every finding and\n" +
			"says how to fix it.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.ExitError{Code: ExitError, Err: fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(scan.NewCommand(streams, Version))
	root.AddCommand(catalog.NewCommand(streams))
	root.AddCommand(db.NewCommand(streams))
	root.AddCommand(inventory.NewCommand(streams, Version))
	root.AddCommand(clirbac.NewCommand(streams))
	root.AddCommand(policy.NewCommand(streams))
	root.AddCommand(serve.NewCommand(streams))
	root.AddCommand(clinode.NewCommand(streams, Version))
	root.AddCommand(audit.NewCommand(streams, Version))
	root.AddCommand(cliruntime.NewCommand(streams))
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print kubeharden's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(streams.Out, "kubeharden %s\n", Version)
			return err
		},
	})
	return root
}
