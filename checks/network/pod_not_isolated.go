package network

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// PodNotIsolated is check pod-not-isolated. Every pod of a namespace that uses NetworkPolicies must be selected by
// at least one of them: a pod no policy selects accepts and sends any
// traffic. The check only speaks about namespaces for which the scanned set
// holds at least one NetworkPolicy; without any we cannot tell a namespace
// with no policies from policies that were simply not scanned (coverage of
// namespaces without any policy is left to namespace-without-default-deny,
// which runs on live cluster scans only). Objects
// without a namespace form their own group "" together with the policies
// that have none, since they are applied to the same namespace. Namespaces
// are told apart by Origin.Context too, so that when several clusters are
// scanned together one cluster's policies never cover another's pods. A
// policy of either direction (Ingress or Egress) counts as selecting the pod.
// hostNetwork pods are skipped: NetworkPolicy behaviour for them is
// undefined (most plugins ignore them), so no policy could isolate them;
// host-network is reported by its own check.
var PodNotIsolated = registry.Add(&check.Check{
	ID:       "pod-not-isolated",
	Title:    "Pod not selected by any NetworkPolicy",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.3.2", Title: "Ensure that all Namespaces have Network Policies defined"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Network policies"},
	},
	Description: "Kubernetes pods are non-isolated until a NetworkPolicy selects them: they accept connections from " +
		"every pod in the cluster and can connect anywhere. In a namespace that does use NetworkPolicies, a workload " +
		"whose pod labels no policy's podSelector matches is usually an oversight (a renamed label, a new component " +
		"without a policy) and is an open door for lateral movement. The check is reported only for namespaces that " +
		"have at least one NetworkPolicy in the scanned set, because a policy outside the scan could cover the pod, " +
		"and not for hostNetwork pods, which NetworkPolicies do not reliably apply to.",
	Remediation: "Add a default-deny policy to the namespace (podSelector: {} with policyTypes Ingress and Egress) and " +
		"explicit allow policies for the traffic each workload needs, or fix the pod template labels so that the " +
		"intended policy's podSelector matches them.",
	Kinds: kinds.Join(kinds.Pods, kinds.List(kinds.NetworkPolicy)),
	Set: func(*check.Env) check.SetEval {
		return &isolation{selectors: map[policyScope][]labels.Selector{}, hasPolicy: map[policyScope]bool{}}
	},
})

// policyScope is the namespace of one scanned cluster that a policy
// applies to.
type policyScope struct{ context, namespace string }

func scopeOf(o *inventory.Object) policyScope { return policyScope{o.Origin.Context, o.Namespace} }

// isolation gathers the pod selectors of each namespace's policies and the
// pods to match against them.
type isolation struct {
	selectors map[policyScope][]labels.Selector
	hasPolicy map[policyScope]bool
	pods      []isolatedPod
}

type isolatedPod struct {
	scope  policyScope
	labels packedLabels
	path   string
	noun   string
	target *check.Target
}

func (e *isolation) Observe(o *inventory.Object) {
	if np, ok := o.Typed.(*networkingv1.NetworkPolicy); ok {
		scope := scopeOf(o)
		e.hasPolicy[scope] = true
		// An invalid selector (rejected by the API server anyway) selects nothing.
		if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err == nil {
			e.selectors[scope] = append(e.selectors[scope], sel)
		}
		return
	}
	p := o.Pod()
	if p == nil || p.Spec.HostNetwork {
		return
	}
	path := inventory.Join(p.MetaPath, "labels")
	noun := "its pod template"
	if o.Kind == "Pod" {
		noun = "this pod"
	}
	e.pods = append(e.pods, isolatedPod{
		scope:  scopeOf(o),
		labels: pack(p.Meta.Labels),
		path:   path,
		noun:   noun,
		target: check.Pin(o, path),
	})
}

func (e *isolation) Finish(report func(t *check.Target, r check.Result)) {
	for _, p := range e.pods {
		if !e.hasPolicy[p.scope] {
			continue
		}
		selected := false
		for _, s := range e.selectors[p.scope] {
			if s.Matches(p.labels) {
				selected = true
				break
			}
		}
		if selected {
			continue
		}
		where := "in namespace " + strconv.Quote(p.scope.namespace)
		if p.scope.namespace == "" {
			where = "without a namespace in the scanned set"
		}
		shown := "no labels"
		if p.labels != "" {
			shown = "labels " + p.labels.set().String()
		}
		report(p.target, check.Result{
			Path:    p.path,
			Message: fmt.Sprintf("no NetworkPolicy %s selects %s (%s): its pods accept and send any traffic", where, p.noun, shown),
		})
	}
}

// packedLabels holds a pod's labels as "key\x00value\x00" pairs: a
// cluster-wide check keeps every pod's labels until the end of the scan,
// and one string costs far less than a map. It implements labels.Labels.
type packedLabels string

func pack(m map[string]string) packedLabels {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return packedLabels(b.String())
}

// Lookup implements labels.Labels.
func (p packedLabels) Lookup(key string) (string, bool) {
	s := string(p)
	for s != "" {
		k, rest, _ := strings.Cut(s, "\x00")
		v, rest, _ := strings.Cut(rest, "\x00")
		if k == key {
			return v, true
		}
		s = rest
	}
	return "", false
}

// Has implements labels.Labels.
func (p packedLabels) Has(key string) bool { _, ok := p.Lookup(key); return ok }

// Get implements labels.Labels.
func (p packedLabels) Get(key string) string { v, _ := p.Lookup(key); return v }

func (p packedLabels) set() labels.Set {
	m := labels.Set{}
	s := string(p)
	for s != "" {
		k, rest, _ := strings.Cut(s, "\x00")
		v, rest, _ := strings.Cut(rest, "\x00")
		m[k] = v
		s = rest
	}
	return m
}
