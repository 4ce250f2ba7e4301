package network

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// IngressWithoutTLS is check ingress-without-tls. An Ingress must terminate TLS for every host it serves: it needs spec.tls,
// and every rule host must be covered by a tls entry. A tls host *.example.com
// covers exactly one label (a.example.com, not example.com nor a.b.example.com);
// a tls entry without hosts covers every host, including a rule without a
// host, which no named tls host covers. Some controllers take the certificate
// from an annotation instead of spec.tls (AWS Load Balancer Controller, GKE,
// Azure Application Gateway); when one of those annotations is set and spec.tls
// is absent, the check cannot know the certificate's names and stays silent.
var IngressWithoutTLS = registry.Add(&check.Check{
	ID:       "ingress-without-tls",
	Title:    "Ingress serves hosts without TLS",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Encryption"},
	},
	Description: "An Ingress without spec.tls, or with a rule host that no tls entry covers, serves that host over plain " +
		"HTTP: credentials, session cookies and data cross the network in clear text and can be read or altered by " +
		"anyone on the path. Wildcard tls hosts (*.example.com) are honoured for one DNS label. Ingresses whose " +
		"certificate is configured through a known controller annotation (alb.ingress.kubernetes.io/certificate-arn, " +
		"ingress.gcp.kubernetes.io/pre-shared-cert, networking.gke.io/managed-certificates, " +
		"appgw.ingress.kubernetes.io/appgw-ssl-certificate) and have no spec.tls are not reported.",
	Remediation: "Add a spec.tls entry whose hosts list every rule host, with a secretName holding the certificate (for " +
		"example issued by cert-manager), and keep the controller's HTTP-to-HTTPS redirect enabled.",
	Kinds: kinds.List(kinds.Ingress),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		ing, ok := o.Typed.(*networkingv1.Ingress)
		if !ok {
			return nil
		}
		if len(ing.Spec.TLS) == 0 {
			for _, a := range certificateAnnotations {
				if strings.TrimSpace(o.Annotation(a)) != "" {
					return nil
				}
			}
			return []check.Result{{Path: "spec.tls", Message: "Ingress has no spec.tls: every host it serves is reachable over plain HTTP only"}}
		}
		var out []check.Result
		for i, r := range ing.Spec.Rules {
			if tlsCovers(ing.Spec.TLS, r.Host) {
				continue
			}
			if r.Host == "" {
				out = append(out, check.Result{
					Path:    inventory.Index("spec.rules", i),
					Message: fmt.Sprintf("rule %d has no host and every spec.tls entry names hosts: it matches any host over plain HTTP", i),
				})
				continue
			}
			out = append(out, check.Result{
				Path:    inventory.Join(inventory.Index("spec.rules", i), "host"),
				Message: fmt.Sprintf("host %q is not covered by any spec.tls entry: it is served over plain HTTP", r.Host),
			})
		}
		return out
	},
})

// certificateAnnotations configure an Ingress certificate outside spec.tls.
var certificateAnnotations = []string{
	"alb.ingress.kubernetes.io/certificate-arn",
	"ingress.gcp.kubernetes.io/pre-shared-cert",
	"networking.gke.io/managed-certificates",
	"appgw.ingress.kubernetes.io/appgw-ssl-certificate",
}

// CertificateAnnotations returns the annotations that silence the check on
// an Ingress without spec.tls (for the check's admission policy).
func CertificateAnnotations() []string { return append([]string(nil), certificateAnnotations...) }

// tlsCovers reports whether a tls entry covers host ("" for a rule without host).
func tlsCovers(tls []networkingv1.IngressTLS, host string) bool {
	for _, t := range tls {
		if len(t.Hosts) == 0 {
			return true
		}
		if host == "" {
			continue
		}
		for _, h := range t.Hosts {
			if tlsHostMatches(h, host) {
				return true
			}
		}
	}
	return false
}

// tlsHostMatches matches a rule host against a certificate name, where
// *.example.com stands for exactly one leftmost label.
func tlsHostMatches(name, host string) bool {
	name, host = strings.ToLower(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(host))
	if name == host {
		return true
	}
	suffix, ok := strings.CutPrefix(name, "*.")
	if !ok {
		return false
	}
	label, rest, found := strings.Cut(host, ".")
	return found && label != "" && label != "*" && rest == suffix
}
