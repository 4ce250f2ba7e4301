// Package cmdutil holds what kubeharden's subcommands share: streams,
// exit errors and terminal detection.
package cmdutil

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// ExitError carries an exit code to cli.Main. Err, if set, is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Usage returns a usage error (exit code 2).
func Usage(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Color decides whether to colour output written to w: mode is "auto",
// "always" or "never"; auto colours only a terminal, and never when the
// NO_COLOR environment variable is set.
func Color(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto", "":
		return os.Getenv("NO_COLOR") == "" && IsTerminal(w), nil
	}
	return false, Usage("--color must be auto, always or never, not %q", mode)
}

// Inputs checks the input flags of a command that reads either files
// (args; "-" is standard input) or a live cluster (--cluster), as
// inventory and policy do: exactly one of them, connection flags only
// with --cluster, --exclude only with files.
func Inputs(cluster bool, args []string, kubeconfig, context string, exclude []string) error {
	switch {
	case cluster && len(args) > 0:
		return Usage("give files or --cluster, not both")
	case !cluster && len(args) == 0:
		return Usage("nothing to read: give files or directories, - for standard input, or --cluster")
	case !cluster && (context != "" || kubeconfig != ""):
		return Usage("--kubeconfig and --context need --cluster")
	case cluster && len(exclude) > 0:
		return Usage("--exclude applies to files and directories, not to --cluster")
	}
	return nil
}
