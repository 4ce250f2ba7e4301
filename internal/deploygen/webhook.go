package deploygen

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/kinds"
)

// The webhook's defaults, as deploy/webhook.yaml names them.
const (
	WebhookName      = "validate.kubeharden.io"
	WebhookConfig    = "kubeharden"
	WebhookService   = "kubeharden-webhook"
	WebhookNamespace = "kubeharden"
	WebhookSecret    = "kubeharden-webhook-tls"
	WebhookPath      = "/validate"
	WebhookPort      = 443
	// WebhookTimeoutSeconds: the webhook answers in milliseconds; five
	// seconds covers a pod restart's cold TLS handshake and a loaded
	// node, and bounds what a hung webhook costs each API request.
	WebhookTimeoutSeconds = 5
)

// NotAtAdmission are kinds that object checks cover but the webhook is
// not registered for, with the reason. Their findings come from scans.
var NotAtAdmission = map[*kinds.Type]string{
	kinds.Node: "written by kubelets (registration, labels): a version finding would keep a node out of the cluster; " +
		"kubernetes-version-* findings come from scan --cluster",
	kinds.ClusterRole: "written by the API server's bootstrap-roles hook and the aggregation controller: a denial " +
		"would fail the API server's health check or CRD installs; use scan --cluster and rbac paths",
	kinds.ClusterRoleBinding: "written by the API server's bootstrap-roles hook at every start; use scan --cluster and rbac paths",
}

// AdmissionTypes returns the kinds the webhook is registered for: every
// registered kind that an object check able to run at admission covers
// (not manifest-only, not whole-cluster), except NotAtAdmission, in
// listing order. Custom workloads (kinds.Workload) cannot be listed: a
// rule for each must be added by hand.
func AdmissionTypes() []*kinds.Type {
	covered := map[*kinds.Type]bool{}
	for _, c := range checks.All() {
		if c.Object == nil || c.ManifestOnly || c.NeedsCluster {
			continue
		}
		for _, k := range c.Kinds {
			covered[k] = true
		}
	}
	var out []*kinds.Type
	for _, t := range kinds.Listed() {
		if covered[t] && NotAtAdmission[t] == "" {
			out = append(out, t)
		}
	}
	return out
}

// WebhookRule is one rule of the webhook: resources of one group and
// version.
type WebhookRule struct {
	Group, Version string
	Resources      []string
}

// WebhookRules returns the webhook's rules, by group: every resource of
// AdmissionTypes, and pods/ephemeralcontainers (kubectl debug adds
// containers to a running pod through it: without it, a bypass).
func WebhookRules() []WebhookRule {
	var out []WebhookRule
	at := map[string]int{}
	for _, t := range AdmissionTypes() {
		key := t.Group + "/" + t.Version
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, WebhookRule{Group: t.Group, Version: t.Version})
		}
		out[i].Resources = append(out[i].Resources, t.Resource)
		if t == kinds.Pod {
			out[i].Resources = append(out[i].Resources, "pods/ephemeralcontainers")
		}
	}
	return out
}

// WebhookOptions name the Service the API server calls and the CA it
// trusts.
type WebhookOptions struct {
	Service, Namespace string
	// CABundle is the PEM CA; empty leaves caBundle out (cert-manager's
	// CA injector fills it).
	CABundle []byte
}

// Webhooks returns the "webhooks:" part of the ValidatingWebhookConfiguration,
// as YAML, with the choices explained in comments.
func Webhooks(o WebhookOptions) string {
	if o.Service == "" {
		o.Service = WebhookService
	}
	if o.Namespace == "" {
		o.Namespace = WebhookNamespace
	}
	var b strings.Builder
	b.WriteString("webhooks:\n")
	fmt.Fprintf(&b, "- name: %s\n", WebhookName)
	b.WriteString("  admissionReviewVersions: [v1]\n")
	b.WriteString("  sideEffects: None\n")
	b.WriteString("  # Fail: with the webhook down, objects it covers wait rather than slip\n")
	b.WriteString("  # in unchecked. kube-system and the webhook's namespace stay writable.\n")
	b.WriteString("  failurePolicy: Fail\n")
	b.WriteString("  matchPolicy: Equivalent\n")
	fmt.Fprintf(&b, "  timeoutSeconds: %d\n", WebhookTimeoutSeconds)
	b.WriteString("  clientConfig:\n")
	fmt.Fprintf(&b, "    service: {name: %s, namespace: %s, path: %s, port: %d}\n", o.Service, o.Namespace, WebhookPath, WebhookPort)
	if len(o.CABundle) > 0 {
		fmt.Fprintf(&b, "    caBundle: %s\n", base64.StdEncoding.EncodeToString(o.CABundle))
	}
	b.WriteString("  namespaceSelector:\n")
	b.WriteString("    matchExpressions:\n")
	fmt.Fprintf(&b, "    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, %s]}\n", o.Namespace)
	b.WriteString("  rules:\n")
	for _, r := range WebhookRules() {
		g := r.Group
		if g == "" {
			g = `""`
		}
		fmt.Fprintf(&b, "  - apiGroups: [%s]\n    apiVersions: [%s]\n    operations: [CREATE, UPDATE]\n    resources: [%s]\n    scope: \"*\"\n",
			g, r.Version, strings.Join(r.Resources, ", "))
	}
	return b.String()
}

// WebhookTable returns the Markdown table of the webhook's rules for
// deploy/README.md.
func WebhookTable() string {
	var b strings.Builder
	b.WriteString("| API group | resources (CREATE, UPDATE) |\n|---|---|\n")
	for _, r := range WebhookRules() {
		g := "`" + r.Group + "`"
		if r.Group == "" {
			g = "`\"\"`"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", g, strings.Join(r.Resources, ", "))
	}
	return b.String()
}
