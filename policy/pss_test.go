package policy_test

import (
	"reflect"
	"testing"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/policy"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/report"
)

func obj(kind, ns, name string, r *pss.Result) *report.Object {
	return &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: kind, Namespace: ns, Name: name}, PSS: r}
}

var (
	restricted = &pss.Result{Level: policy.Restricted, Failing: []string{}}
	baseline   = &pss.Result{Level: policy.Baseline, Failing: []string{"seccompProfile_restricted", "allowPrivilegeEscalation"},
		Failures: []pss.Failure{
			{ID: "seccompProfile_restricted", Level: "restricted", Reason: "seccompProfile"},
			{ID: "allowPrivilegeEscalation", Level: "restricted", Reason: "allowPrivilegeEscalation != false"},
		}}
	privileged = &pss.Result{Level: policy.Privileged, Failing: []string{"privileged", "runAsNonRoot", "hostNamespaces"},
		Failures: []pss.Failure{
			{ID: "privileged", Level: "baseline", Reason: "privileged"},
			{ID: "runAsNonRoot", Level: "restricted", Reason: "runAsNonRoot != true"},
			{ID: "hostNamespaces", Level: "baseline", Reason: "host namespaces"},
		}}
)

func TestPSSLabels(t *testing.T) {
	got := policy.PSSLabels([]*report.Object{
		{Ref: inventory.Ref{APIVersion: "v1", Kind: "Namespace", Name: "empty"}},
		{Ref: inventory.Ref{APIVersion: "v1", Kind: "Namespace", Name: "sys"}},
		obj("Pod", "sys", "b", baseline),
		obj("DaemonSet", "sys", "agent", privileged),
		obj("Pod", "sys", "r", restricted),
		obj("Pod", "", "lone", baseline),
		obj("Pod", "default", "web", restricted),
		obj("Deployment", "default", "web", baseline),
		obj("ConfigMap", "ok", "c", nil),
		obj("Pod", "ok", "r", restricted),
	}, "v1.37")
	type short struct {
		ns, enforce, audit, warn string
		workloads                int
		blockers                 []string
	}
	var s []short
	for _, n := range got {
		var bl []string
		for _, b := range n.Blockers {
			bl = append(bl, b.Object.String()+" "+b.Reasons())
		}
		s = append(s, short{n.Namespace, n.Enforce, n.Audit, n.Warn, n.Workloads, bl})
		if n.Labels["pod-security.kubernetes.io/enforce"] != n.Enforce || n.Labels["pod-security.kubernetes.io/warn-version"] != "v1.37" || len(n.Labels) != 6 {
			t.Errorf("%s: labels %v", n.Namespace, n.Labels)
		}
	}
	want := []short{
		{"default", "baseline", "restricted", "restricted", 3, []string{
			"Deployment/default/web allowPrivilegeEscalation != false, seccompProfile",
			"Pod/lone allowPrivilegeEscalation != false, seccompProfile"}},
		{"empty", "restricted", "restricted", "restricted", 0, nil},
		{"ok", "restricted", "restricted", "restricted", 1, nil},
		// At baseline only the baseline checks count, in ID order.
		{"sys", "privileged", "baseline", "baseline", 3, []string{"DaemonSet/sys/agent host namespaces, privileged"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got\n%+v\nwant\n%+v", s, want)
	}
}

func TestStricter(t *testing.T) {
	for in, want := range map[string]string{policy.Privileged: policy.Baseline, policy.Baseline: policy.Restricted, policy.Restricted: policy.Restricted} {
		if got := policy.Stricter(in); got != want {
			t.Errorf("Stricter(%s) = %s, want %s", in, got, want)
		}
	}
}
