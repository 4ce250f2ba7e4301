// Package scan implements "kubeharden scan": load objects from the given
// sources, evaluate the selected checks, render the report and decide the
// exit code.
package scan

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	clidb "github.com/kubeharden/kubeharden/internal/cli/db"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/report"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/source/manifest"
)

type flags struct {
	output         string
	checks         []string
	skip           []string
	minSeverity    string
	failOn         string
	config         string
	showSuppressed bool
	color          string

	values           []string
	set              []string
	setString        []string
	releaseName      string
	releaseNamespace string
	kubeVersion      string

	cluster     bool
	kubeconfig  string
	context     string
	allContexts bool
	namespace   string
	timeout     time.Duration

	exclude []string
}

// NewCommand builds the scan command.
func NewCommand(streams cmdutil.Streams, version string) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "scan [PATH|-]... | scan --cluster",
		Short: "Scan manifests, Helm charts, Kustomize directories or a live cluster",
		Long: "Scan Kubernetes objects in files and directories (recursively; YAML or JSON,\n" +
			"multi-document, Lists), standard input (-), Helm charts (directories with Chart.yaml)\n" +
			"and Kustomize roots (directories with kustomization.yaml); or, with --cluster, the live\n" +
			"cluster of the current kubeconfig context (or of every context with --all-contexts).\n\n" +
			"Directories are walked following symlinks; hidden files and directories, paths matched\n" +
			"by --exclude or by a .kubehardenignore file (gitignore syntax) and files that are not\n" +
			"Kubernetes objects (docker-compose.yml, package.json...) are skipped, the last with a notice.\n\n" +
			"Exit codes: 0 nothing at or above --fail-on; 1 findings at or above --fail-on;\n" +
			"2 usage, configuration or input errors, or no Kubernetes object in any given input.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runE(cmd.Context(), streams, version, f, cmd.Flags().Changed, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: "+strings.Join(FormatNames(), ", "))
	fl.StringSliceVar(&f.checks, "checks", nil, "run only these check IDs (comma-separated)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these check IDs (comma-separated)")
	fl.StringVar(&f.minSeverity, "min-severity", "info", "run only checks of at least this severity: info, low, medium, high, critical")
	fl.StringVar(&f.failOn, "fail-on", "none", "exit 1 when a finding at or above this severity is reported (none: never)")
	fl.StringVar(&f.config, "config", "", "configuration file (default: .kubeharden.yaml found upward from the working directory)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "show findings suppressed by exceptions and annotations")
	fl.StringVar(&f.color, "color", "auto", "colour the table output: auto (only on a terminal), always, never")
	fl.StringArrayVar(&f.values, "values", nil, "Helm values file for charts (repeatable; later files win)")
	fl.StringArrayVar(&f.set, "set", nil, "Helm value override key=value for charts (repeatable)")
	fl.StringArrayVar(&f.setString, "set-string", nil, "Helm string value override key=value for charts (repeatable)")
	fl.StringVar(&f.releaseName, "release-name", "release-name", "Helm release name used to render charts")
	fl.StringVar(&f.releaseNamespace, "release-namespace", "default", "Helm release namespace used to render charts")
	fl.StringVar(&f.kubeVersion, "kube-version", "", "Kubernetes version charts are rendered for (default: the Helm SDK's)")
	fl.BoolVar(&f.cluster, "cluster", false, "scan the live cluster instead of files")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster configuration)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to scan (default: the current context)")
	fl.BoolVar(&f.allContexts, "all-contexts", false, "scan every context of the kubeconfig, concurrently")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "scan only this namespace (cluster-scoped kinds and cluster-wide checks are then skipped)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up a cluster scan after this long (exit 2, naming what is missing)")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this gitignore-style pattern in directories, relative to the named directory (repeatable)")
	return cmd
}

// selectChecks applies --checks, --skip and --min-severity to the
// catalogue. A selection that leaves no check to run on this kind of scan
// is a usage error: a scan that checks nothing must not pass.
func selectChecks(plan *kscan.Plan, only, skip []string, minSeverity string, runs func(*check.Check) bool) error {
	minSev, err := check.ParseSeverity(minSeverity)
	if err != nil {
		return cmdutil.Usage("--min-severity: %v", err)
	}
	plan.Only, plan.Skip, plan.MinSeverity = only, skip, minSev
	selected, err := plan.Select()
	if err != nil {
		return cmdutil.Usage("%v", err)
	}
	n := 0
	for _, c := range selected {
		if runs(c) {
			n++
		}
	}
	switch {
	case len(selected) == 0:
		return cmdutil.Usage("no check left to run: --checks, --skip and --min-severity %s (from the flags or the config file) exclude every check", minSeverity)
	case n == 0:
		return cmdutil.Usage("no check left to run: the %d selected checks cannot run on this scan (checks that need a whole live cluster do not run on manifests or with --namespace; manifest-only checks do not run on a cluster)", len(selected))
	}
	return nil
}

// failThreshold parses --fail-on: 0 means never fail on findings.
func failThreshold(s string) (check.Severity, error) {
	if s == "none" || s == "" {
		return 0, nil
	}
	sev, err := check.ParseSeverity(s)
	if err != nil {
		return 0, cmdutil.Usage("--fail-on: %v (or none)", err)
	}
	return sev, nil
}

func runE(ctx context.Context, streams cmdutil.Streams, version string, f *flags, changed func(string) bool, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch {
	case f.cluster && len(args) > 0:
		return cmdutil.Usage("give files to scan or --cluster, not both")
	case !f.cluster && len(args) == 0:
		return cmdutil.Usage("nothing to scan: give files or directories, - for standard input, or --cluster")
	case !f.cluster && (f.allContexts || f.context != "" || f.namespace != "" || f.kubeconfig != ""):
		return cmdutil.Usage("--kubeconfig, --context, --all-contexts and --namespace need --cluster")
	case f.cluster && len(f.exclude) > 0:
		return cmdutil.Usage("--exclude applies to files and directories, not to --cluster")
	case f.allContexts && f.context != "":
		return cmdutil.Usage("--context and --all-contexts exclude each other")
	}
	format, ok := formats[f.output]
	if !ok {
		return cmdutil.Usage("-o must be one of %s, not %q", strings.Join(FormatNames(), ", "), f.output)
	}
	color, err := cmdutil.Color(f.color, streams.Out)
	if err != nil {
		return err
	}
	cfg, err := cmdutil.LoadConfig(f.config)
	if err != nil {
		return err
	}
	// The config file gives defaults; flags given on the command line win.
	only, skip, minSev, failOn := f.checks, f.skip, f.minSeverity, f.failOn
	if !changed("checks") && len(cfg.Checks) > 0 {
		only = cfg.Checks
	}
	if !changed("skip") && len(cfg.Skip) > 0 {
		skip = cfg.Skip
	}
	if !changed("min-severity") && cfg.MinSeverity != "" {
		minSev = cfg.MinSeverity
	}
	if !changed("fail-on") && cfg.FailOn != "" {
		failOn = cfg.FailOn
	}
	plan := kscan.Plan{Exceptions: cfg.Exceptions, Now: time.Now, TuneGC: true}
	// The checks this kind of scan runs (as the engine decides): checks
	// that need a whole cluster run only on an unrestricted cluster scan,
	// manifest-only checks never on a cluster.
	runs := func(c *check.Check) bool {
		if f.cluster {
			return !c.ManifestOnly && (!c.NeedsCluster || f.namespace == "")
		}
		return !c.NeedsCluster
	}
	if err := selectChecks(&plan, only, skip, minSev, runs); err != nil {
		return err
	}
	threshold, err := failThreshold(failOn)
	if err != nil {
		return err
	}
	db, dbErr := clidb.LoadActive()
	if dbErr != nil {
		fmt.Fprintf(streams.Err, "kubeharden: warning: %v (using the built-in CVE database)\n", dbErr)
	}
	plan.VulnDB = db
	if f.cluster {
		copts := cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context, AllContexts: f.allContexts, Namespace: f.namespace, Nodes: true}
		if cmdutil.IsTerminal(streams.Err) {
			copts.Progress = streams.Err
		}
		cctx, cancel := context.WithTimeoutCause(ctx, f.timeout, fmt.Errorf("--timeout %s reached", f.timeout))
		defer cancel()
		ctx = cctx
		plan.Sources = []source.Source{cluster.Source{Options: copts}}
	} else {
		loader := &manifest.Loader{Stdin: streams.In, Renderers: dirRenderers(f), Exclude: f.exclude}
		plan.Sources = []source.Source{manifest.Source{Loader: loader, Paths: args}}
	}
	if spills[f.output] {
		// JSON and SARIF are written one finding at a time: the findings
		// wait in a temporary file, not in memory.
		tmp, err := os.CreateTemp("", "kubeharden-*.spill")
		if err != nil {
			return fmt.Errorf("creating the report's temporary file: %w", err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		plan.Spill = tmp
	}
	rep, err := kscan.Run(ctx, plan)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	if err := format(streams.Out, rep, render.Options{Color: color, ShowSuppressed: f.showSuppressed, ToolVersion: version}); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return exitFor(rep, threshold)
}

// exitFor decides the exit code: input errors win over findings, and a
// scan that read no object at all while a named input held none fails too
// (exit 2): in CI, "0 objects scanned" from a wrong path, a renamed
// directory or a chart that renders nothing must not pass. An empty List
// (kubectl get in an empty namespace) is an answer, not an empty input.
func exitFor(rep *report.Report, threshold check.Severity) error {
	if len(rep.Errors) > 0 {
		return &cmdutil.ExitError{Code: 2}
	}
	if rep.Summary.Objects == 0 {
		var empty []string
		for _, n := range rep.Notices {
			if n.Kind == report.NoticeEmptyInput {
				empty = append(empty, n.File)
			}
		}
		if len(empty) > 0 {
			return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("no Kubernetes object found in %s: nothing was checked", strings.Join(empty, ", "))}
		}
	}
	if threshold > 0 && rep.CountAtLeast(threshold) > 0 {
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}

// FormatNames lists the output formats.
func FormatNames() []string {
	var names []string
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
