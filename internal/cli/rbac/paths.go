package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/rbac"
)

type pathsFlags struct {
	input
	output string
	fail   bool
}

func newPaths(streams cmdutil.Streams) *cobra.Command {
	f := &pathsFlags{}
	cmd := &cobra.Command{
		Use:   "paths [SUBJECT] (-f FILE... | --cluster)",
		Short: "Find escalation paths to cluster-admin-equivalent power",
		Long: "Find the shortest chain of escalation primitives from each subject to power equal to\n" +
			"cluster-admin's, each step decided by the RBAC authorizer and shown with the binding, role\n" +
			"and rule that allows it.\n\n" +
			"Without SUBJECT the paths start at every subject the bindings name except system ones\n" +
			"(system: users and groups, service accounts of kube-system, kube-public, kube-node-lease)\n" +
			"and at the service account of every exposed workload (selected by a LoadBalancer or NodePort\n" +
			"Service, or by a Service an Ingress routes to). SUBJECT is User:NAME, Group:NAME,\n" +
			"ServiceAccount:NAMESPACE:NAME or system:serviceaccount:NAMESPACE:NAME.\n\n" +
			"Primitives: create pods or pod controllers in a namespace (its service accounts); exec,\n" +
			"attach, port-forward or ephemeral containers (the service accounts of its running pods,\n" +
			"approximated as all of the namespace's); list, watch or get of a legacy token Secret; create\n" +
			"serviceaccounts/token; impersonate users, service accounts, or groups (system:masters) together\n" +
			"with a user, as the API server requires; create and approve a client CSR (any user or group\n" +
			"but system:masters, which the API server refuses); create or update a (Cluster)RoleBinding\n" +
			"with bind on cluster-admin, escalate with update on roles; and, cluster-admin-equivalent\n" +
			"themselves: */*/*, get nodes/proxy, write webhook configurations, admission policies, CRDs or\n" +
			"APIServices, create persistentvolumes.\n\n" +
			"Nodes are targets too (Node:NAME; Node:* for any node when no Node object is read): create\n" +
			"pods where Pod Security Admission admits privileged ones (namespace label\n" +
			"pod-security.kubernetes.io/enforce privileged, or none: the API server's default, an\n" +
			"approximate hop), or patch/update that namespace to relabel it, then pin a privileged pod to\n" +
			"the node with spec.nodeName; exec, attach or an ephemeral container into a pod that is\n" +
			"privileged, has hostPID with SYS_PTRACE, or mounts a hostPath writable or over\n" +
			"/var/lib/kubelet/pods (its node). Root on a node has the tokens of its pods' service accounts\n" +
			"(with --cluster, the Pods with that spec.nodeName; with -f, any workload's), the kubelet's\n" +
			"group system:nodes, and on a control-plane node (node-role.kubernetes.io/control-plane;\n" +
			"assumed kubeadm-like, approximate, without Node objects) cluster-admin. Approximate hops say\n" +
			"what they assume.\n\n" +
			"Service accounts are those of the objects read, plus\n" +
			"default. With -f, the ServiceAccounts the bindings name are taken to exist, and the built-in\n" +
			"cluster-admin, admin and edit ClusterRoles are assumed when the files do not define them (as\n" +
			"the rbac-escalation-path check of a scan does).\n\n" +
			"Exit codes: 0 (with --fail: no path), 1 with --fail when a path exists, 2 usage or input errors.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPaths(cmd.Context(), streams, f, args)
		},
	}
	f.input.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, json, dot or mermaid")
	fl.BoolVar(&f.fail, "fail", false, "exit 1 when any path exists")
	return cmd
}

// Step is one request of a hop in the JSON output.
type Step struct {
	Request string `json:"request"`
	Binding string `json:"binding"`
	Role    string `json:"role"`
	Rule    int    `json:"rule"`
}

// Hop is one edge of a path in the JSON output.
type Hop struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Primitive   string `json:"primitive"`
	Approximate bool   `json:"approximate,omitempty"`
	Assumption  string `json:"assumption,omitempty"`
	Steps       []Step `json:"steps"`
}

// PathOut is one path in the JSON output.
type PathOut struct {
	Subject string   `json:"subject"`
	Exposed []string `json:"exposedWorkloads,omitempty"`
	Hops    []Hop    `json:"hops"`
}

func runPaths(ctx context.Context, streams cmdutil.Streams, f *pathsFlags, args []string) error {
	if err := f.validate(); err != nil {
		return err
	}
	switch f.output {
	case "table", "json", "dot", "mermaid":
	default:
		return cmdutil.Usage("-o must be table, json, dot or mermaid, not %q", f.output)
	}
	var only *rbac.Subject
	if len(args) == 1 {
		sub, err := rbac.ParseSubject(args[0])
		if err != nil {
			return cmdutil.Usage("%v", err)
		}
		only = &sub
	}
	objs := rbac.NewObjects()
	set, missing, err := f.loadObjects(ctx, streams, objs)
	if err != nil {
		return err
	}
	for _, k := range missing {
		switch k {
		case kinds.ServiceAccount, kinds.Secret, kinds.Service, kinds.Ingress, kinds.Pod, kinds.Namespace, kinds.Node:
			fmt.Fprintf(streams.Err, "warning: could not list %s: paths through them may be missing\n", k.Resource)
		}
	}
	objs.SetLive(f.cluster)
	if !f.cluster {
		// As the rbac-escalation-path check: manifests rarely carry the
		// built-in roles or the ServiceAccounts they bind.
		set.AddMissingBuiltins()
		objs.AddBoundServiceAccounts(set)
	}
	g := rbac.NewGraph(set, objs)
	sources := g.Sources()
	if only != nil {
		sources = []rbac.Subject{*only}
	}
	paths := g.Paths(sources)
	out := make([]PathOut, 0, len(paths))
	for _, p := range paths {
		po := PathOut{Subject: p.Subject.String(), Exposed: p.Exposed}
		for _, e := range p.Hops {
			h := Hop{From: e.From.String(), To: e.To.String(), Primitive: e.Primitive, Approximate: e.Approximate, Assumption: e.Assumption}
			for _, s := range e.Steps {
				st := Step{Request: s.Request.String(), Binding: s.Grant.Binding.String(), Role: s.Grant.Role.String(), Rule: s.Grant.Rule}
				if s.Grant.Binding == (rbac.Ref{}) {
					st.Binding, st.Role = "(system:masters)", "(all access)"
				}
				h.Steps = append(h.Steps, st)
			}
			po.Hops = append(po.Hops, h)
		}
		out = append(out, po)
	}
	switch f.output {
	case "json":
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Paths []PathOut `json:"paths"`
		}{out})
	case "dot":
		err = writeDot(streams.Out, out)
	case "mermaid":
		err = writeMermaid(streams.Out, out)
	default:
		err = writePaths(streams.Out, out)
	}
	if err != nil {
		return err
	}
	if f.fail && len(out) > 0 {
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}

func writePaths(w io.Writer, paths []PathOut) error {
	if len(paths) == 0 {
		_, err := fmt.Fprintln(w, "No escalation path to cluster-admin-equivalent power.")
		return err
	}
	var b strings.Builder
	for i, p := range paths {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %d hop(s) to cluster-admin\n", p.Subject, len(p.Hops))
		if len(p.Exposed) > 0 {
			fmt.Fprintf(&b, "  exposed: %s\n", strings.Join(p.Exposed, ", "))
		}
		for j, h := range p.Hops {
			fmt.Fprintf(&b, "  %d. %s → %s: %s\n", j+1, h.From, h.To, h.Primitive)
			for _, s := range h.Steps {
				fmt.Fprintf(&b, "       %s: %s → %s rule %d\n", s.Request, s.Binding, s.Role, s.Rule)
			}
			if len(h.Steps) == 0 {
				fmt.Fprintf(&b, "       (on the node: no API request)\n")
			}
			if h.Approximate {
				fmt.Fprintf(&b, "       (approximation: %s)\n", h.Assumption)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// edges returns the distinct edges of the paths in order, and the nodes.
func edges(paths []PathOut) ([]Hop, []string) {
	var hops []Hop
	var nodes []string
	seen := map[[2]string]bool{}
	for _, p := range paths {
		for _, h := range p.Hops {
			for _, n := range []string{h.From, h.To} {
				if !slices.Contains(nodes, n) {
					nodes = append(nodes, n)
				}
			}
			if k := [2]string{h.From, h.To}; !seen[k] {
				seen[k] = true
				hops = append(hops, h)
			}
		}
	}
	return hops, nodes
}

func writeDot(w io.Writer, paths []PathOut) error {
	hops, nodes := edges(paths)
	var b strings.Builder
	b.WriteString("digraph escalation {\n  rankdir=LR;\n")
	for _, n := range nodes {
		attr := ""
		switch {
		case n == rbac.ClusterAdmin.String():
			attr = ", shape=doubleoctagon, color=red"
		case strings.HasPrefix(n, rbac.NodeKind+":"):
			attr = ", shape=box3d, color=orange"
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", strconv.Quote(n), strconv.Quote(n), attr)
	}
	for _, h := range hops {
		label := h.Primitive
		if h.Approximate {
			label += " (approx.)"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", strconv.Quote(h.From), strconv.Quote(h.To), strconv.Quote(label))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMermaid(w io.Writer, paths []PathOut) error {
	hops, nodes := edges(paths)
	id := map[string]string{}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, n := range nodes {
		id[n] = "n" + strconv.Itoa(i)
		if strings.HasPrefix(n, rbac.NodeKind+":") {
			// A node: a cylinder-like shape apart from identities.
			fmt.Fprintf(&b, "  %s[(\"%s\")]\n", id[n], mermaidText(n))
			continue
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id[n], mermaidText(n))
	}
	for _, h := range hops {
		label := h.Primitive
		if h.Approximate {
			label += " (approx.)"
		}
		fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", id[h.From], mermaidText(label), id[h.To])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes what would end a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "|", "#124;").Replace(s)
}
