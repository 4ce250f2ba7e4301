package network

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/internal/netpol"
	"github.com/kubeharden/kubeharden/checks/internal/sysns"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// PodNotIsolated is check pod-not-isolated. Every pod of a namespace that uses NetworkPolicies must be isolated by
// them, and isolation is per direction, with the API server's semantics: a
// policy isolates the pods it selects for Ingress when its policyTypes
// include Ingress, and for Egress when they include Egress; when
// policyTypes is omitted, Ingress always and Egress only if the policy has
// egress rules (netpol.Isolates). A pod selected only by policies with
// policyTypes [Egress] still accepts connections from anywhere.
//
//   - Ingress is reported for every pod of a namespace that has at least
//     one NetworkPolicy in the scanned set, whatever its direction, when no
//     policy isolates the pod for Ingress: open ingress is the lateral
//     movement door the check is about.
//   - Egress is reported only in a namespace where at least one policy
//     isolates Egress. There, a pod that none of them selects is the same
//     kind of oversight; in a namespace whose policies are all Ingress
//     policies, open egress is a choice made for the whole namespace, and
//     reporting it on every pod would bury the Ingress findings
//     (namespace-without-default-deny reports it once per namespace on
//     live cluster scans).
//
// One finding per missing direction, at the pod (template) labels. The
// check only speaks about namespaces for which the scanned set holds at
// least one NetworkPolicy; without any we cannot tell a namespace with no
// policies from policies that were simply not scanned. Objects without a
// namespace form their own group "" together with the policies that have
// none, since they are applied to the same namespace. Namespaces are told
// apart by Origin.Context too, so that when several clusters are scanned
// together one cluster's policies never cover another's pods. hostNetwork
// pods are skipped: NetworkPolicy behaviour for them is undefined (most
// plugins ignore them), so no policy could isolate them; host-network is
// reported by its own check.
var PodNotIsolated = registry.Add(&check.Check{
	ID:       "pod-not-isolated",
	Title:    "Pod not isolated by any NetworkPolicy",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.3.2", Title: "Ensure that all Namespaces have NetworkPolicies defined"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Network policies"},
	},
	Description: "Kubernetes pods are non-isolated until a NetworkPolicy isolates them, separately for each direction: " +
		"they accept connections from every pod in the cluster until a policy with Ingress in its policyTypes selects " +
		"them, and can connect anywhere until one with Egress does (a policy without policyTypes isolates Ingress, and " +
		"Egress only if it has egress rules). In a namespace that does use NetworkPolicies, a workload no policy " +
		"isolates is usually an oversight (a renamed label, a new component without a policy, an egress-only policy " +
		"taken for full isolation) and is an open door for lateral movement or exfiltration. Missing Ingress isolation " +
		"is reported in every namespace with at least one NetworkPolicy in the scanned set; missing Egress isolation " +
		"only in namespaces where some policy isolates Egress. In a namespace with no NetworkPolicy at all, pods are " +
		"reported only on live scans of whole clusters, where the absence is proven (kube-system, kube-public and " +
		"kube-node-lease excepted, as for namespace-without-default-deny); on manifest scans a policy outside the " +
		"scanned files could cover them. hostNetwork pods are not reported: NetworkPolicies do not reliably apply " +
		"to them.",
	Remediation: "Add a default-deny policy to the namespace (podSelector: {} with policyTypes Ingress and Egress) and " +
		"explicit allow policies for the traffic each workload needs, or fix the pod template labels so that the " +
		"intended policy's podSelector matches them. A policy meant to isolate both directions must list both in " +
		"policyTypes.",
	Kinds: kinds.Join(kinds.Pods, kinds.List(kinds.NetworkPolicy)),
	Set: func(env *check.Env) check.SetEval {
		return &isolation{policies: map[policyScope][]scopedPolicy{}, hasPolicy: map[policyScope]bool{}, egressUsed: map[policyScope]bool{},
			complete: env != nil && env.Complete, pods: env.Log()}
	},
})

// policyScope is the namespace of one scanned cluster that a policy
// applies to.
type policyScope struct{ context, namespace string }

func scopeOf(o *inventory.Object) policyScope { return policyScope{o.Origin.Context, o.Namespace} }

// scopedPolicy is what the check keeps of a NetworkPolicy: its name, pod
// selector and the directions it isolates the pods it selects for.
type scopedPolicy struct {
	name            string
	selector        labels.Selector
	ingress, egress bool
}

// isolation gathers the policies of each namespace and the pods to match
// against them.
type isolation struct {
	policies map[policyScope][]scopedPolicy
	// hasPolicy marks the namespaces with at least one policy;
	// egressUsed those with at least one that isolates Egress.
	hasPolicy, egressUsed map[policyScope]bool
	// pods holds a record per pod to match: its target, labels (packed)
	// and the path to report.
	pods check.Log
	rec  []byte
	// complete is set on whole-cluster scans: a namespace without a
	// policy is known to have none.
	complete bool
}

type isolatedPod struct {
	scope  policyScope
	labels packedLabels
	path   string
	bare   bool // a Pod, rather than a pod template
	target *check.Target
}

func (e *isolation) Observe(o *inventory.Object) {
	if np, ok := o.Typed.(*networkingv1.NetworkPolicy); ok {
		scope := scopeOf(o)
		e.hasPolicy[scope] = true
		ingress, egress := netpol.Isolates(np)
		e.egressUsed[scope] = e.egressUsed[scope] || egress
		// An invalid selector (rejected by the API server anyway) selects nothing.
		if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err == nil {
			e.policies[scope] = append(e.policies[scope], scopedPolicy{name: np.Name, selector: sel, ingress: ingress, egress: egress})
		}
		return
	}
	p := o.Pod()
	if p == nil || p.Spec.HostNetwork {
		return
	}
	path := inventory.Join(p.MetaPath, "labels")
	e.rec = check.Pin(o, path).AppendBinary(e.rec[:0])
	e.rec = inventory.AppendString(e.rec, string(pack(p.Meta.Labels)))
	e.rec = inventory.AppendString(e.rec, path)
	e.pods.Append(e.rec)
}

func (e *isolation) Finish(report func(t *check.Target, r check.Result)) {
	e.pods.Each(func(rec []byte) error {
		d := inventory.Decoder{B: rec}
		t, labels, path := d.Stub(), packedLabels(d.Str()), d.Str()
		if d.Err != nil {
			return d.Err
		}
		e.finishPod(report, isolatedPod{scope: policyScope{t.Origin.Context, t.Ref.Namespace}, labels: labels, path: path,
			bare: t.Ref.Kind == "Pod", target: t})
		return nil
	})
}

// finishPod reports what isolates one pod, and what does not.
func (e *isolation) finishPod(report func(t *check.Target, r check.Result), p isolatedPod) {
	if !e.hasPolicy[p.scope] {
		if e.complete && p.scope.namespace != "" && !sysns.Exempt(p.scope.namespace) {
			report(p.target, check.Result{Path: p.path, Message: p.unprotected()})
		}
		return
	}
	var ingress, egress bool
	var selectedBy []string
	for _, np := range e.policies[p.scope] {
		if np.selector.Matches(p.labels) {
			ingress = ingress || np.ingress
			egress = egress || np.egress
			selectedBy = append(selectedBy, np.name)
		}
	}
	slices.Sort(selectedBy)
	selectedBy = slices.Compact(selectedBy)
	if !ingress {
		report(p.target, check.Result{Path: p.path, Message: p.gap("Ingress", selectedBy)})
	}
	if !egress && e.egressUsed[p.scope] {
		report(p.target, check.Result{Path: p.path, Message: p.gap("Egress", selectedBy)})
	}
}

// gap words the finding for a pod that no policy isolates for dir (Ingress
// or Egress), given the names of the policies that select it (for the
// other direction only).
func (p isolatedPod) gap(dir string, selectedBy []string) string {
	where := "in namespace " + strconv.Quote(p.scope.namespace)
	if p.scope.namespace == "" {
		where = "without a namespace in the scanned set"
	}
	noun, subject, accept, connect := "its pod template", "its pods", "accept", "can connect"
	if p.bare {
		noun, subject, accept = "this pod", "it", "accepts"
	}
	shown := "no labels"
	if p.labels != "" {
		shown = "labels " + p.labels.set().String()
	}
	why := "selected by no NetworkPolicy"
	switch len(selectedBy) {
	case 0:
	case 1:
		why = fmt.Sprintf("selected only by NetworkPolicy %q, which does not isolate %s", selectedBy[0], dir)
	default:
		names := make([]string, len(selectedBy))
		for i, n := range selectedBy {
			names[i] = strconv.Quote(n)
		}
		why = fmt.Sprintf("selected only by NetworkPolicies %s, none of which isolates %s", strings.Join(names, ", "), dir)
	}
	effect := fmt.Sprintf("%s %s connections from any pod or address", subject, accept)
	if dir == "Egress" {
		effect = fmt.Sprintf("%s %s to any pod or address", subject, connect)
	}
	return fmt.Sprintf("no NetworkPolicy %s isolates %s for %s (%s; %s): %s", where, noun, dir, shown, why, effect)
}

// unprotected words the finding for a pod of a namespace that has no
// NetworkPolicy at all (on a complete cluster scan).
func (p isolatedPod) unprotected() string {
	noun, subject, accept := "the pods of this template", "they", "accept"
	if p.bare {
		noun, subject, accept = "this pod", "it", "accepts"
	}
	return fmt.Sprintf("namespace %q has no NetworkPolicy at all, not even a default-deny (podSelector: {} with policyTypes "+
		"Ingress and Egress), so nothing isolates %s: %s %s connections from any pod or address and can connect anywhere",
		p.scope.namespace, noun, subject, accept)
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
