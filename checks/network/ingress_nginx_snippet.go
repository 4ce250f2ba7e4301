package network

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// IngressNginxSnippet is check ingress-nginx-snippet. An Ingress must not carry ingress-nginx snippet annotations: each one
// pastes raw nginx configuration into the controller, which runs with a
// service account that can read every Secret of the cluster
// (CVE-2021-25742). The four annotations the CVE class covers are checked,
// plus modsecurity-snippet, which injects configuration the same way. An
// annotation with a blank value adds nothing to the configuration and does
// not fire.
var IngressNginxSnippet = registry.Add(&check.Check{
	ID:       "ingress-nginx-snippet",
	Title:    "Ingress uses an ingress-nginx snippet annotation",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "ingress-nginx copies the configuration-snippet, server-snippet, stream-snippet, auth-snippet and " +
		"modsecurity-snippet annotations verbatim into its nginx configuration. Arbitrary nginx directives (and Lua) " +
		"run inside the controller pod, whose service account can read every Secret in the cluster: anyone allowed to " +
		"create or edit an Ingress can read the controller's token and all secrets (CVE-2021-25742), bypassing RBAC.",
	Remediation: "Remove the snippet annotation and use the dedicated ingress-nginx annotations or ConfigMap options " +
		"for the behaviour it implements, and keep allow-snippet-annotations disabled on the controller (the default " +
		"since ingress-nginx v1.9) so that the admission webhook rejects snippets.",
	Kinds: kinds.List(kinds.Ingress),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		var out []check.Result
		for _, name := range nginxSnippets {
			if strings.TrimSpace(o.Annotation(name)) == "" {
				continue
			}
			out = append(out, check.Result{
				Path:    inventory.Join("metadata", inventory.Key("annotations", name)),
				Message: fmt.Sprintf("annotation %s injects raw nginx configuration into the ingress controller", name),
			})
		}
		return out
	},
})

// nginxSnippets are the ingress-nginx annotations that inject configuration.
var nginxSnippets = []string{
	"nginx.ingress.kubernetes.io/configuration-snippet",
	"nginx.ingress.kubernetes.io/server-snippet",
	"nginx.ingress.kubernetes.io/stream-snippet",
	"nginx.ingress.kubernetes.io/auth-snippet",
	"nginx.ingress.kubernetes.io/modsecurity-snippet",
}

// NginxSnippetAnnotations returns the annotations the check reports, in
// its order (for the check's admission policy).
func NginxSnippetAnnotations() []string { return append([]string(nil), nginxSnippets...) }
