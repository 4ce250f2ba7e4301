package rbac_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/rbac"
)

// harmless builds a set shaped like the benchmark corpora of
// internal/benchgen: n Roles that read configmaps, pods and Secrets in
// 50 namespaces without a token Secret, each bound to a service account
// of its own, a privileged workload in every namespace, and (the few
// that matter) a cluster-admin service account and one user who may
// create pods in team-7.
func harmless(n int) (*rbac.Set, *rbac.Objects) {
	s, objs := baseSet()
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%50)
		s.Add(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("role-%d", i)}, Rules: []rbacv1.PolicyRule{
			rule("get,list,watch", "", "configmaps,pods"), rule("get", "", "secrets")}})
		s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("binding-%d", i)},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: fmt.Sprintf("role-%d", i)},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: fmt.Sprintf("app-%d", i)}}})
		if i < 50 {
			yes := true
			objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%d", i)},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}))
		}
	}
	grantTo(s, "pods", "team-7", rule("create", "", "pods"))
	s.AddMissingBuiltins()
	objs.AddBoundServiceAccounts(s)
	return s, objs
}

// BenchmarkPathsHarmless100k: 100,000 bindings of which two matter, as
// in a large manifest scan or a large cluster; the others are left out
// in O(1) each.
func BenchmarkPathsHarmless100k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s, objs := harmless(100000)
		b.StartTimer()
		if n := analyse(s, objs); n != 2 {
			b.Fatalf("%d paths, want 2", n)
		}
	}
}
