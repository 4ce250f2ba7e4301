// Package node implements "kubeharden node": find the Kubernetes
// components of one node (source/node), run the node checks (checks/node)
// on them with the engine, and report the CIS Kubernetes Benchmark
// sections 1 to 4 control by control, with the findings of failed
// controls, in table, JSON, SARIF or JUnit.
package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/check"
	nodechecks "github.com/kubeharden/kubeharden/checks/node"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/nodeconf"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/render/junit"
	"github.com/kubeharden/kubeharden/render/sarif"
	"github.com/kubeharden/kubeharden/report"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	srcnode "github.com/kubeharden/kubeharden/source/node"
)

type flags struct {
	root, proc     string
	output         string
	checks, skip   []string
	failOn         string
	color          string
	showSuppressed bool
	config         string
	every          time.Duration
}

// NewCommand builds the node command.
func NewCommand(streams cmdutil.Streams, version string) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "node [--root DIR] [--proc DIR]",
		Short: "Check this node's control-plane and kubelet configuration against the CIS Kubernetes Benchmark",
		Long: "Find the Kubernetes components of this node (kube-apiserver, etcd, kube-controller-manager,\n" +
			"kube-scheduler, kubelet, kube-proxy) from running processes, static pod manifests, systemd units,\n" +
			"kubelet configuration files and drop-ins, and k3s/RKE2 config.yaml, and evaluate the CIS Kubernetes\n" +
			"Benchmark v1.12 sections 1 to 4 on their effective settings and files. A component that does not\n" +
			"run here makes its items not-applicable; Manual items are never failures.\n\n" +
			"--root DIR evaluates a node filesystem captured elsewhere (owners named from DIR/etc/passwd and\n" +
			"DIR/etc/group); --proc DIR reads processes from another proc file system (none: no processes).\n\n" +
			"Exit codes: 0 nothing at or above --fail-on; 1 findings at or above --fail-on;\n" +
			"2 usage or input errors, or no component found.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runE(cmd.Context(), streams, version, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "/", "the node's root directory")
	fl.StringVar(&f.proc, "proc", "", "proc file system to read processes from (default: /proc, or DIR/proc with --root; none: no processes)")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: json, junit, sarif, table")
	fl.StringSliceVar(&f.checks, "checks", nil, "run only these check IDs (comma-separated)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these check IDs (comma-separated)")
	fl.StringVar(&f.failOn, "fail-on", "none", "exit 1 when a finding at or above this severity is reported (none: never)")
	fl.StringVar(&f.color, "color", "auto", "colour the table output: auto, always, never")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "show findings suppressed by exceptions")
	fl.StringVar(&f.config, "config", "", "configuration file (default: .kubeharden.yaml found upward from the working directory)")
	fl.DurationVar(&f.every, "every", 0, "evaluate the node again at this interval and never exit (the in-cluster DaemonSet: one report per run on standard output, problems on standard error)")
	return cmd
}

func runE(ctx context.Context, streams cmdutil.Streams, version string, f *flags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := formats[f.output]; !ok && f.output != "table" {
		return cmdutil.Usage("-o must be one of json, junit, sarif, table, not %q", f.output)
	}
	color, err := cmdutil.Color(f.color, streams.Out)
	if err != nil {
		return err
	}
	threshold := check.Severity(0)
	if f.failOn != "none" && f.failOn != "" {
		if threshold, err = check.ParseSeverity(f.failOn); err != nil {
			return cmdutil.Usage("--fail-on: %v (or none)", err)
		}
	}
	cfg, err := cmdutil.LoadConfig(f.config)
	if err != nil {
		return err
	}
	plan := kscan.Plan{Catalogue: nodechecks.Checks(), Only: f.checks, Skip: f.skip, Exceptions: cfg.Exceptions, Now: time.Now}
	selected, err := plan.Select()
	if err != nil {
		return cmdutil.Usage("%v", err)
	}
	if len(selected) == 0 {
		return cmdutil.Usage("no check left to run: --checks and --skip exclude every node check")
	}
	if f.every < 0 {
		return cmdutil.Usage("--every must not be negative")
	}
	if f.every == 0 {
		return once(ctx, streams, version, f, plan, selected, color, threshold)
	}
	for {
		if err := once(ctx, streams, version, f, plan, selected, color, threshold); err != nil {
			var ee *cmdutil.ExitError
			switch {
			case errors.As(err, &ee) && ee.Err == nil && ee.Code == 1:
				// Findings at or above --fail-on: the report says so.
			case errors.As(err, &ee) && ee.Err == nil:
				fmt.Fprintln(streams.Err, "kubeharden node: the report lists input errors")
			default:
				fmt.Fprintf(streams.Err, "kubeharden node: %v\n", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.every):
		}
	}
}

// once evaluates the node and writes one report.
func once(ctx context.Context, streams cmdutil.Streams, version string, f *flags, plan kscan.Plan, selected []*check.Check, color bool, threshold check.Severity) error {
	n, err := srcnode.Discover(ctx, srcnode.Options{Root: f.root, Proc: f.proc})
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	plan.Sources = []source.Source{source.Func(func(_ context.Context, sink source.Sink) error { n.Emit(sink); return nil })}
	rep, err := kscan.Run(ctx, plan)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	res := &Result{Node: n, Report: rep, Controls: nodechecks.Controls(selected, n.Components)}
	res.Sections = nodechecks.Summarize(res.Controls)
	opts := render.Options{Color: color, ShowSuppressed: f.showSuppressed, ToolVersion: version}
	if f.output == "table" {
		err = renderTable(streams.Out, res, opts)
	} else if f.output == "json" {
		err = renderJSON(streams.Out, res, opts)
	} else {
		err = formats[f.output](streams.Out, rep, opts)
	}
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	switch {
	case len(rep.Errors) > 0:
		return &cmdutil.ExitError{Code: 2}
	case len(n.Components) == 0:
		return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("no Kubernetes component found under %s: nothing was checked", f.root)}
	case threshold > 0 && rep.CountAtLeast(threshold) > 0:
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}

var formats = map[string]render.Func{"json": jsonout.Render, "sarif": sarif.Render, "junit": junit.Render}

// Result is everything the node command reports.
type Result struct {
	Node     *srcnode.Node
	Report   *report.Report
	Controls []report.Control
	Sections []report.SectionSummary
}

// componentInfo is how the JSON report lists the components found: what
// was found and how, and everything the checks judged (settings with
// their sources, file stats, encryption and audit policy), in the field
// names of nodeconf.Component, so that a report read back (the cluster
// scan collects the node DaemonSet's reports) can be judged again.
type componentInfo struct {
	Component    string                       `json:"component"`
	Version      string                       `json:"version,omitempty"`
	Distribution string                       `json:"distribution,omitempty"`
	Found        []nodeconf.Discovery         `json:"found"`
	Settings     map[string]nodeconf.Setting  `json:"settings,omitempty"`
	Files        map[string]nodeconf.FileStat `json:"files,omitempty"`
	PKI          []nodeconf.FileStat          `json:"pki,omitempty"`
	Encryption   *nodeconf.Encryption         `json:"encryption,omitempty"`
	AuditPolicy  *nodeconf.AuditPolicy        `json:"auditPolicy,omitempty"`
}

// renderJSON writes the scan's JSON document with the node's components,
// controls and per-section summary added after its fields.
func renderJSON(w io.Writer, res *Result, opts render.Options) error {
	var buf bytes.Buffer
	if err := jsonout.Render(&buf, res.Report, opts); err != nil {
		return err
	}
	doc := bytes.TrimRight(buf.Bytes(), " \n\t")
	if len(doc) == 0 || doc[len(doc)-1] != '}' {
		return fmt.Errorf("unexpected JSON document from the JSON renderer")
	}
	var comps []componentInfo
	for _, c := range res.Node.Components {
		comps = append(comps, componentInfo{Component: c.Component, Version: c.Version, Distribution: c.Distribution, Found: c.Found,
			Settings: c.Settings, Files: c.Files, PKI: c.PKI, Encryption: c.Encryption, AuditPolicy: c.AuditPolicy})
	}
	extra := []struct {
		key string
		val any
	}{
		{"benchmark", map[string]string{"framework": "CIS", "version": check.CISVersion}},
		{"components", nonNil(comps)},
		{"controls", nonNil(res.Controls)},
		{"sections", nonNil(res.Sections)},
	}
	out := append([]byte(nil), doc[:len(doc)-1]...)
	out = bytes.TrimRight(out, " \n\t")
	for _, e := range extra {
		b, err := json.MarshalIndent(e.val, "  ", "  ")
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf(",\n  %q: ", e.key)...)
		out = append(out, b...)
	}
	out = append(out, "\n}\n"...)
	_, err := w.Write(out)
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

var statusLabel = map[string]string{
	report.ControlPass: "PASS", report.ControlFail: "FAIL", report.ControlManual: "WARN", report.ControlNotApplicable: "N/A ",
}

var statusColor = map[string]string{
	report.ControlPass: "\x1b[32m", report.ControlFail: "\x1b[31m", report.ControlManual: "\x1b[33m", report.ControlNotApplicable: "\x1b[90m",
}

// renderTable writes a benchmark report: the components found, then each
// section's controls with their status, the actual value and its source
// for those that need attention, and the counts per section.
func renderTable(w io.Writer, res *Result, opts render.Options) error {
	var b strings.Builder
	label := func(status string) string {
		l := "[" + statusLabel[status] + "]"
		if opts.Color {
			return statusColor[status] + l + "\x1b[0m"
		}
		return l
	}
	fmt.Fprintf(&b, "CIS Kubernetes Benchmark %s, sections 1-4", check.CISVersion)
	if res.Node.Distribution != "" {
		fmt.Fprintf(&b, " (%s node)", res.Node.Distribution)
	}
	b.WriteString("\n\nComponents found:\n")
	if len(res.Node.Components) == 0 {
		b.WriteString("  none\n")
	}
	for _, c := range res.Node.Components {
		var how []string
		for _, d := range c.Found {
			h := d.How
			if d.Path != "" {
				h += " " + d.Path
			}
			how = append(how, h)
		}
		v := c.Version
		if v == "" {
			v = "version unknown"
		}
		fmt.Fprintf(&b, "  %-24s %-18s %s\n", c.Component, v, strings.Join(how, "; "))
	}
	section := ""
	for _, c := range res.Controls {
		if s := nodechecks.SectionOf(c.ID); s != section {
			section = s
			fmt.Fprintf(&b, "\n%s %s\n", s, nodechecks.SectionTitle(s))
		}
		typ := ""
		if c.Type == "manual" {
			typ = " (Manual)"
		}
		fmt.Fprintf(&b, "%s %-7s %s%s [%s]\n", label(c.Status), c.ID, c.Title, typ, c.Component)
		if c.Status == report.ControlFail || c.Status == report.ControlManual {
			fmt.Fprintf(&b, "         actual:   %s\n         expected: %s\n", c.Actual, c.Expected)
			if c.Source != nil && c.Source.Kind != nodeconf.SourceDefault && c.Source.File != "" {
				loc := c.Source.File
				if c.Source.Line > 0 {
					loc = fmt.Sprintf("%s:%d", loc, c.Source.Line)
				}
				fmt.Fprintf(&b, "         set in:   %s (%s)\n", loc, c.Source.Kind)
			}
			fmt.Fprintf(&b, "         fix:      %s\n", c.Remediation)
		}
	}
	b.WriteString("\nSummary\n")
	fmt.Fprintf(&b, "  %-7s %-40s %5s %5s %6s %5s\n", "section", "", "pass", "fail", "manual", "n/a")
	var total report.SectionSummary
	for _, s := range res.Sections {
		fmt.Fprintf(&b, "  %-7s %-40s %5d %5d %6d %5d\n", s.Section, s.Title, s.Pass, s.Fail, s.Manual, s.NotApplicable)
		total.Pass += s.Pass
		total.Fail += s.Fail
		total.Manual += s.Manual
		total.NotApplicable += s.NotApplicable
	}
	fmt.Fprintf(&b, "  %-7s %-40s %5d %5d %6d %5d\n", "total", "", total.Pass, total.Fail, total.Manual, total.NotApplicable)
	for _, e := range res.Report.Errors {
		fmt.Fprintf(&b, "\nerror: %s", e.Error())
	}
	notices := append([]report.Notice(nil), res.Report.Notices...)
	sort.SliceStable(notices, func(i, j int) bool { return notices[i].Kind < notices[j].Kind })
	for _, n := range notices {
		if n.Kind == report.NoticeUncoveredKinds {
			continue
		}
		fmt.Fprintf(&b, "\nnotice: %s", n.Message)
	}
	if len(res.Report.Errors)+len(notices) > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
