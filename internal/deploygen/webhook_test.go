package deploygen

import (
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/kinds"
)

func parseWebhook(t *testing.T, o WebhookOptions) *admissionregistrationv1.ValidatingWebhook {
	t.Helper()
	doc := "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: x}\n" + Webhooks(o)
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict([]byte(doc), &vwc); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("%d webhooks", len(vwc.Webhooks))
	}
	return &vwc.Webhooks[0]
}

// The configuration parses strictly and says what deploy/README.md says.
func TestWebhookConfiguration(t *testing.T) {
	w := parseWebhook(t, WebhookOptions{Service: "svc", Namespace: "ns", CABundle: []byte("-----BEGIN CERTIFICATE-----\n")})
	if w.Name != WebhookName || w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Fail ||
		w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone ||
		!slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) || w.TimeoutSeconds == nil || *w.TimeoutSeconds != WebhookTimeoutSeconds {
		t.Errorf("webhook %+v", w)
	}
	s := w.ClientConfig.Service
	if s == nil || s.Name != "svc" || s.Namespace != "ns" || s.Path == nil || *s.Path != "/validate" || s.Port == nil || *s.Port != 443 {
		t.Errorf("service %+v", s)
	}
	if string(w.ClientConfig.CABundle) != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("caBundle %q", w.ClientConfig.CABundle)
	}
	sel := w.NamespaceSelector
	if sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Key != "kubernetes.io/metadata.name" ||
		sel.MatchExpressions[0].Operator != "NotIn" || !slices.Equal(sel.MatchExpressions[0].Values, []string{"kube-system", "ns"}) {
		t.Errorf("namespaceSelector %+v", sel)
	}
	if w := parseWebhook(t, WebhookOptions{}); len(w.ClientConfig.CABundle) != 0 || w.ClientConfig.Service.Namespace != WebhookNamespace {
		t.Errorf("defaults: %+v", w.ClientConfig)
	}
}

// The rules cover every kind an admission-capable object check covers,
// save the documented exclusions, and pods/ephemeralcontainers; CREATE
// and UPDATE only, no other subresource.
func TestWebhookRulesCoverTheChecks(t *testing.T) {
	w := parseWebhook(t, WebhookOptions{})
	ruled := map[string]bool{}
	for _, r := range w.Rules {
		if !slices.Equal(r.Operations, []admissionregistrationv1.OperationType{"CREATE", "UPDATE"}) {
			t.Errorf("rule %v: operations %v", r.Resources, r.Operations)
		}
		for _, g := range r.APIGroups {
			for _, v := range r.APIVersions {
				for _, res := range r.Resources {
					ruled[g+"/"+v+"/"+res] = true
				}
			}
		}
	}
	if !ruled["/v1/pods/ephemeralcontainers"] {
		t.Error("pods/ephemeralcontainers is not covered: kubectl debug would bypass the webhook")
	}
	delete(ruled, "/v1/pods/ephemeralcontainers")
	excluded := map[*kinds.Type]bool{}
	for _, c := range checks.All() {
		if c.Object == nil || c.ManifestOnly || c.NeedsCluster {
			continue
		}
		for _, k := range c.Kinds {
			if k.Synthetic {
				continue
			}
			key := k.Group + "/" + k.Version + "/" + k.Resource
			switch {
			case NotAtAdmission[k] != "":
				excluded[k] = true
				if ruled[key] {
					t.Errorf("%s is excluded but has a rule", k)
				}
			case !ruled[key]:
				t.Errorf("check %s covers %s, which the webhook is not registered for", c.ID, k)
			}
		}
	}
	for k := range NotAtAdmission {
		if !excluded[k] {
			t.Errorf("%s is excluded from admission but no admission-capable check covers it: drop the exclusion", k)
		}
	}
	for _, k := range AdmissionTypes() {
		delete(ruled, k.Group+"/"+k.Version+"/"+k.Resource)
	}
	for r := range ruled {
		t.Errorf("rule for %s, which no check covers", r)
	}
	if !strings.Contains(WebhookTable(), "pods/ephemeralcontainers") {
		t.Error("the README table lacks pods/ephemeralcontainers")
	}
}
