// Package policy implements "kubeharden policy": admission policy derived
// from what is running. "policy pss-labels" proposes, per namespace, the
// Pod Security Admission labels every current workload already meets;
// "policy vap" prints the checks that CEL can express as
// ValidatingAdmissionPolicies.
package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	kpolicy "github.com/kubeharden/kubeharden/policy"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/report"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/source/helm"
	"github.com/kubeharden/kubeharden/source/kustomize"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// NewCommand builds the policy command and its subcommands.
func NewCommand(streams cmdutil.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Propose admission policy that what runs today already meets",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPSSLabels(streams), newVAP(streams))
	return cmd
}

type flags struct {
	output     string
	cluster    bool
	kubeconfig string
	context    string
	timeout    time.Duration
	exclude    []string
}

var formats = []string{"table", "yaml", "json"}

func newPSSLabels(streams cmdutil.Streams) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "pss-labels [PATH|-]... | pss-labels --cluster",
		Short: "Propose Pod Security Admission namespace labels no current workload breaks",
		Long: "For each namespace, find the strictest Pod Security Standard (privileged < baseline <\n" +
			"restricted) every pod and pod template there meets, evaluated as the API server would\n" +
			"(on the defaulted object, as scan does), and propose the namespace labels\n" +
			"pod-security.kubernetes.io/enforce at that level and audit and warn at the next\n" +
			"stricter one, each pinned to the policy version of the evaluation. The workloads that\n" +
			"block the next level are listed with the checks they fail. Namespaces without\n" +
			"workloads get restricted.\n\n" +
			"Objects are read from files and directories (as scan reads them; objects without a\n" +
			"namespace count in \"default\") or, with --cluster, from every namespace of the live\n" +
			"cluster.\n\n" +
			"Output: table (summary, blockers and kubectl label commands), yaml (Namespace\n" +
			"documents holding only the labels, for kubectl apply --server-side) or json.\n\n" +
			"Exit codes: 0 proposal written; 2 usage errors, or input that could not all be read\n" +
			"(a proposal from a partial view could break what was not seen).",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runE(cmd.Context(), streams, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: "+strings.Join(formats, ", "))
	fl.BoolVar(&f.cluster, "cluster", false, "read every namespace of the live cluster instead of files")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster configuration)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current context)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up reading the cluster after this long")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this gitignore-style pattern in directories (repeatable)")
	return cmd
}

func runE(ctx context.Context, streams cmdutil.Streams, f *flags, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := cmdutil.Inputs(f.cluster, args, f.kubeconfig, f.context, f.exclude); err != nil {
		return err
	}
	render, ok := renderers[f.output]
	if !ok {
		return cmdutil.Usage("-o must be one of %s, not %q", strings.Join(formats, ", "), f.output)
	}
	// No check runs: the engine still computes every pod-bearing object's
	// Pod Security Standards verdict on the defaulted object, as in a scan.
	plan := kscan.Plan{Catalogue: []*check.Check{}, Now: time.Now}
	if f.cluster {
		// Every pod, owned or not: Pod Security Admission judges the pods
		// as admitted (mutating webhooks may have added to the template).
		copts := cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context, Owned: true}
		if cmdutil.IsTerminal(streams.Err) {
			copts.Progress = streams.Err
		}
		cctx, cancel := context.WithTimeoutCause(ctx, f.timeout, fmt.Errorf("--timeout %s reached", f.timeout))
		defer cancel()
		ctx = cctx
		plan.Sources = []source.Source{cluster.Source{Options: copts}}
	} else {
		loader := &manifest.Loader{Stdin: streams.In, Exclude: f.exclude, Renderers: []manifest.DirRenderer{
			helm.New(helm.Options{ReleaseName: "release-name", Namespace: kpolicy.DefaultNamespace}),
			kustomize.New(),
		}}
		plan.Sources = []source.Source{manifest.Source{Loader: loader, Paths: args}}
	}
	rep, err := kscan.Run(ctx, plan)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	if err := complete(rep); err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	ev, err := pss.New()
	if err != nil {
		return err
	}
	return render(streams.Out, kpolicy.PSSLabels(rep.Objects, ev.Version()))
}

// complete refuses a partial view: labels proposed without seeing every
// workload could reject the ones not seen.
func complete(rep *report.Report) error {
	var problems []string
	for _, e := range rep.Errors {
		problems = append(problems, e.Error())
	}
	for _, n := range rep.Notices {
		switch n.Kind {
		case report.NoticeIncomplete, report.NoticeEmptyInput:
			if n.File != "" {
				problems = append(problems, n.File+": "+n.Message)
			} else {
				problems = append(problems, n.Message)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("no labels proposed: the input could not all be read, and labels that fit what was read could reject what was not:\n  %s", strings.Join(problems, "\n  "))
}

var renderers = map[string]func(io.Writer, []kpolicy.NamespaceLabels) error{
	"table": renderTable,
	"yaml":  renderYAML,
	"json":  renderJSON,
}

// labelOrder is the order labels are written in.
var labelOrder = []string{
	kpolicy.Enforce, kpolicy.Enforce + "-version",
	kpolicy.Audit, kpolicy.Audit + "-version",
	kpolicy.Warn, kpolicy.Warn + "-version",
}

func renderJSON(w io.Writer, nss []kpolicy.NamespaceLabels) error {
	version := ""
	if len(nss) > 0 {
		version = nss[0].Version
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		PolicyVersion string                    `json:"policyVersion"`
		Namespaces    []kpolicy.NamespaceLabels `json:"namespaces"`
	}{version, nss})
}

// oneLine keeps text from the objects (reasons name containers) on its
// comment line.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

func failure(fl pss.Failure) string {
	s := fl.ID + ": " + fl.Reason
	if fl.Detail != "" {
		s += " (" + fl.Detail + ")"
	}
	return oneLine(s)
}

func renderYAML(w io.Writer, nss []kpolicy.NamespaceLabels) error {
	var b strings.Builder
	b.WriteString("# Pod Security Admission labels every current workload meets (kubeharden policy pss-labels).\n")
	b.WriteString("# Apply with: kubectl apply --server-side --field-manager=kubeharden --force-conflicts -f FILE\n")
	for _, n := range nss {
		b.WriteString("---\n")
		fmt.Fprintf(&b, "# %s: %d workloads (%s); enforce %s", n.Namespace, n.Workloads, levels(n), n.Enforce)
		if len(n.Blockers) == 0 {
			b.WriteString(".\n")
		} else {
			fmt.Fprintf(&b, "; %s is blocked by:\n", kpolicy.Stricter(n.Enforce))
			for _, bl := range n.Blockers {
				fmt.Fprintf(&b, "#   %s\n", oneLine(bl.Object.String()))
				for _, fl := range bl.Failures {
					fmt.Fprintf(&b, "#     %s\n", failure(fl))
				}
			}
		}
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n", n.Namespace)
		for _, k := range labelOrder {
			fmt.Fprintf(&b, "    %s%s: %s\n", kpolicy.LabelPrefix, k, n.Labels[kpolicy.LabelPrefix+k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func levels(n kpolicy.NamespaceLabels) string {
	var parts []string
	for _, l := range []string{kpolicy.Restricted, kpolicy.Baseline, kpolicy.Privileged} {
		if c := n.Levels[l]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, l))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func renderTable(w io.Writer, nss []kpolicy.NamespaceLabels) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tWORKLOADS\tENFORCE\tAUDIT/WARN\tBLOCKERS")
	for _, n := range nss {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\n", n.Namespace, n.Workloads, n.Enforce, n.Audit, len(n.Blockers))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, n := range nss {
		if len(n.Blockers) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s is blocked by\n", n.Namespace, kpolicy.Stricter(n.Enforce))
		for _, bl := range n.Blockers {
			fmt.Fprintf(&b, "  %s\n", oneLine(bl.Object.String()))
			for _, fl := range bl.Failures {
				fmt.Fprintf(&b, "    %s\n", failure(fl))
			}
		}
	}
	if len(nss) > 0 {
		fmt.Fprintf(&b, "\nApply (policy version %s):\n", nss[0].Version)
		for _, n := range nss {
			fmt.Fprintf(&b, "kubectl label --overwrite namespace %s", n.Namespace)
			for _, k := range labelOrder {
				fmt.Fprintf(&b, " %s%s=%s", kpolicy.LabelPrefix, k, n.Labels[kpolicy.LabelPrefix+k])
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
