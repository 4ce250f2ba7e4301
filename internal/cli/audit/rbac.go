package audit

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/report"
)

type rbacFlags struct {
	user, serviceAccount, name string
	// The identity's current RBAC, to report what it holds and never used.
	files               []string
	cluster             bool
	kubeconfig, context string
	output, failOn      string
	color               string
}

func newRBAC(streams cmdutil.Streams, version string) *cobra.Command {
	f := &rbacFlags{}
	cmd := &cobra.Command{
		Use:   "rbac FILE|DIR|-... (--user NAME | --serviceaccount NS:NAME)",
		Short: "Derive the least RBAC an identity needs from what it did in audit logs",
		Long: "Read audit events (as 'audit events' does) and print, as YAML ready to apply, the Roles (one\n" +
			"per namespace the identity worked in) and the ClusterRole (cluster-scoped requests, lists\n" +
			"across namespaces, non-resource URLs) that allow exactly the authorized requests it made,\n" +
			"each with its binding. The impersonated user of a request wins over its authenticated\n" +
			"user. resourceNames are set only where every request named the object (never for create,\n" +
			"list, watch and deletecollection, which RBAC cannot restrict by name).\n\n" +
			"Given the identity's current RBAC (-f FILE... or --cluster), the permissions it holds but\n" +
			"never used in the window are findings of check audit-rbac-unused-permission (low), one per\n" +
			"rule of a Role or ClusterRole bound to it that grants some (or has a wildcard), located at\n" +
			"the rule and naming the binding and the window of events. With -o yaml (the default) they\n" +
			"follow the roles as comments (\"# unused: ...\"); -o table, json, sarif or junit prints them\n" +
			"as scan's report. What the bootstrap policy grants every identity (discovery, self-reviews)\n" +
			"is left out.\n\n" +
			"Exit codes: 0 done, nothing at or above --fail-on; 1 unused-permission findings at or above\n" +
			"--fail-on; 2 usage or input errors, or no request of the identity.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRBAC(cmd.Context(), streams, version, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "the user name")
	fl.StringVar(&f.serviceAccount, "serviceaccount", "", "the service account, NAMESPACE:NAME")
	fl.StringVar(&f.name, "name", "", "name of the roles and bindings (default: kubeharden-least-<identity>)")
	fl.StringArrayVarP(&f.files, "filename", "f", nil, "manifests holding the identity's current RBAC objects, to report unused permissions (repeatable)")
	fl.BoolVar(&f.cluster, "cluster", false, "read the identity's current RBAC from the live cluster, to report unused permissions")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "with --cluster, the kubeconfig file")
	fl.StringVar(&f.context, "context", "", "with --cluster, the kubeconfig context")
	fl.StringVarP(&f.output, "output", "o", "yaml", "output format: yaml (the least roles), or the unused permissions as "+strings.Join(formatNames(), ", "))
	fl.StringVar(&f.failOn, "fail-on", "none", "exit 1 when an unused-permission finding at or above this severity is reported (none: never)")
	fl.StringVar(&f.color, "color", "auto", "colour the table output: auto (only on a terminal), always, never")
	return cmd
}

func runRBAC(ctx context.Context, streams cmdutil.Streams, version string, f *rbacFlags, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	subject := f.user
	switch {
	case (f.user == "") == (f.serviceAccount == ""):
		return cmdutil.Usage("give exactly one of --user and --serviceaccount")
	case f.serviceAccount != "":
		ns, name, ok := strings.Cut(f.serviceAccount, ":")
		if !ok || ns == "" || name == "" {
			return cmdutil.Usage("--serviceaccount must be NAMESPACE:NAME, not %q", f.serviceAccount)
		}
		subject = "system:serviceaccount:" + ns + ":" + name
	}
	format, ok := formats[f.output]
	if !ok && f.output != "yaml" {
		return cmdutil.Usage("-o must be yaml or one of %s, not %q", strings.Join(formatNames(), ", "), f.output)
	}
	withRBAC := len(f.files) > 0 || f.cluster
	if format != nil && !withRBAC {
		return cmdutil.Usage("-o %s reports the unused permissions: give the identity's current RBAC with -f FILE... or --cluster", f.output)
	}
	var threshold check.Severity
	if f.failOn != "none" && f.failOn != "" {
		var err error
		if threshold, err = check.ParseSeverity(f.failOn); err != nil {
			return cmdutil.Usage("--fail-on: %v (or none)", err)
		}
	}
	color, err := cmdutil.Color(f.color, streams.Out)
	if err != nil {
		return err
	}
	name := f.name
	if name == "" {
		name = "kubeharden-least-" + strings.NewReplacer(":", "-", "@", "-", "/", "-").Replace(strings.TrimPrefix(subject, "system:serviceaccount:"))
	}
	files, err := auditevent.Files(args)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	u := auditevent.NewUsage(subject)
	errs := 0
	bad := func(err error) {
		errs++
		fmt.Fprintf(streams.Err, "kubeharden: %v\n", err)
	}
	for _, path := range files {
		label := path
		var rc io.ReadCloser
		if path == "-" {
			label = "<stdin>"
			rc, err = auditevent.Decompress(io.NopCloser(streams.In))
		} else {
			rc, err = auditevent.Open(path)
		}
		if err != nil {
			bad(fmt.Errorf("%s: %v", label, err))
			continue
		}
		err = auditevent.Stream(ctx, rc, label, func(e *auditevent.Event) error { u.Observe(e); return nil }, bad)
		rc.Close()
		if err != nil {
			bad(fmt.Errorf("%s: %v", label, err))
		}
	}
	if u.Requests == 0 {
		return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("no authorized request by %s in %s", subject, strings.Join(args, ", "))}
	}
	var rep *report.Report
	if withRBAC {
		objs, err := readRBAC(ctx, streams, f)
		if err != nil {
			return err
		}
		rep = unusedReport(objs, u)
	}
	if format != nil {
		if err := format(streams.Out, rep, render.Options{Color: color, ToolVersion: version}); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
	} else if err := writeRoles(streams, u, name, rep); err != nil {
		return err
	}
	if rep != nil {
		for _, e := range rep.Errors {
			if format == nil {
				bad(fmt.Errorf("%s", e.Error()))
			} else {
				errs++
			}
		}
	}
	switch {
	case errs > 0:
		return &cmdutil.ExitError{Code: 2}
	case rep != nil && threshold > 0 && rep.CountAtLeast(threshold) > 0:
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}

// writeRoles prints the least roles as YAML and, given a report, its
// findings as comments.
func writeRoles(streams cmdutil.Streams, u *auditevent.Usage, name string, rep *report.Report) error {
	fmt.Fprintf(streams.Out, "# The least RBAC for %s: what it did in %d authorized requests.\n", u.Subject, u.Requests)
	for i, o := range u.Roles(name) {
		b, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(streams.Out, "---")
		}
		streams.Out.Write(b)
	}
	if rep == nil {
		return nil
	}
	fmt.Fprintf(streams.Out, "# %d rules grant %s permissions it never used (%s):\n", len(rep.Findings), u.Subject, UnusedPermission.ID)
	for _, f := range rep.Findings {
		where := f.Object.Ref.String()
		if l := f.Loc(); l.File != "" {
			where = fmt.Sprintf("%s:%d %s", l.File, l.Line, where)
		}
		fmt.Fprintf(streams.Out, "# unused: %s: %s\n", where, f.Message)
	}
	for _, n := range rep.Notices {
		fmt.Fprintf(streams.Out, "# notice: %s\n", n.Message)
	}
	return nil
}
