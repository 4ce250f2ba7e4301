// Package catalog implements "kubeharden checks": list the check
// catalogue and explain one check.
package catalog

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
)

type flags struct {
	output string
}

// NewCommand builds the checks command.
func NewCommand(streams cmdutil.Streams) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List the check catalogue",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return runList(streams, f) },
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	cmd.AddCommand(&cobra.Command{
		Use:   "explain CHECK-ID",
		Short: "Explain a check: what it looks for, why it matters, how to fix it",
		Args:  cobra.ExactArgs(1),
		RunE:  func(_ *cobra.Command, args []string) error { return runExplain(streams, args[0]) },
	})
	return cmd
}

// Entry is the JSON form of a check.
type Entry struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Severity    check.Severity `json:"severity"`
	Domain      string         `json:"domain"`
	Kinds       []string       `json:"kinds"`
	References  []check.Ref    `json:"references"`
	Description string         `json:"description"`
	Remediation string         `json:"remediation"`
}

// Frameworks summarises a check's references as "CIS 5.2.2, PSS privileged".
func Frameworks(c *check.Check) string {
	var parts []string
	for _, r := range c.Refs {
		parts = append(parts, string(r.Framework)+" "+r.ID)
	}
	return strings.Join(parts, ", ")
}

func runList(streams cmdutil.Streams, f *flags) error {
	switch f.output {
	case "json":
		var out []Entry
		for _, d := range checks.Domains() {
			for _, c := range d.Checks {
				kinds := c.KindNames()
				sort.Strings(kinds)
				out = append(out, Entry{ID: c.ID, Title: c.Title, Severity: c.Severity, Domain: d.Name, Kinds: kinds, References: c.Refs, Description: c.Description, Remediation: c.Remediation})
			}
		}
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "table", "":
		tw := tabwriter.NewWriter(streams.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE\tFRAMEWORKS")
		for _, c := range checks.All() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Severity, c.Title, Frameworks(c))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(streams.Out, "\n%d checks. Run 'kubeharden checks explain ID' for details.\n", len(checks.All()))
		return err
	}
	return cmdutil.Usage("-o must be table or json, not %q", f.output)
}

func runExplain(streams cmdutil.Streams, id string) error {
	c := checks.ByID(id)
	if c == nil {
		return cmdutil.Usage("unknown check %q (run 'kubeharden checks' for the list)", id)
	}
	return Explain(streams.Out, c)
}

// Explain writes a check's documentation as plain text.
func Explain(w io.Writer, c *check.Check) error {
	kinds := c.KindNames()
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.ID, c.Title)
	fmt.Fprintf(&b, "Severity: %s\n", c.Severity)
	fmt.Fprintf(&b, "Applies to: %s\n\n", strings.Join(kinds, ", "))
	fmt.Fprintf(&b, "%s\n\n", c.Description)
	fmt.Fprintf(&b, "Remediation:\n  %s\n\n", c.Remediation)
	fmt.Fprintf(&b, "References:\n")
	for _, r := range c.Refs {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	fmt.Fprintf(&b, "\nSuppress on one object with the annotations\n  kubeharden.io/ignore: %q\n  kubeharden.io/ignore-reason: \"<why>\"\n", c.ID)
	_, err := io.WriteString(w, b.String())
	return err
}
