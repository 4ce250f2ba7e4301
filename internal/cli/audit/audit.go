// Package audit implements "kubeharden audit": the audit-logging commands.
// "audit policy FILE..." lints kube-apiserver audit policies (and the
// policy a kube-apiserver static pod manifest names with
// --audit-policy-file) with the audit-policy checks, on the same engine,
// renderers and exit codes as scan. "audit events FILE..." runs the audit
// detections of package auditevent on audit logs.
package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/check"
	checksaudit "github.com/kubeharden/kubeharden/checks/audit"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/render/junit"
	"github.com/kubeharden/kubeharden/render/sarif"
	"github.com/kubeharden/kubeharden/render/table"
	"github.com/kubeharden/kubeharden/report"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// formats are scan's output formats.
var formats = map[string]render.Func{
	"table": table.Render,
	"json":  jsonout.Render,
	"sarif": sarif.Render,
	"junit": junit.Render,
}

func formatNames() []string {
	var out []string
	for n := range formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewCommand builds the audit command and its subcommands.
func NewCommand(streams cmdutil.Streams, version string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit logging: lint the API server's audit policy, detect attacks in its audit events",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPolicy(streams, version), newEvents(streams), newRBAC(streams, version))
	return cmd
}

type flags struct {
	output         string
	checks, skip   []string
	failOn         string
	config         string
	showSuppressed bool
	color          string
}

func newPolicy(streams cmdutil.Streams, version string) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "policy FILE|DIR|-...",
		Short: "Lint audit.k8s.io/v1 Policy files (or the one a kube-apiserver manifest names)",
		Long: "Lint kube-apiserver audit policies (audit.k8s.io/v1 Policy) with the audit-policy checks:\n" +
			"credentials logged with their values, security-sensitive requests not logged, no catch-all\n" +
			"rule, rules no request reaches, the RequestReceived stage kept, and kubeharden's audit\n" +
			"detections left blind. Levels are computed with the API server's first-match semantics.\n\n" +
			"Given a kube-apiserver static pod manifest, the policy its --audit-policy-file flag names is\n" +
			"linted: the path is mapped through the pod's hostPath volumes to the node's file, looked\n" +
			"for as a copy of the node's file system above the manifest, next to the manifest, and\n" +
			"where it is on this machine. A policy the API server would refuse (no rules, an unknown\n" +
			"level or stage, non-resource URLs mixed with resources) is an input error with its line.\n\n" +
			"Exit codes: 0 nothing at or above --fail-on; 1 findings at or above --fail-on; 2 usage or\n" +
			"input errors, or no audit policy in the input.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runE(cmd.Context(), streams, version, f, cmd.Flags().Changed, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: "+strings.Join(formatNames(), ", "))
	fl.StringSliceVar(&f.checks, "checks", nil, "run only these audit-policy check IDs (comma-separated)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these check IDs (comma-separated)")
	fl.StringVar(&f.failOn, "fail-on", "none", "exit 1 when a finding at or above this severity is reported (none: never)")
	fl.StringVar(&f.config, "config", "", "configuration file (default: .kubeharden.yaml found upward from the working directory)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "show findings suppressed by exceptions and annotations")
	fl.StringVar(&f.color, "color", "auto", "colour the table output: auto (only on a terminal), always, never")
	return cmd
}

func runE(ctx context.Context, streams cmdutil.Streams, version string, f *flags, changed func(string) bool, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	format, ok := formats[f.output]
	if !ok {
		return cmdutil.Usage("-o must be one of %s, not %q", strings.Join(formatNames(), ", "), f.output)
	}
	color, err := cmdutil.Color(f.color, streams.Out)
	if err != nil {
		return err
	}
	cfg, err := cmdutil.LoadConfig(f.config)
	if err != nil {
		return err
	}
	failOn := f.failOn
	if !changed("fail-on") && cfg.FailOn != "" {
		failOn = cfg.FailOn
	}
	var threshold check.Severity
	if failOn != "none" && failOn != "" {
		if threshold, err = check.ParseSeverity(failOn); err != nil {
			return cmdutil.Usage("--fail-on: %v (or none)", err)
		}
	}
	src := &policySource{loader: &manifest.Loader{Stdin: streams.In}, paths: args}
	plan := kscan.Plan{
		Catalogue:  checksaudit.Checks(),
		Only:       f.checks,
		Skip:       f.skip,
		Exceptions: cfg.Exceptions,
		Now:        time.Now,
		Sources:    []source.Source{src},
	}
	if sel, err := plan.Select(); err != nil {
		return cmdutil.Usage("%v", err)
	} else if len(sel) == 0 {
		return cmdutil.Usage("no check left to run: --checks and --skip exclude every audit-policy check")
	}
	rep, err := kscan.Run(ctx, plan)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	if err := format(streams.Out, rep, render.Options{Color: color, ShowSuppressed: f.showSuppressed, ToolVersion: version}); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return exitFor(rep, src.policies(), threshold, args)
}

// exitFor decides the exit code as scan does: input errors first (2),
// then no policy at all (2: a lint that read nothing must not pass), then
// findings at or above the threshold (1).
func exitFor(rep *report.Report, policies int, threshold check.Severity, args []string) error {
	if len(rep.Errors) > 0 {
		return &cmdutil.ExitError{Code: 2}
	}
	if policies == 0 {
		return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("no audit policy (audit.k8s.io/v1 Policy) found in %s: nothing was checked", strings.Join(args, ", "))}
	}
	if threshold > 0 && rep.CountAtLeast(threshold) > 0 {
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}
