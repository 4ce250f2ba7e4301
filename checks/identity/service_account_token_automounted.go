package identity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ServiceAccountTokenAutomounted is check service-account-token-automounted. A pod must not get its service account's API token mounted unless it
// asks for it. The token is mounted when the pod spec sets
// automountServiceAccountToken: true (which overrides the ServiceAccount),
// or leaves it unset while the ServiceAccount the pod runs as (same
// namespace; serviceAccountName, else the deprecated serviceAccount, else
// "default") does not set automountServiceAccountToken: false. A
// ServiceAccount only counts when it is among the scanned objects, so this
// is a cross-object check; a ServiceAccount declared several times counts
// as disabling the token only if every declaration does. Service accounts
// are told apart by Origin.Context too, so that when several clusters are
// scanned together one cluster's ServiceAccount never decides for another's
// pods.
var ServiceAccountTokenAutomounted = registry.Add(&check.Check{
	ID:       "service-account-token-automounted",
	Title:    "Service account token is mounted into the pod",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.6", Title: "Ensure that Service Account Tokens are only mounted where necessary"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Protecting Pod service account tokens"},
	},
	Description: "A mounted token lets every process in the pod call the Kubernetes API as the pod's service account. " +
		"Most applications never talk to the API, but an attacker who gets code execution in one reads the token from " +
		"/var/run/secrets/kubernetes.io/serviceaccount and uses whatever RBAC grants that account, or at least discovers " +
		"the cluster through the API.",
	Remediation: "Set automountServiceAccountToken: false in the pod spec, or on the ServiceAccount so that all of its " +
		"pods inherit it. For the pods that do need the API, use a dedicated ServiceAccount with a minimal Role and set " +
		"automountServiceAccountToken: true on those pods only.",
	Kinds: kinds.Join(kinds.Pods, kinds.List(kinds.ServiceAccount)),
	Set:   func(env *check.Env) check.SetEval { return &tokenEval{accounts: map[saKey]bool{}, pending: env.Log()} },
})

// saKey names a service account of one scanned cluster: context,
// namespace and name.
type saKey struct{ context, namespace, name string }

// podServiceAccount returns the name of the service account a pod runs
// as and the path of the field that names it ("" when neither
// serviceAccountName nor the deprecated serviceAccount is set).
func podServiceAccount(p *inventory.PodTemplate) (name, path string) {
	switch {
	case p.Spec.ServiceAccountName != "":
		return p.Spec.ServiceAccountName, p.At("serviceAccountName")
	case p.Spec.DeprecatedServiceAccount != "":
		return p.Spec.DeprecatedServiceAccount, p.At("serviceAccount")
	}
	return "default", ""
}

type tokenEval struct {
	// accounts maps each scanned ServiceAccount to whether every
	// declaration of it disables automounting.
	accounts map[saKey]bool
	// pending holds, per pod whose token depends on its ServiceAccount,
	// a record: the pod's target, the account's name, the path to report
	// and whether the pod spec sets automountServiceAccountToken: true.
	pending check.Log
	rec     []byte
}

func (e *tokenEval) Observe(o *inventory.Object) {
	if sa, ok := o.Typed.(*corev1.ServiceAccount); ok {
		key := saKey{o.Origin.Context, o.Namespace, o.Name}
		off := sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken
		if prev, seen := e.accounts[key]; seen {
			off = off && prev
		}
		e.accounts[key] = off
		return
	}
	p := o.Pod()
	if p == nil {
		return
	}
	name, _ := podServiceAccount(p)
	a := p.Spec.AutomountServiceAccountToken
	if a != nil && !*a {
		return
	}
	path := p.SpecPath
	explicit := 0
	if a != nil {
		path, explicit = p.At("automountServiceAccountToken"), 1
	}
	e.rec = check.Pin(o, path).AppendBinary(e.rec[:0])
	e.rec = inventory.AppendString(e.rec, name)
	e.rec = inventory.AppendString(e.rec, path)
	e.rec = inventory.AppendInt(e.rec, explicit)
	e.pending.Append(e.rec)
}

func (e *tokenEval) Finish(report func(t *check.Target, r check.Result)) {
	e.pending.Each(func(rec []byte) error {
		d := inventory.Decoder{B: rec}
		t, name, path, explicit := d.Stub(), d.Str(), d.Str(), d.Int() == 1
		if d.Err != nil {
			return d.Err
		}
		if explicit {
			report(t, check.Result{Path: path,
				Message: fmt.Sprintf("automountServiceAccountToken: true mounts the API token of service account %q into the pod", name)})
			return nil
		}
		off, seen := e.accounts[saKey{t.Origin.Context, t.Ref.Namespace, name}]
		if off {
			return nil
		}
		why := fmt.Sprintf("ServiceAccount %q is not among the scanned objects", name)
		if seen {
			why = fmt.Sprintf("ServiceAccount %q does not set automountServiceAccountToken: false", name)
		}
		report(t, check.Result{Path: path,
			Message: fmt.Sprintf("the API token of service account %q is mounted: the pod spec does not set automountServiceAccountToken: false and %s", name, why)})
		return nil
	})
}
