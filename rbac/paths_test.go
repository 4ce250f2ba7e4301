package rbac_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/rbac"
)

func rule(verbs, groups, resources string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: strings.Split(verbs, ","), APIGroups: strings.Split(groups, ","), Resources: strings.Split(resources, ","), ResourceNames: names}
}

// grantTo binds a new ClusterRole of rules to alice: cluster-wide with ns
// "", else by a RoleBinding in ns.
func grantTo(s *rbac.Set, name, ns string, rules ...rbacv1.PolicyRule) {
	s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules})
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	subs := []rbacv1.Subject{{Kind: "User", Name: "alice"}}
	if ns == "" {
		s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subs})
	} else {
		s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: ref, Subjects: subs})
	}
}

// baseSet has a service account "app/powerful" bound to cluster-admin and
// its legacy token Secret "powerful-token".
func baseSet() (*rbac.Set, *rbac.Objects) {
	s := rbac.NewSet()
	s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}, Rules: []rbacv1.PolicyRule{rule("*", "*", "*")}})
	s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "powerful"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "app", Name: "powerful"}}})
	objs := rbac.NewObjects()
	objs.AddObject(obj(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "powerful-token",
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "powerful"}}, Type: corev1.SecretTypeServiceAccountToken}))
	return s, objs
}

func obj(typed any) *inventory.Object {
	var meta *metav1.ObjectMeta
	kind := ""
	switch t := typed.(type) {
	case *corev1.Secret:
		meta, kind = &t.ObjectMeta, "Secret"
	case *corev1.Service:
		meta, kind = &t.ObjectMeta, "Service"
	case *corev1.Pod:
		meta, kind = &t.ObjectMeta, "Pod"
	case *networkingv1.Ingress:
		meta, kind = &t.ObjectMeta, "Ingress"
	}
	return &inventory.Object{Ref: inventory.Ref{Kind: kind, Namespace: meta.Namespace, Name: meta.Name}, Meta: meta, Typed: typed}
}

func alicePath(s *rbac.Set, objs *rbac.Objects) string {
	g := rbac.NewGraph(s, objs)
	paths := g.Paths([]rbac.Subject{{Kind: "User", Name: "alice"}})
	if len(paths) == 0 {
		return ""
	}
	var hops []string
	for _, h := range paths[0].Hops {
		hops = append(hops, h.Primitive+" → "+h.To.String())
	}
	return strings.Join(hops, "; ")
}

func TestEscalationPrimitives(t *testing.T) {
	admin := "ServiceAccount:app:powerful; "
	for _, c := range []struct {
		name  string
		ns    string
		rules []rbacv1.PolicyRule
		want  string // a substring of the path; "" for no path
	}{
		{"create pods", "app", []rbacv1.PolicyRule{rule("create", "", "pods")}, "create a pod running as the service account → " + admin},
		{"create deployments", "app", []rbacv1.PolicyRule{rule("create", "apps", "deployments")}, "create a pod"},
		// Pod Security Admission of an unknown namespace assumed privileged:
		// a privileged pod on a node (approximate; see TestNodePrimitives).
		{"create pods elsewhere", "other", []rbacv1.PolicyRule{rule("create", "", "pods")}, "create a privileged pod on the node (spec.nodeName) → Node:*; root on a control-plane node"},
		{"read pods elsewhere", "other", []rbacv1.PolicyRule{rule("get,list", "", "pods")}, ""},
		{"exec", "app", []rbacv1.PolicyRule{rule("create", "", "pods/exec")}, "enter a running pod (exec)"},
		{"exec without create", "app", []rbacv1.PolicyRule{rule("get", "", "pods/exec")}, ""},
		{"ephemeral containers", "app", []rbacv1.PolicyRule{rule("update", "", "pods/ephemeralcontainers")}, "(ephemeralcontainers)"},
		{"list secrets", "app", []rbacv1.PolicyRule{rule("list", "", "secrets")}, "read a token Secret (powerful-token)"},
		{"get the token secret", "app", []rbacv1.PolicyRule{rule("get", "", "secrets", "powerful-token")}, "read a token Secret"},
		{"get the token secret cluster-wide", "", []rbacv1.PolicyRule{rule("get", "", "secrets", "powerful-token")}, "read a token Secret"},
		{"get another secret", "app", []rbacv1.PolicyRule{rule("get", "", "secrets", "other")}, ""},
		{"token request", "app", []rbacv1.PolicyRule{rule("create", "", "serviceaccounts/token", "powerful")}, "create a token"},
		{"token request for another", "app", []rbacv1.PolicyRule{rule("create", "", "serviceaccounts/token", "default")}, ""},
		{"impersonate sa", "app", []rbacv1.PolicyRule{rule("impersonate", "", "serviceaccounts")}, "impersonate service account"},
		{"impersonate masters", "", []rbacv1.PolicyRule{rule("impersonate", "", "users,groups")}, "impersonate group → Group:system:masters; cluster-admin grant"},
		{"impersonate masters with one user", "", []rbacv1.PolicyRule{rule("impersonate", "", "groups"), rule("impersonate", "", "users", "nobody")}, "impersonate group → Group:system:masters"},
		{"impersonate groups through a RoleBinding (not cluster-wide)", "app", []rbacv1.PolicyRule{rule("impersonate", "", "groups,serviceaccounts")}, "impersonate service account"},
		// Groups are impersonated only together with a user.
		{"impersonate masters without a user", "", []rbacv1.PolicyRule{rule("impersonate", "", "groups")}, ""},
		{"impersonate other group", "", []rbacv1.PolicyRule{rule("impersonate", "", "groups", "viewers")}, ""},
		{"bind cluster-admin", "", []rbacv1.PolicyRule{rule("create", "rbac.authorization.k8s.io", "clusterrolebindings"), rule("bind", "rbac.authorization.k8s.io", "clusterroles")}, "bind cluster-admin"},
		{"create bindings without bind", "", []rbacv1.PolicyRule{rule("create", "rbac.authorization.k8s.io", "clusterrolebindings")}, ""},
		{"bind in a namespace", "app", []rbacv1.PolicyRule{rule("create", "rbac.authorization.k8s.io", "rolebindings"), rule("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin")}, "namespace admin"},
		{"escalate", "", []rbacv1.PolicyRule{rule("escalate,update", "rbac.authorization.k8s.io", "clusterroles")}, "escalate clusterroles"},
		{"nodes/proxy", "", []rbacv1.PolicyRule{rule("get", "", "nodes/proxy")}, "nodes/proxy"},
		{"nodes get", "", []rbacv1.PolicyRule{rule("get", "", "nodes")}, ""},
		{"webhooks", "", []rbacv1.PolicyRule{rule("patch", "admissionregistration.k8s.io", "mutatingwebhookconfigurations")}, "admission control"},
		{"webhooks read", "", []rbacv1.PolicyRule{rule("get,list", "admissionregistration.k8s.io", "*")}, ""},
		{"crds", "", []rbacv1.PolicyRule{rule("create", "apiextensions.k8s.io", "customresourcedefinitions")}, "API extension"},
		{"pvs", "", []rbacv1.PolicyRule{rule("create", "", "persistentvolumes")}, "host filesystem"},
		{"cluster-wide pods", "", []rbacv1.PolicyRule{rule("create", "", "pods")}, "create a pod"},
		{"star", "", []rbacv1.PolicyRule{rule("*", "*", "*")}, "cluster-admin grant"},
		{"star in a namespace", "app", []rbacv1.PolicyRule{rule("*", "*", "*")}, "create a pod"},
	} {
		s, objs := baseSet()
		grantTo(s, "g", c.ns, c.rules...)
		got := alicePath(s, objs)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: path %q, want one with %q", c.name, got, c.want)
		}
	}
}

func TestEscalationGrantsAndExposure(t *testing.T) {
	s, objs := baseSet()
	// web runs as app/web, exposed by a NodePort Service; app/web may read secrets.
	objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{ServiceAccountName: "web"}}))
	objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "internal", Labels: map[string]string{"app": "internal"}},
		Spec: corev1.PodSpec{ServiceAccountName: "internal"}}))
	objs.AddObject(obj(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}}}))
	objs.AddObject(obj(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "internal"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "internal"}}}))
	s.Add(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "reader"}, Rules: []rbacv1.PolicyRule{rule("get", "", "pods"), rule("list", "", "secrets")}})
	s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "web"}, {Kind: "ServiceAccount", Name: "internal"}}})
	g := rbac.NewGraph(s, objs)
	ex := objs.Exposed()
	if len(ex) != 1 || ex[0].Workload != "Pod/app/web" {
		t.Fatalf("exposed: %+v", ex)
	}
	var got []string
	for _, p := range g.Paths(g.Sources()) {
		got = append(got, fmt.Sprintf("%s %v %d", p.Subject, p.Exposed, len(p.Hops)))
		if p.Subject.Name == "web" {
			st := p.Hops[0].Steps[0]
			if st.Grant.Binding.String() != "RoleBinding/app/reader" || st.Grant.Role.String() != "Role/app/reader" || st.Grant.Rule != 1 {
				t.Errorf("grant %+v", st)
			}
		}
	}
	want := "ServiceAccount:app:internal [] 2|ServiceAccount:app:powerful [] 1|ServiceAccount:app:web [Pod/app/web] 2"
	if strings.Join(got, "|") != want {
		t.Errorf("paths:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

func TestAccessOf(t *testing.T) {
	s := rbac.NewSet()
	grantTo(s, "read", "", rule("get", "", "pods"), rule("list", "", "pods"), rule("get", "", "services"))
	grantTo(s, "scale", "team", rule("update", "apps", "deployments/scale", "web"), rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}})
	s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "auth"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "missing"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:authenticated"}}})
	sub, err := rbac.ParseSubject("User:alice")
	if err != nil {
		t.Fatal(err)
	}
	scopes, missing := s.AccessOf(sub.Identity())
	got := fmt.Sprint(scopes)
	want := "[{ [{[get list] [] [pods] [] [] [ClusterRoleBinding/read → ClusterRole/read]} {[get] [] [services] [] [] [ClusterRoleBinding/read → ClusterRole/read]}]} " +
		"{team [{[update] [apps] [deployments/scale] [web] [] [RoleBinding/team/scale → ClusterRole/scale]} {[get] [] [] [] [/healthz] [RoleBinding/team/scale → ClusterRole/scale]}]}]"
	if got != want {
		t.Errorf("access:\n%s\nwant\n%s", got, want)
	}
	if len(missing) != 1 || !strings.Contains(missing[0], `"missing" not found`) {
		t.Errorf("missing %q", missing)
	}
	for _, bad := range []string{"alice", "ServiceAccount:x", "Kind:x", "User:"} {
		if _, err := rbac.ParseSubject(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if s, _ := rbac.ParseSubject("system:serviceaccount:a:b"); s.String() != "ServiceAccount:a:b" {
		t.Errorf("got %v", s)
	}
}

// generated builds n bindings over n/2 roles in 200 namespaces: half
// namespaced Roles bound by RoleBindings, a tenth ClusterRoleBindings.
// nodeCount is the number of Nodes of generated sets.
var nodeCount = 50

func generated(n int) (*rbac.Set, *rbac.Objects) {
	s, objs := baseSet()
	for i := range n / 2 {
		ns := fmt.Sprintf("ns%d", i%200)
		var rules []rbacv1.PolicyRule
		switch i % 5 {
		case 0:
			rules = []rbacv1.PolicyRule{rule("get,list,watch", "", "pods,services,configmaps")}
		case 1:
			rules = []rbacv1.PolicyRule{rule("get", "", "secrets", fmt.Sprintf("s%d", i))}
		case 2:
			rules = []rbacv1.PolicyRule{rule("create,update", "apps", "deployments")}
		case 3:
			rules = []rbacv1.PolicyRule{rule("get", "", "pods/exec")}
		case 4:
			rules = []rbacv1.PolicyRule{rule("update", "apps", "deployments/scale", "web")}
		}
		s.Add(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("r%d", i)}, Rules: rules})
		objs.AddServiceAccount(ns, fmt.Sprintf("sa%d", i%50))
		if i%5 == 1 {
			objs.AddObject(obj(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s%d", i),
				Annotations: map[string]string{corev1.ServiceAccountNameKey: fmt.Sprintf("sa%d", i%50)}}}))
		}
	}
	// In two namespaces of five (those where Roles allow reading token
	// Secrets and creating Deployments) one service account is cluster-admin.
	for i := 1; i < 200; i += 5 {
		for _, j := range []int{i, i + 1} {
			s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("admin%d", j)},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: fmt.Sprintf("ns%d", j), Name: fmt.Sprintf("sa%d", j%50)}}})
		}
	}
	for i := range n {
		ns := fmt.Sprintf("ns%d", (i/2)%200)
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: fmt.Sprintf("r%d", i/2)}
		subs := []rbacv1.Subject{{Kind: "User", Name: fmt.Sprintf("user%d", i%3000)}, {Kind: "ServiceAccount", Name: fmt.Sprintf("sa%d", i%50)}}
		if i%10 == 0 {
			s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cr%d", i)}, Rules: []rbacv1.PolicyRule{rule("get,list", "", "nodes,namespaces")}})
			s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("crb%d", i)},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("cr%d", i)},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: fmt.Sprintf("group%d", i%100)}, {Kind: "User", Name: fmt.Sprintf("user%d", i%3000)}}})
			continue
		}
		s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("rb%d", i)}, RoleRef: ref, Subjects: subs})
	}
	// As on a live cluster: Nodes (one control-plane), Namespaces (a
	// third enforce restricted), 10 Pods per namespace spread over the
	// nodes, one privileged in each.
	objs.SetLive(true)
	for i := range nodeCount {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node%d", i)}}
		if i == 0 {
			n.Labels = map[string]string{rbac.ControlPlaneLabel: ""}
		}
		objs.AddObject(&inventory.Object{Ref: inventory.Ref{Kind: "Node", Name: n.Name}, Meta: &n.ObjectMeta, Typed: n})
	}
	for i := range 200 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns%d", i)}}
		if i%3 == 0 {
			ns.Labels = map[string]string{rbac.EnforceLabel: "restricted"}
		}
		objs.AddObject(&inventory.Object{Ref: inventory.Ref{Kind: "Namespace", Name: ns.Name}, Meta: &ns.ObjectMeta, Typed: ns})
		for j := range 10 {
			yes := j == 0
			objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: fmt.Sprintf("p%d", j)},
				Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node%d", 1+(i*10+j)%(nodeCount-1)), ServiceAccountName: fmt.Sprintf("sa%d", j),
					Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}))
		}
	}
	// As on a live cluster, every identity has cluster-wide discovery rules.
	s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "basic"}, Rules: []rbacv1.PolicyRule{
		rule("create", "authorization.k8s.io", "selfsubjectaccessreviews,selfsubjectrulesreviews"),
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/api/*", "/apis", "/apis/*", "/version"}}}})
	s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "basic"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "basic"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:authenticated"}}})
	return s, objs
}

func analyse(s *rbac.Set, objs *rbac.Objects) int {
	g := rbac.NewGraph(s, objs)
	return len(g.Paths(g.Sources()))
}

func BenchmarkPaths10k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s, objs := generated(10000)
		b.StartTimer()
		analyse(s, objs)
	}
}

func TestPathsScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale")
	}
	s, objs := generated(10000)
	start := time.Now()
	n := analyse(s, objs)
	d := time.Since(start)
	if d > 30*time.Second {
		t.Errorf("10,000 bindings took %v", d)
	}
	t.Logf("%d bindings, %d nodes, %d paths in %v", s.Len(), nodeCount, n, d)
	if n == 0 {
		t.Error("no path in the generated set")
	}
}

// A client certificate may be issued for any user or group a binding
// names, but not for system:masters: the API server refuses such requests
// for the kube-apiserver-client signer.
func TestCSRReachesUsersAndGroups(t *testing.T) {
	csr := []rbacv1.PolicyRule{rule("create", "certificates.k8s.io", "certificatesigningrequests"),
		rule("update", "certificates.k8s.io", "certificatesigningrequests/approval"),
		rule("approve", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client")}
	for _, c := range []struct {
		name  string
		rules []rbacv1.PolicyRule
		admin rbacv1.Subject
		want  string
	}{
		{"user", csr, rbacv1.Subject{Kind: "User", Name: "root"}, "sign a client certificate (CSR create, approve) → User:root; cluster-admin grant (*/*/*) → cluster-admin"},
		{"group", csr, rbacv1.Subject{Kind: "Group", Name: "admins"}, "sign a client certificate (CSR create, approve) → Group:admins; cluster-admin grant (*/*/*) → cluster-admin"},
		{"system:masters only", csr, rbacv1.Subject{Kind: "Group", Name: rbac.MastersGroup}, ""},
		{"without approval", []rbacv1.PolicyRule{csr[0], csr[2]}, rbacv1.Subject{Kind: "User", Name: "root"}, ""},
	} {
		s, objs := baseSet()
		grantTo(s, "g", "", c.rules...)
		s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "admins"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{c.admin}})
		if got := alicePath(s, objs); got != c.want {
			t.Errorf("%s: path %q, want %q", c.name, got, c.want)
		}
	}
}

// A Principal (bindings found through the subject index) decides exactly
// as the whole set, with the same first grant, for users, groups and
// service accounts with and without their implied groups.
func TestPrincipalMatchesSet(t *testing.T) {
	s, _ := generated(2000)
	s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns3", Name: "weird"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r3"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: ""}, {Kind: "Other", Name: "user1"}, {Kind: "ServiceAccount", Name: "sa3"}}})
	users := []rbac.User{{}, {Name: "user7", Groups: []string{"system:authenticated"}}, {Name: "user1"}, {Groups: []string{"group10"}},
		rbac.ServiceAccountUser("ns3", "sa3"), {Name: "system:serviceaccount:ns3:sa3"}, {Name: "x", Groups: []string{rbac.MastersGroup}}}
	var reqs []rbac.Request
	for _, ns := range []string{"", "ns3", "ns7"} {
		for _, r := range []rbac.Request{{Verb: "get", Resource: "pods"}, {Verb: "get", Resource: "secrets", Name: "s3"},
			{Verb: "list", Resource: "nodes"}, {Verb: "create", Group: "apps", Resource: "deployments"}, {Verb: "get", Path: "/version"}} {
			r.Namespace = ns
			reqs = append(reqs, r)
		}
	}
	n := 0
	for _, u := range users {
		p := s.For(u)
		for _, r := range reqs {
			want, got := s.Authorize(u, r), p.Authorize(r)
			if want.Allowed != got.Allowed || want.Reason != got.Reason || fmt.Sprint(want.Grants) != fmt.Sprint(got.Grants) {
				t.Errorf("%+v %s: set %+v, principal %+v", u, r, want, got)
			}
			if want.Allowed {
				n++
			}
		}
	}
	if n == 0 {
		t.Error("nothing allowed: the test proves little")
	}
}
