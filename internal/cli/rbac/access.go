package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/rbac"
)

type accessFlags struct {
	input
	output string
}

func newAccess(streams cmdutil.Streams) *cobra.Command {
	f := &accessFlags{}
	cmd := &cobra.Command{
		Use:   "access SUBJECT (-f FILE... | --cluster)",
		Short: "List everything one subject may do, per namespace",
		Long: "List what the RBAC authorizer allows SUBJECT: the rules of the ClusterRoleBindings that apply\n" +
			"to it (cluster-wide, and so in every namespace), then those of the RoleBindings of each\n" +
			"namespace, compacted: the verbs of one resource merged, resources with the same verbs merged.\n\n" +
			"SUBJECT is User:NAME, Group:NAME, ServiceAccount:NAMESPACE:NAME or\n" +
			"system:serviceaccount:NAMESPACE:NAME. Bindings to the groups the API server implies count:\n" +
			"system:authenticated for users and group members, the service account groups for a\n" +
			"service account. Bindings to roles that do not exist are reported on standard error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAccess(cmd.Context(), streams, f, args[0])
		},
	}
	f.input.register(cmd)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	return cmd
}

func runAccess(ctx context.Context, streams cmdutil.Streams, f *accessFlags, arg string) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.output != "table" && f.output != "json" {
		return cmdutil.Usage("-o must be table or json, not %q", f.output)
	}
	sub, err := rbac.ParseSubject(arg)
	if err != nil {
		return cmdutil.Usage("%v", err)
	}
	set, err := f.load(ctx, streams)
	if err != nil {
		return err
	}
	scopes, missing := set.AccessOf(sub.Identity())
	for _, m := range missing {
		fmt.Fprintf(streams.Err, "warning: %s\n", m)
	}
	if scopes == nil {
		scopes = []rbac.Scope{}
	}
	if f.output == "json" {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Subject rbac.Subject `json:"subject"`
			Groups  []string     `json:"groups"`
			Scopes  []rbac.Scope `json:"scopes"`
		}{sub, sub.Identity().Groups, scopes})
	}
	return writeAccess(streams.Out, scopes)
}

func writeAccess(w io.Writer, scopes []rbac.Scope) error {
	if len(scopes) == 0 {
		_, err := fmt.Fprintln(w, "No binding grants this subject anything.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tVERBS\tRESOURCES\tRESOURCE NAMES\tNON-RESOURCE URLS\tVIA")
	for _, s := range scopes {
		ns := s.Namespace
		if ns == "" {
			ns = "(cluster-wide)"
		}
		for _, r := range s.Rules {
			var res []string
			for _, g := range r.APIGroups {
				for _, x := range r.Resources {
					if g != "" {
						base, sub, ok := strings.Cut(x, "/")
						x = base + "." + g
						if ok {
							x += "/" + sub
						}
					}
					res = append(res, x)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ns, strings.Join(r.Verbs, ","), list(res),
				list(r.ResourceNames), list(r.NonResourceURLs), strings.Join(r.Via, ", "))
		}
	}
	return tw.Flush()
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
