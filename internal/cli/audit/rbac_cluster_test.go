package audit

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/testcluster"
)

// The least RBAC derived from a service account's real requests, applied
// to a fresh identity, admits exactly the observed requests and none of
// the others its old permissions allowed (SubjectAccessReview on the same
// API server).
func TestAuditRBACOnRealAPIServer(t *testing.T) {
	policy, err := filepath.Abs(filepath.Join("..", "..", "..", "deploy", "audit-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "audit.log")
	c := testcluster.RequireWith(t, testcluster.Options{APIServerArgs: []string{"--audit-policy-file=" + policy, "--audit-log-path=" + logFile, "--audit-log-format=json"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	admin := kubernetes.NewForConfigOrDie(c.AdminConfig())
	const ns = "rbac-least"
	must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	for _, sa := range []string{"worker", "fresh"} {
		must(admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}))
	}
	must(admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s1"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}))
	// The worker's broad permissions: edit in the namespace, and reading namespaces.
	must(admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "worker-edit"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "worker"}}}, metav1.CreateOptions{}))
	must(admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "rbac-least-ns-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces", "nodes"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{}))
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "rbac-least-ns-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rbac-least-ns-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "worker"}}}, metav1.CreateOptions{}))
	tok, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "worker", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wcfg := &rest.Config{Host: c.Host(), BearerToken: tok.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CACert()}}
	worker := kubernetes.NewForConfigOrDie(wcfg)
	testcluster.WaitFor(t, "the worker's permissions", func() bool {
		_, err := worker.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		return err == nil
	})
	// What the worker does.
	cm, err := worker.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}, metav1.CreateOptions{})
	must(cm, err)
	must(worker.CoreV1().ConfigMaps(ns).Get(ctx, "c1", metav1.GetOptions{}))
	cm.Data = map[string]string{"a": "b"}
	must(worker.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}))
	must(worker.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}))
	must(worker.CoreV1().Secrets(ns).Get(ctx, "s1", metav1.GetOptions{}))
	must(admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "marker"}}, metav1.CreateOptions{}))

	var out result
	testcluster.WaitFor(t, "the worker's requests in the audit log", func() bool {
		data, _ := os.ReadFile(logFile)
		if !strings.Contains(string(data), `"name":"marker"`) {
			return false
		}
		out = run(t, "", "rbac", logFile, "--serviceaccount", ns+":worker", "--name", "least")
		return true
	})
	if out.code != 0 {
		t.Fatalf("audit rbac: exit %d\n%s", out.code, out.stderr)
	}
	// With the worker's current RBAC, what it holds and never used: findings
	// at the rules of the roles its bindings name.
	kubeconfig := c.KubeconfigPath(testcluster.Admin)
	unused := run(t, "", "rbac", logFile, "--serviceaccount", ns+":worker", "--cluster", "--kubeconfig", kubeconfig, "-o", "json", "--fail-on", "low")
	if unused.code != 1 {
		t.Fatalf("audit rbac --cluster -o json --fail-on low: exit %d, want 1 (unused permissions)\n%s", unused.code, unused.stderr)
	}
	var rep struct {
		Findings []struct {
			Check    string
			Severity string
			Object   struct{ Kind, Name string }
			Message  string
		}
	}
	if err := json.Unmarshal([]byte(unused.stdout), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, unused.stdout)
	}
	// unusedOf is the permissions a finding lists, by role and binding.
	unusedOf := map[string][]string{}
	for _, f := range rep.Findings {
		if f.Check != "audit-rbac-unused-permission" || f.Severity != "low" {
			t.Errorf("finding %+v", f)
		}
		if strings.HasPrefix(f.Object.Name, "system:") {
			t.Errorf("the bootstrap policy's grants are reported: %+v", f)
		}
		// "rules[I], granted SCOPE through BINDING, never used: PERMISSIONS (window: ...)"
		head, list, ok := strings.Cut(f.Message, ", never used: ")
		list, window, _ := strings.Cut(list, " (window: ")
		_, binding, _ := strings.Cut(head, " through ")
		if !ok || !strings.HasPrefix(head, "rules[") || !strings.Contains(window, " events, ") {
			t.Errorf("message %q", f.Message)
			continue
		}
		key := f.Object.Kind + "/" + f.Object.Name + " " + binding
		unusedOf[key] = append(unusedOf[key], strings.Split(list, ", ")...)
	}
	if got := unusedOf["ClusterRole/rbac-least-ns-reader ClusterRoleBinding/rbac-least-ns-reader"]; strings.Join(got, ", ") != "get namespaces, get nodes, list nodes" {
		t.Errorf("the namespace reader's unused permissions: %q, want get namespaces, get nodes, list nodes", got)
	}
	edit := unusedOf["ClusterRole/edit RoleBinding/rbac-least/worker-edit"]
	for _, want := range []string{"delete configmaps", "create pods", "delete secrets", "list secrets", "create deployments.apps"} {
		if !slices.Contains(edit, want) {
			t.Errorf("edit's unused permissions lack %q: %q", want, edit)
		}
	}
	for _, used := range []string{"create configmaps", "get configmaps", "update configmaps", "list pods", "get secrets"} {
		if slices.Contains(edit, used) {
			t.Errorf("a used permission is reported unused: %s", used)
		}
	}
	if len(unusedOf) != 2 {
		t.Errorf("findings through %d bindings, want 2 (worker-edit, rbac-least-ns-reader): %v", len(unusedOf), slices.Collect(maps.Keys(unusedOf)))
	}
	// The YAML keeps the roles, with the findings as comments.
	asYAML := run(t, "", "rbac", logFile, "--serviceaccount", ns+":worker", "--cluster", "--kubeconfig", kubeconfig)
	if asYAML.code != 0 || !strings.Contains(asYAML.stdout, "kind: Role\n") ||
		!strings.Contains(asYAML.stdout, "# unused: ClusterRole/rbac-least-ns-reader: rules[0], granted cluster-wide through ClusterRoleBinding/rbac-least-ns-reader, never used: get namespaces, get nodes, list nodes (window: ") {
		t.Errorf("audit rbac --cluster: exit %d\n%s%s", asYAML.code, asYAML.stdout, asYAML.stderr)
	}
	t.Logf("%s", out.stdout)
	// Apply the roles, bound to the fresh service account instead.
	for _, doc := range strings.Split(out.stdout, "\n---\n") {
		var kind struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &kind); err != nil {
			t.Fatal(err)
		}
		switch kind.Kind {
		case "Role":
			var r rbacv1.Role
			must(&r, yaml.UnmarshalStrict([]byte(doc), &r))
			must(admin.RbacV1().Roles(r.Namespace).Create(ctx, &r, metav1.CreateOptions{}))
			must(admin.RbacV1().RoleBindings(r.Namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "least"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name}, Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "fresh"}}}, metav1.CreateOptions{}))
		case "ClusterRole":
			var r rbacv1.ClusterRole
			must(&r, yaml.UnmarshalStrict([]byte(doc), &r))
			must(admin.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{}))
			must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "least"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name}, Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "fresh"}}}, metav1.CreateOptions{}))
		case "RoleBinding", "ClusterRoleBinding":
			if !strings.Contains(doc, "name: worker") {
				t.Errorf("binding not to the worker:\n%s", doc)
			}
		default:
			t.Errorf("unexpected document:\n%s", doc)
		}
	}
	can := func(verb, resource, namespace, name string) bool {
		t.Helper()
		r, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:" + ns + ":fresh", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: resource, Name: name}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	testcluster.WaitFor(t, "the fresh identity's roles", func() bool { return can("get", "configmaps", ns, "c1") })
	for _, q := range [][4]string{
		{"create", "configmaps", ns, ""}, {"get", "configmaps", ns, "c1"}, {"update", "configmaps", ns, "c1"},
		{"list", "pods", ns, ""}, {"get", "secrets", ns, "s1"}, {"list", "namespaces", "", ""},
	} {
		if !can(q[0], q[1], q[2], q[3]) {
			t.Errorf("observed request %v denied to the least role", q)
		}
	}
	for _, q := range [][4]string{
		{"delete", "configmaps", ns, "c1"}, {"get", "configmaps", ns, "other"}, {"get", "secrets", ns, "other"}, {"list", "secrets", ns, ""},
		{"create", "pods", ns, ""}, {"list", "nodes", "", ""}, {"get", "namespaces", "", ns}, {"list", "configmaps", "default", ""},
	} {
		if can(q[0], q[1], q[2], q[3]) {
			t.Errorf("request %v the worker never made is allowed to the least role", q)
		}
	}
}
