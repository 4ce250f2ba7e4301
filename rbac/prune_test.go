package rbac

import (
	"fmt"
	"math/rand/v2"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Leaving out the subjects that may have no edge (mayHaveEdges) and the
// edges to them changes no path: random sets give the same paths as with
// every subject explored.
func TestPruningKeepsPaths(t *testing.T) {
	verbs := []string{"get", "list", "create", "update", "patch", "impersonate", "bind", "escalate", "approve", "*"}
	groups := []string{"", "apps", rbacv1.GroupName, "certificates.k8s.io", "admissionregistration.k8s.io", "*"}
	resources := []string{"pods", "pods/exec", "pods/ephemeralcontainers", "secrets", "serviceaccounts", "serviceaccounts/token", "users", "groups",
		"deployments", "rolebindings", "roles", "clusterroles", "clusterrolebindings", "nodes/proxy", "namespaces", "persistentvolumes",
		"certificatesigningrequests", "certificatesigningrequests/approval", "signers", "mutatingwebhookconfigurations", "configmaps", "*", "*/exec"}
	names := []string{"x", "default", "cluster-admin", "tok", "kubernetes.io/kube-apiserver-client", "system:masters", "p0", "a"}
	nss := []string{"a", "b", "c"}
	paths := 0
	for seed := range 3000 {
		r := rand.New(rand.NewPCG(uint64(seed), 3))
		pick := func(l []string) string { return l[r.IntN(len(l))] }
		s, objs := NewSet(), NewObjects()
		for i := range 1 + r.IntN(6) {
			var rules []rbacv1.PolicyRule
			for range 1 + r.IntN(3) {
				pr := rbacv1.PolicyRule{Verbs: []string{pick(verbs)}, APIGroups: []string{pick(groups)}, Resources: []string{pick(resources), pick(resources)}}
				if r.IntN(3) == 0 {
					pr.ResourceNames = []string{pick(names)}
				}
				rules = append(rules, pr)
			}
			s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("r", i)}, Rules: rules})
		}
		s.AddMissingBuiltins()
		for i := range 1 + r.IntN(8) {
			var subs []rbacv1.Subject
			for range 1 + r.IntN(2) {
				switch r.IntN(4) {
				case 0:
					subs = append(subs, rbacv1.Subject{Kind: "User", Name: pick([]string{"alice", "bob", "system:node:n1"})})
				case 1:
					subs = append(subs, rbacv1.Subject{Kind: "Group", Name: pick([]string{"devs", MastersGroup, AuthenticatedGroup, "system:serviceaccounts:a", "system:nodes"})})
				default:
					subs = append(subs, rbacv1.Subject{Kind: "ServiceAccount", Namespace: pick(nss), Name: pick([]string{"default", "x", "tok"})})
				}
			}
			ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: pick([]string{"r0", "r1", "r2", "r3", "edit", "admin", "cluster-admin"})}
			if r.IntN(2) == 0 {
				s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("b", i)}, RoleRef: ref, Subjects: subs})
			} else {
				s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: pick(nss), Name: fmt.Sprint("b", i)}, RoleRef: ref, Subjects: subs})
			}
		}
		objs.SetLive(r.IntN(2) == 0)
		for range r.IntN(3) {
			ns := pick(nss)
			objs.tokens[ns] = append(objs.tokens[ns], tokenSecret{secret: pick(names), sa: pick([]string{"default", "x", "tok"})})
		}
		for i := range r.IntN(4) {
			pod := Pod{Ref: fmt.Sprint("Pod/p", i), Namespace: pick(nss), Name: fmt.Sprint("p", i), ServiceAccount: pick([]string{"default", "x", "tok"})}
			if r.IntN(2) == 0 {
				pod.NodeName = pick([]string{"n1", "cp"})
			}
			if r.IntN(2) == 0 {
				pod.Escapes = []string{"privileged container c"}
			}
			objs.AddPod(pod)
		}
		if r.IntN(2) == 0 {
			objs.AddNode("n1", nil)
			objs.AddNode("cp", map[string]string{ControlPlaneLabel: ""})
		}
		objs.AddBoundServiceAccounts(s)
		g := NewGraph(s, objs)
		all := NewGraph(s, objs)
		all.noPrune = true
		src := append(g.Sources(), Subject{Kind: "User", Name: "alice"}, Subject{Kind: "Group", Name: MastersGroup}, AnyNode)
		got, want := fmt.Sprintf("%+v", g.Paths(src)), fmt.Sprintf("%+v", all.Paths(src))
		if got != want {
			t.Fatalf("seed %d:\npruned %s\nall    %s", seed, got, want)
		}
		paths += len(g.Paths(src))
	}
	if paths < 1000 {
		t.Errorf("%d paths: the test proves little", paths)
	}
}
