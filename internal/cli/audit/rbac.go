package audit

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/rbac"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/source/manifest"
)

type rbacFlags struct {
	user, serviceAccount, name string
	// The identity's current RBAC, to report what it holds and never used.
	files               []string
	cluster             bool
	kubeconfig, context string
}

func newRBAC(streams cmdutil.Streams) *cobra.Command {
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
			"never used in the window follow, one per line, as YAML comments (\"# unused: ...\"); what the\n" +
			"bootstrap policy grants every identity (discovery, self-reviews) is left out.\n\n" +
			"Exit codes: 0 roles printed; 2 usage or input errors, or no request of the identity.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRBAC(cmd.Context(), streams, f, args)
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
	return cmd
}

func runRBAC(ctx context.Context, streams cmdutil.Streams, f *rbacFlags, args []string) error {
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
	fmt.Fprintf(streams.Out, "# The least RBAC for %s: what it did in %d authorized requests.\n", subject, u.Requests)
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
	if len(f.files) > 0 || f.cluster {
		unused, err := unusedPermissions(ctx, streams, f, u)
		if err != nil {
			return err
		}
		fmt.Fprintf(streams.Out, "# %d permissions held by %s and never used in these events:\n", len(unused), subject)
		for _, l := range unused {
			fmt.Fprintf(streams.Out, "# unused: %s\n", l)
		}
	}
	if errs > 0 {
		return &cmdutil.ExitError{Code: 2}
	}
	return nil
}

// bootstrapOnly reports whether a rule comes only from the API server's
// bootstrap bindings of system: roles (ClusterRoleBinding/system:x →
// ClusterRole/system:x), which every authenticated identity holds.
func bootstrapOnly(via []string) bool {
	for _, v := range via {
		if !strings.HasPrefix(v, "ClusterRoleBinding/system:") || !strings.Contains(v, "ClusterRole/system:") {
			return false
		}
	}
	return len(via) > 0
}

// unusedPermissions lists what the identity's current RBAC grants that no
// observed request used: one line per verb and resource (or URL), with
// the scope and the bindings that grant it.
func unusedPermissions(ctx context.Context, streams cmdutil.Streams, f *rbacFlags, u *auditevent.Usage) ([]string, error) {
	var src source.Source
	if f.cluster {
		src = cluster.Source{Options: cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context}}
	} else {
		src = manifest.Source{Loader: &manifest.Loader{Stdin: streams.In}, Paths: f.files}
	}
	col := rbac.NewCollector()
	if err := src.Read(ctx, col); err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: err}
	}
	if len(col.Errors) > 0 {
		return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("reading the RBAC objects: %v", col.Errors[0])}
	}
	user := rbac.User{Name: u.Subject, Groups: []string{"system:authenticated"}}
	if ns, name, ok := rbac.SplitServiceAccount(u.Subject); ok {
		user = rbac.ServiceAccountUser(ns, name)
	}
	scopes, _ := col.Set.AccessOf(user)
	var out []string
	for _, sc := range scopes {
		where := "cluster-wide"
		if sc.Namespace != "" {
			where = "in namespace " + sc.Namespace
		}
		for _, r := range sc.Rules {
			if bootstrapOnly(r.Via) {
				continue // what the bootstrap policy gives every identity (discovery, self-reviews)
			}
			via := strings.Join(r.Via, ", ")
			for _, verb := range r.Verbs {
				for _, url := range r.NonResourceURLs {
					if !u.UsedURL(url, verb) {
						out = append(out, fmt.Sprintf("%s %s %s (via %s)", verb, url, where, via))
					}
				}
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						if !u.Used(sc.Namespace, g, res, verb, r.ResourceNames) {
							what := res
							if g != "" {
								what += "." + g
							}
							if len(r.ResourceNames) > 0 {
								what += " " + strings.Join(r.ResourceNames, ",")
							}
							out = append(out, fmt.Sprintf("%s %s %s (via %s)", verb, what, where, via))
						}
					}
				}
			}
		}
	}
	return out, nil
}
