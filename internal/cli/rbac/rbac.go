// Package rbac implements "kubeharden rbac": RBAC questions answered
// offline, from manifests or from a cluster's RBAC objects read once, the
// way the API server's RBAC authorizer answers them.
package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/rbac"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// input is where the RBAC objects come from.
type input struct {
	files      []string
	cluster    bool
	kubeconfig string
	context    string
}

func (in *input) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&in.files, "filename", "f", nil, "file or directory of manifests holding the RBAC objects (repeatable; - for standard input)")
	fl.BoolVar(&in.cluster, "cluster", false, "read the RBAC objects of the live cluster instead of files")
	fl.StringVar(&in.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster configuration)")
	fl.StringVar(&in.context, "context", "", "kubeconfig context (default: the current context)")
}

func (in *input) validate() error {
	switch {
	case in.cluster && len(in.files) > 0:
		return cmdutil.Usage("give -f files or --cluster, not both")
	case !in.cluster && len(in.files) == 0:
		return cmdutil.Usage("nothing to read: give -f FILE (repeatable) or --cluster")
	case !in.cluster && (in.kubeconfig != "" || in.context != ""):
		return cmdutil.Usage("--kubeconfig and --context need --cluster")
	}
	return nil
}

// defaultNamespace is kubectl's: the kubeconfig context's namespace with
// --cluster, "default" otherwise.
func (in *input) defaultNamespace() string {
	if in.cluster {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = in.kubeconfig
		cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: in.context})
		if ns, _, err := cfg.Namespace(); err == nil && ns != "" {
			return ns
		}
	}
	return "default"
}

// load reads the RBAC objects. Any input error fails the command: an
// answer from part of the objects could be wrong.
func (in *input) load(ctx context.Context, streams cmdutil.Streams) (*rbac.Set, error) {
	set, _, err := in.loadObjects(ctx, streams, nil)
	return set, err
}

// objectSink is a collector that also keeps, in objs, what escalation
// paths need of the other objects.
type objectSink struct {
	*rbac.Collector
	objs *rbac.Objects
}

func (s objectSink) Object(o *inventory.Object) {
	if !s.Set.AddObject(o) {
		s.objs.AddObject(o)
	}
}

// loadObjects is load, also filling objs (when not nil) and returning the
// kinds the source could not list.
func (in *input) loadObjects(ctx context.Context, streams cmdutil.Streams, objs *rbac.Objects) (*rbac.Set, []*kinds.Type, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var src source.Source
	if in.cluster {
		src = cluster.Source{Options: cluster.Options{Kubeconfig: in.kubeconfig, Context: in.context}}
	} else {
		src = manifest.Source{Loader: &manifest.Loader{Stdin: streams.In}, Paths: in.files}
	}
	col := rbac.NewCollector()
	var sink source.Sink = col
	if objs != nil {
		sink = objectSink{col, objs}
	}
	if err := src.Read(ctx, sink); err != nil {
		return nil, nil, &cmdutil.ExitError{Code: 2, Err: err}
	}
	if len(col.Errors) > 0 {
		msgs := make([]string, len(col.Errors))
		for i, e := range col.Errors {
			msgs[i] = e.Error()
		}
		return nil, nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("reading the RBAC objects: %s", strings.Join(msgs, "; "))}
	}
	for _, k := range col.Missing {
		switch k {
		case kinds.Role, kinds.ClusterRole, kinds.RoleBinding, kinds.ClusterRoleBinding:
			return nil, nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("could not list %s: the answer would be incomplete", k.Resource)}
		}
	}
	return col.Set, col.Missing, nil
}

// NewCommand builds the rbac command and its subcommands.
func NewCommand(streams cmdutil.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rbac",
		Short: "Answer RBAC questions offline, as the API server's RBAC authorizer would",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCanI(streams), newWhoCan(streams), newAccess(streams), newPaths(streams))
	return cmd
}

// parseRequest reads VERB and (TYPE[.GROUP][/NAME] | NONRESOURCEURL) as
// kubectl auth can-i does.
func parseRequest(verb, what, subresource string) (rbac.Request, error) {
	q := rbac.Request{Verb: verb}
	if strings.HasPrefix(what, "/") {
		if subresource != "" {
			return q, cmdutil.Usage("--subresource can not be used with NonResourceURL")
		}
		q.Path = what
		return q, nil
	}
	typ, name, _ := strings.Cut(what, "/")
	q.Name = name
	q.Group, q.Resource = resourceFor(typ)
	q.Subresource = subresource
	if q.Resource == "" {
		return q, cmdutil.Usage("no resource type in %q", what)
	}
	return q, nil
}

// resourceFor maps TYPE[.GROUP] to an API group and plural resource: the
// kinds kubeharden knows are found by resource or kind name; anything else
// is taken as RESOURCE[.GROUP], as kubectl does for types the server does
// not list.
func resourceFor(arg string) (group, resource string) {
	arg = strings.ToLower(arg)
	if arg == "*" {
		return "", "*"
	}
	res, grp, dotted := strings.Cut(arg, ".")
	for _, k := range kinds.Listed() {
		if (k.Resource == arg || strings.ToLower(k.Kind) == arg) && !dotted {
			return k.Group, k.Resource
		}
		if dotted && k.Group == grp && (k.Resource == res || strings.ToLower(k.Kind) == res) {
			return k.Group, k.Resource
		}
	}
	return grp, res
}

type canIFlags struct {
	input
	subresource   string
	namespace     string
	allNamespaces bool
	as            string
	asGroups      []string
	quiet         bool
}

func newCanI(streams cmdutil.Streams) *cobra.Command {
	f := &canIFlags{}
	cmd := &cobra.Command{
		Use:   "can-i VERB (TYPE[.GROUP][/NAME] | NONRESOURCEURL) --as USER [--as-group GROUP]... (-f FILE... | --cluster)",
		Short: "Check whether a user may perform an action, as kubectl auth can-i --as would answer",
		Long: "Answer kubectl auth can-i --as USER offline, from the Roles, ClusterRoles, RoleBindings and\n" +
			"ClusterRoleBindings in files (-f) or read from a cluster (--cluster).\n\n" +
			"The identity is the one impersonation gives: a service account user name\n" +
			"(system:serviceaccount:NS:NAME) gets the service account groups when no --as-group is given,\n" +
			"and every user system:authenticated (system:anonymous: system:unauthenticated).\n\n" +
			"Prints yes or no (with the authorizer's reason, such as a role a binding refers to that does\n" +
			"not exist). Exit codes: 0 yes, 1 no, 2 usage or input errors.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCanI(cmd.Context(), streams, f, cmd.Flags().Changed("namespace"), args)
		},
	}
	f.input.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.subresource, "subresource", "", "subresource, such as pods/log or deployments/scale")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the request (default: the kubeconfig context's with --cluster, default otherwise)")
	fl.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "ask about every namespace: only ClusterRoleBindings count")
	fl.StringVar(&f.as, "as", "", "user name to ask for (required)")
	fl.StringArrayVar(&f.asGroups, "as-group", nil, "group to ask for (repeatable)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing, only set the exit code")
	return cmd
}

func runCanI(ctx context.Context, streams cmdutil.Streams, f *canIFlags, nsChanged bool, args []string) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.as == "" {
		return cmdutil.Usage("--as USER is required: there is no identity to ask for offline")
	}
	if f.allNamespaces && nsChanged {
		return cmdutil.Usage("--namespace and --all-namespaces exclude each other")
	}
	q, err := parseRequest(args[0], args[1], f.subresource)
	if err != nil {
		return err
	}
	if !q.NonResource() {
		switch {
		case f.allNamespaces:
		case nsChanged:
			q.Namespace = f.namespace
		default:
			q.Namespace = f.defaultNamespace()
		}
	}
	set, err := f.load(ctx, streams)
	if err != nil {
		return err
	}
	d := set.Authorize(rbac.Impersonate(f.as, f.asGroups), q)
	if !f.quiet {
		if d.Allowed {
			fmt.Fprintln(streams.Out, "yes")
		} else if r := d.ServerReason(); r != "" {
			fmt.Fprintf(streams.Out, "no - %s\n", r)
		} else {
			fmt.Fprintln(streams.Out, "no")
		}
	}
	if !d.Allowed {
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}

type whoCanFlags struct {
	input
	subresource string
	namespace   string
	output      string
}

func newWhoCan(streams cmdutil.Streams) *cobra.Command {
	f := &whoCanFlags{}
	cmd := &cobra.Command{
		Use:   "who-can VERB (TYPE[.GROUP][/NAME] | NONRESOURCEURL) [-n NS] (-f FILE... | --cluster)",
		Short: "List the subjects the bindings name that may perform an action, and what grants it",
		Long: "List every User, Group and ServiceAccount named by a RoleBinding or ClusterRoleBinding that\n" +
			"the RBAC authorizer would allow the request, with each binding and role that grants it.\n\n" +
			"A User is asked about with no groups, a Group as a member of that group alone, a\n" +
			"ServiceAccount with the groups every service account has (system:serviceaccounts,\n" +
			"system:serviceaccounts:NS, system:authenticated), so a service account also shows grants\n" +
			"to those groups. Without -n the request is cluster-wide: only ClusterRoleBindings count.\n" +
			"Members of system:masters may do everything; a system:masters group subject is shown so.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWhoCan(cmd.Context(), streams, f, args)
		},
	}
	f.input.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.subresource, "subresource", "", "subresource, such as pods/log or deployments/scale")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the request (default: cluster-wide)")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// Via is one binding and role in the JSON output.
type Via struct {
	Binding string `json:"binding"`
	Role    string `json:"role"`
}

// Subject is one allowed subject in the JSON output.
type Subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Via       []Via  `json:"via"`
}

func runWhoCan(ctx context.Context, streams cmdutil.Streams, f *whoCanFlags, args []string) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.output != "table" && f.output != "json" {
		return cmdutil.Usage("-o must be table or json, not %q", f.output)
	}
	q, err := parseRequest(args[0], args[1], f.subresource)
	if err != nil {
		return err
	}
	if !q.NonResource() {
		q.Namespace = f.namespace
	}
	set, err := f.load(ctx, streams)
	if err != nil {
		return err
	}
	subjects := []Subject{}
	for _, a := range set.WhoCan(q) {
		s := Subject{Kind: a.Kind, Name: a.Name, Namespace: a.Namespace}
		for _, g := range a.Via {
			if g.Binding == (rbac.Ref{}) {
				s.Via = append(s.Via, Via{Binding: "(system:masters)", Role: "(all access)"})
				continue
			}
			s.Via = append(s.Via, Via{Binding: g.Binding.String(), Role: g.Role.String()})
		}
		subjects = append(subjects, s)
	}
	if f.output == "json" {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Subjects []Subject `json:"subjects"`
		}{subjects})
	}
	return writeTable(streams.Out, subjects)
}

func writeTable(w io.Writer, subjects []Subject) error {
	if len(subjects) == 0 {
		_, err := fmt.Fprintln(w, "No subject is allowed.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tNAMESPACE\tBINDING\tROLE")
	for _, s := range subjects {
		for _, v := range s.Via {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Kind, s.Name, dash(s.Namespace), v.Binding, v.Role)
		}
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
