package rbac_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/rbac"
	"github.com/kubeharden/kubeharden/source/cluster"
)

// The escalation paths package rbac reports are walked, hop by hop, with
// real requests against a real API server (with the controller manager),
// each hop as the identity the previous one reached: a path we report must
// be a path that works.
//
// Each scenario gives a fresh service account ("attacker", in a namespace of
// its own) some rules; where the path goes through a more powerful account,
// that is "victim" of the same namespace, bound to cluster-admin. The paths
// are computed once from the objects kubeharden reads back from the server
// (source/cluster, as `rbac paths --cluster` and the scan do), before any
// walk changes them. Then each hop is made as the current identity:
//
//   - create a pod (or a Deployment, whose pod the controller manager
//     creates) running as the victim: admitted. The test cluster has no
//     kubelet, so the kubelet's part — requesting the pod's token, bound to
//     the pod — is made by the test with admin rights, and the walk goes on
//     with that token;
//   - namespace admin: the attacker binds cluster-admin to itself in the
//     namespace with a RoleBinding, then creates the pod as above;
//   - read a legacy token Secret (filled in by the controller manager's
//     token controller) and use its token;
//   - create serviceaccounts/token for the victim and use the token;
//   - impersonate a service account, a user, or a user with group
//     system:masters (Impersonate-User/Impersonate-Group headers);
//   - cluster-admin-equivalent hops: */*/* (the walk ends with a request
//     only cluster-admin may make), bind cluster-admin with a
//     ClusterRoleBinding of its own, escalate its own ClusterRole to */*/*,
//     create and approve a client certificate request for system:masters,
//     create webhook configurations, APIServices and hostPath
//     PersistentVolumes (server-side dry run: admitted, not kept);
//   - nodes: a control-plane Node object (esc-cp, no kubelet) is made
//     before the paths are computed. Creating pods in an unlabelled
//     namespace: the identity creates a privileged, host-PID pod mounting
//     the node's root, bound to esc-cp by spec.nodeName: admitted and
//     bound. In a namespace enforcing restricted with patch on namespaces:
//     the same pod is refused by PodSecurity, the identity relabels its
//     namespace enforce=privileged and the pod is admitted. Exec into a
//     privileged pod on esc-cp: asserted by SelfSubjectAccessReview. In a
//     namespace enforcing baseline no path is reported, and the API
//     server admits the identity's ordinary pod but refuses the
//     privileged one. What root on the node then reads (admin.conf, PKI,
//     etcd, the pods' tokens) needs a real node: the walk stops there.
//
// Every identity switch is checked with a SelfSubjectReview. What the API
// alone cannot show is asserted with a SelfSubjectAccessReview as the
// identity instead: exec into a pod and nodes/proxy need a kubelet; a
// webhook or PersistentVolume takes effect only with a webhook server or a
// node. A CSR is walked to the end: the test cluster's controller manager
// signs approved requests with the cluster CA, and the walk goes on with
// the issued certificate.
//
// Negative: an identity with harmless or resourceNames-limited rules, and
// with impersonate on groups but on no user (which the API server refuses:
// groups are impersonated only together with a user), gets no path, and
// every one of those requests and the cluster-admin request fail for it.
func TestEscalationPathsWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test cluster")
	}
	start := time.Now()
	tc := testcluster.Shared(t)
	w := newWalker(t, tc)

	type scenario struct {
		name string
		// rules are granted cluster-wide, nsRules in the namespace.
		rules, nsRules []rbacv1.PolicyRule
		victim         bool
		// labels are the namespace's.
		labels map[string]string
		setup  func(t *testing.T, ns string)
		// noPath, for a scenario without hops, shows the API server
		// refuses what a path would need (default: deniedEverything).
		noPath func(t *testing.T, ns string)
		// hops are the primitives the reported path must have, in order
		// (prefixes of Edge.Primitive, alternatives separated by |);
		// none: no path.
		hops []string
	}
	rule := func(verbs, group, resources string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: strings.Split(verbs, ","), APIGroups: []string{group}, Resources: strings.Split(resources, ","), ResourceNames: names}
	}
	const rbacGroup = "rbac.authorization.k8s.io"
	scenarios := []scenario{
		{name: "pods", nsRules: []rbacv1.PolicyRule{rule("create", "", "pods")}, victim: true,
			hops: []string{"create a pod", "cluster-admin grant"}},
		{name: "deployments", nsRules: []rbacv1.PolicyRule{rule("create", "apps", "deployments")}, victim: true,
			hops: []string{"create a pod", "cluster-admin grant"}},
		{name: "secrets", nsRules: []rbacv1.PolicyRule{rule("list", "", "secrets")}, victim: true,
			setup: func(t *testing.T, ns string) { w.legacyToken(t, ns, "victim") },
			hops:  []string{"read a token Secret", "cluster-admin grant"}},
		{name: "token", nsRules: []rbacv1.PolicyRule{rule("create", "", "serviceaccounts/token", "victim")}, victim: true,
			hops: []string{"create a token", "cluster-admin grant"}},
		{name: "impersonate-sa", nsRules: []rbacv1.PolicyRule{rule("impersonate", "", "serviceaccounts", "victim")}, victim: true,
			hops: []string{"impersonate service account", "cluster-admin grant"}},
		{name: "impersonate-user", rules: []rbacv1.PolicyRule{rule("impersonate", "", "users", "esc-root")},
			setup: func(t *testing.T, ns string) {
				w.bindClusterAdmin(t, "esc-root", rbacv1.Subject{Kind: "User", APIGroup: rbacGroup, Name: "esc-root"})
			},
			hops: []string{"impersonate user", "cluster-admin grant"}},
		// Any user will do to impersonate a group with: here only "nobody"
		// (so not esc-root of impersonate-user, which is as short).
		{name: "impersonate-masters", rules: []rbacv1.PolicyRule{rule("impersonate", "", "groups"), rule("impersonate", "", "users", "nobody")},
			hops: []string{"impersonate group", "cluster-admin grant"}},
		{name: "bind", rules: []rbacv1.PolicyRule{rule("create", rbacGroup, "clusterrolebindings"), rule("bind", rbacGroup, "clusterroles", "cluster-admin")},
			hops: []string{"bind cluster-admin"}},
		{name: "escalate", rules: []rbacv1.PolicyRule{rule("escalate,update", rbacGroup, "clusterroles")},
			hops: []string{"escalate clusterroles"}},
		{name: "rolebindings", nsRules: []rbacv1.PolicyRule{rule("create", rbacGroup, "rolebindings"), rule("bind", rbacGroup, "clusterroles", "cluster-admin")}, victim: true,
			hops: []string{"namespace admin", "cluster-admin grant"}},
		{name: "csr", rules: []rbacv1.PolicyRule{rule("create", "certificates.k8s.io", "certificatesigningrequests"),
			rule("update", "certificates.k8s.io", "certificatesigningrequests/approval"),
			rule("approve", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client")},
			hops: []string{"sign a client certificate", "cluster-admin grant"}},
		{name: "webhooks", rules: []rbacv1.PolicyRule{rule("create", "admissionregistration.k8s.io", "validatingwebhookconfigurations")},
			hops: []string{"admission control"}},
		{name: "apiservices", rules: []rbacv1.PolicyRule{rule("create", "apiregistration.k8s.io", "apiservices")},
			hops: []string{"API extension"}},
		{name: "pvs", rules: []rbacv1.PolicyRule{rule("create", "", "persistentvolumes")},
			hops: []string{"create persistentvolumes"}},
		{name: "nodes-proxy", rules: []rbacv1.PolicyRule{rule("get", "", "nodes/proxy")},
			hops: []string{"nodes/proxy"}},
		{name: "exec", nsRules: []rbacv1.PolicyRule{rule("create", "", "pods/exec")}, victim: true,
			hops: []string{"enter a running pod", "cluster-admin grant"}},
		// Nodes: the control-plane Node esc-cp (no kubelet behind it) is
		// made before the paths are computed.
		{name: "node", nsRules: []rbacv1.PolicyRule{rule("create", "", "pods")},
			hops: []string{"create a privileged pod on the node", "root on a control-plane node"}},
		{name: "node-baseline", nsRules: []rbacv1.PolicyRule{rule("create", "", "pods")},
			labels: map[string]string{rbac.EnforceLabel: "baseline"},
			noPath: func(t *testing.T, ns string) { w.baselineRefuses(t, ns) }},
		{name: "psa", nsRules: []rbacv1.PolicyRule{rule("patch", "", "namespaces"), rule("create", "", "pods")},
			labels: map[string]string{rbac.EnforceLabel: "restricted"},
			hops:   []string{"relabel the namespace", "root on a control-plane node"}},
		{name: "escape", nsRules: []rbacv1.PolicyRule{rule("create", "", "pods/exec", "priv")},
			setup: func(t *testing.T, ns string) { w.privilegedPod(t, w.admin, ns, "priv", escNode) },
			hops:  []string{"enter a pod that can take its node", "root on a control-plane node"}},
		{name: "harmless", victim: true,
			rules: []rbacv1.PolicyRule{rule("impersonate", "", "groups"), rule("get,list", "", "nodes,namespaces")},
			nsRules: []rbacv1.PolicyRule{rule("get,list,watch", "", "pods,configmaps,services"), rule("get", "", "secrets", "other-secret"),
				rule("create", "", "serviceaccounts/token", "default"), rule("get", "", "pods/exec")},
			setup: func(t *testing.T, ns string) { w.legacyToken(t, ns, "victim") }},
	}
	w.controlPlaneNode(t)
	for _, s := range scenarios {
		ns := "esc-" + s.name
		w.namespaceLabelled(t, ns, s.labels)
		w.serviceAccount(t, ns, "attacker")
		if s.victim {
			w.serviceAccount(t, ns, "victim")
			w.bindClusterAdmin(t, ns+"-victim", rbacv1.Subject{Kind: "ServiceAccount", Namespace: ns, Name: "victim"})
		}
		attacker := rbacv1.Subject{Kind: "ServiceAccount", Namespace: ns, Name: "attacker"}
		if len(s.rules) > 0 {
			w.create(t, "ClusterRole", func(ctx context.Context) error {
				_, err := w.admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns}, Rules: s.rules}, metav1.CreateOptions{})
				return err
			})
			t.Cleanup(func() { _ = w.admin.RbacV1().ClusterRoles().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
			w.create(t, "ClusterRoleBinding", func(ctx context.Context) error {
				_, err := w.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns},
					RoleRef: rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: ns}, Subjects: []rbacv1.Subject{attacker}}, metav1.CreateOptions{})
				return err
			})
			t.Cleanup(func() {
				_ = w.admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), ns, metav1.DeleteOptions{})
			})
		}
		if len(s.nsRules) > 0 {
			w.create(t, "Role", func(ctx context.Context) error {
				_, err := w.admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "attacker"}, Rules: s.nsRules}, metav1.CreateOptions{})
				return err
			})
			w.create(t, "RoleBinding", func(ctx context.Context) error {
				_, err := w.admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "attacker"},
					RoleRef: rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "attacker"}, Subjects: []rbacv1.Subject{attacker}}, metav1.CreateOptions{})
				return err
			})
		}
		if s.setup != nil {
			s.setup(t, ns)
		}
	}
	// The exposed workload: web in esc-exposed is selected by a NodePort
	// Service; every service account of the namespace may mint tokens for
	// victim. web is named by no binding: it is a source only because it is
	// exposed.
	const exposedNS = "esc-exposed"
	w.namespace(t, exposedNS)
	w.serviceAccount(t, exposedNS, "web")
	w.serviceAccount(t, exposedNS, "victim")
	w.bindClusterAdmin(t, exposedNS+"-victim", rbacv1.Subject{Kind: "ServiceAccount", Namespace: exposedNS, Name: "victim"})
	w.create(t, "Role", func(ctx context.Context) error {
		_, err := w.admin.RbacV1().Roles(exposedNS).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "mint"},
			Rules: []rbacv1.PolicyRule{rule("create", "", "serviceaccounts/token", "victim")}}, metav1.CreateOptions{})
		return err
	})
	w.create(t, "RoleBinding", func(ctx context.Context) error {
		_, err := w.admin.RbacV1().RoleBindings(exposedNS).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mint"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "mint"},
			Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacGroup, Name: "system:serviceaccounts:" + exposedNS}}}, metav1.CreateOptions{})
		return err
	})
	webPod := w.pod(t, w.admin, exposedNS, "web", "web", map[string]string{"app": "web"})
	w.create(t, "Service", func(ctx context.Context) error {
		_, err := w.admin.CoreV1().Services(exposedNS).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
		return err
	})
	setupDone := time.Now()

	paths := w.paths(t)
	computed := time.Now()
	t.Logf("setup %v, %d paths computed from the cluster's objects in %v", setupDone.Sub(start).Round(time.Millisecond), len(paths), computed.Sub(setupDone).Round(time.Millisecond))

	t.Run("scan", func(t *testing.T) {
		// The catalogue check reports the same subjects on a cluster scan,
		// on the binding of the first hop (before the walks change RBAC).
		out, errs, code := run(t, "scan", "--cluster", "--kubeconfig", tc.KubeconfigPath(testcluster.Admin), "--checks", "rbac-escalation-path", "-o", "json")
		if code != 0 {
			t.Fatalf("scan: exit %d: %s", code, errs)
		}
		var rep struct {
			Findings []struct {
				Object  struct{ Kind, Namespace, Name string }
				Message string
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("scan output: %v", err)
		}
		// Messages start with the subject ("ServiceAccount:NS:NAME can
		// escalate...", or "...NAME, the service account of exposed...").
		reported := map[string]string{}
		for _, f := range rep.Findings {
			sub, _, _ := strings.Cut(f.Message, " ")
			reported[strings.TrimSuffix(sub, ",")] = f.Object.Kind + "/" + f.Object.Namespace + "/" + f.Object.Name
		}
		for _, s := range scenarios {
			sub := "ServiceAccount:esc-" + s.name + ":attacker"
			where, ok := reported[sub]
			if len(s.hops) == 0 {
				if ok {
					t.Errorf("scan reports %s on %s", sub, where)
				}
				continue
			}
			if !ok {
				t.Errorf("scan does not report %s", sub)
			}
		}
		if where := reported["ServiceAccount:"+exposedNS+":web"]; where != "RoleBinding/"+exposedNS+"/mint" {
			t.Errorf("exposed web reported on %q, want RoleBinding/%s/mint; findings %v", where, exposedNS, reported)
		}
	})
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			ns := "esc-" + s.name
			sub := rbac.Subject{Kind: "ServiceAccount", Namespace: ns, Name: "attacker"}
			p, found := paths[sub]
			if len(s.hops) == 0 {
				if found {
					t.Fatalf("path reported for %s: %s", sub, describe(p))
				}
				if s.noPath != nil {
					s.noPath(t, ns)
					return
				}
				w.deniedEverything(t, ns)
				return
			}
			if !found {
				t.Fatalf("no path reported for %s", sub)
			}
			var got []string
			for _, h := range p.Hops {
				got = append(got, h.Primitive)
			}
			if len(got) != len(s.hops) {
				t.Fatalf("path %s, want hops %q", describe(p), s.hops)
			}
			for i, want := range s.hops {
				if !slices.ContainsFunc(strings.Split(want, "|"), func(w string) bool { return strings.HasPrefix(got[i], w) }) {
					t.Fatalf("path %s, want hops %q", describe(p), s.hops)
				}
			}
			t.Log(describe(p))
			w.walk(t, w.token(t, ns, "attacker", nil), p)
		})
	}
	t.Run("exposed", func(t *testing.T) {
		sub := rbac.Subject{Kind: "ServiceAccount", Namespace: exposedNS, Name: "web"}
		p, ok := paths[sub]
		if !ok {
			t.Fatalf("no path reported for %s", sub)
		}
		if !slices.Contains(p.Exposed, "Pod/"+exposedNS+"/web") || len(p.Hops) != 2 || !strings.HasPrefix(p.Hops[0].Primitive, "create a token") {
			t.Fatalf("path %s, exposed %v", describe(p), p.Exposed)
		}
		t.Log(describe(p))
		// Who takes over web has its token: the one the kubelet mounts,
		// bound to the pod.
		w.walk(t, w.token(t, exposedNS, "web", webPod), p)
	})
	t.Run("builtin roles", func(t *testing.T) { w.builtinRoles(t) })
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

func describe(p rbac.Path) string {
	var parts []string
	for _, h := range p.Hops {
		parts = append(parts, h.Primitive+" → "+h.To.String())
	}
	return p.Subject.String() + ": " + strings.Join(parts, "; ")
}

type walker struct {
	tc    *testcluster.Cluster
	admin *kubernetes.Clientset
	ctx   context.Context
}

func newWalker(t *testing.T, tc *testcluster.Cluster) *walker {
	admin, err := kubernetes.NewForConfig(tc.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &walker{tc: tc, admin: admin, ctx: context.Background()}
}

// create runs an admin creation, failing the test on any error but
// AlreadyExists (the shared cluster keeps what an earlier -count run made).
func (w *walker) create(t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	if err := f(w.ctx); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create %s: %v", what, err)
	}
}

func (w *walker) namespace(t *testing.T, ns string) {
	t.Helper()
	w.create(t, "Namespace "+ns, func(ctx context.Context) error {
		_, err := w.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = w.admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
}

func (w *walker) serviceAccount(t *testing.T, ns, name string) {
	t.Helper()
	w.create(t, "ServiceAccount "+ns+"/"+name, func(ctx context.Context) error {
		_, err := w.admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	})
}

func (w *walker) bindClusterAdmin(t *testing.T, name string, sub rbacv1.Subject) {
	t.Helper()
	w.create(t, "ClusterRoleBinding "+name, func(ctx context.Context) error {
		_, err := w.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{sub}}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() {
		_ = w.admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// legacyToken creates a legacy token Secret for sa, NAME-token, and waits
// for the controller manager's token controller to fill it in.
func (w *walker) legacyToken(t *testing.T, ns, sa string) {
	t.Helper()
	w.create(t, "Secret", func(ctx context.Context) error {
		_, err := w.admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: sa + "-token",
			Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{})
		return err
	})
	testcluster.WaitFor(t, "the token controller to fill in "+ns+"/"+sa+"-token", func() bool {
		s, err := w.admin.CoreV1().Secrets(ns).Get(w.ctx, sa+"-token", metav1.GetOptions{})
		return err == nil && len(s.Data[corev1.ServiceAccountTokenKey]) > 0
	})
}

// allowedSoon runs a request the test has just granted: the API server's
// RBAC authorizer follows new bindings through its own informers, so a
// request made at once may still be refused for a moment. It retries a
// Forbidden error for up to 10 s and returns the last error.
func allowedSoon[T any](f func() (T, error)) (T, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := f()
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pod creates, as cs, a pod running as sa.
func (w *walker) pod(t *testing.T, cs kubernetes.Interface, ns, name, sa string, podLabels map[string]string) *corev1.Pod {
	t.Helper()
	p, err := allowedSoon(func() (*corev1.Pod, error) {
		return cs.CoreV1().Pods(ns).Create(w.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: podLabels},
			Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:1"}}}}, metav1.CreateOptions{})
	})
	if apierrors.IsAlreadyExists(err) {
		p, err = cs.CoreV1().Pods(ns).Get(w.ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatalf("create pod %s/%s as %s: %v", ns, name, sa, err)
	}
	return p
}

// token returns a client for service account ns/name with a token the
// admin requests: bound to pod when given, as the kubelet requests the
// token it mounts into the pod.
func (w *walker) token(t *testing.T, ns, name string, pod *corev1.Pod) *rest.Config {
	t.Helper()
	exp := int64(600)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}
	if pod != nil {
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}
	}
	tr, err := w.admin.CoreV1().ServiceAccounts(ns).CreateToken(w.ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, name, err)
	}
	return w.bearer(tr.Status.Token)
}

func (w *walker) bearer(token string) *rest.Config {
	return &rest.Config{Host: w.tc.Host(), BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: w.tc.CACert()}, QPS: 100, Burst: 200}
}

func (w *walker) client(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// whoami is the user the API server authenticates cfg as.
func (w *walker) whoami(t *testing.T, cfg *rest.Config) authenticationv1.UserInfo {
	t.Helper()
	r, err := w.client(t, cfg).AuthenticationV1().SelfSubjectReviews().Create(w.ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	return r.Status.UserInfo
}

// expectIdentity checks that cfg authenticates as sub.
func (w *walker) expectIdentity(t *testing.T, cfg *rest.Config, sub rbac.Subject) {
	t.Helper()
	u := w.whoami(t, cfg)
	switch sub.Kind {
	case "ServiceAccount":
		if want := "system:serviceaccount:" + sub.Namespace + ":" + sub.Name; u.Username != want {
			t.Fatalf("authenticated as %q %v, want %q", u.Username, u.Groups, want)
		}
	case "User":
		if u.Username != sub.Name {
			t.Fatalf("authenticated as %q, want %q", u.Username, sub.Name)
		}
	case "Group":
		if !slices.Contains(u.Groups, sub.Name) {
			t.Fatalf("authenticated as %q in %v, want a member of %q", u.Username, u.Groups, sub.Name)
		}
	}
}

// allowed asks, as cfg, whether the identity may make r (SelfSubjectAccessReview).
func (w *walker) allowed(t *testing.T, cfg *rest.Config, r rbac.Request) bool {
	t.Helper()
	ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: r.Verb, Group: r.Group, Resource: r.Resource,
			Subresource: r.Subresource, Namespace: r.Namespace, Name: r.Name}}}
	res, err := w.client(t, cfg).AuthorizationV1().SelfSubjectAccessReviews().Create(w.ctx, ssar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectAccessReview %s: %v", r, err)
	}
	return res.Status.Allowed
}

// paths reads the cluster's objects as kubeharden does and returns the
// escalation path of every source.
func (w *walker) paths(t *testing.T) map[rbac.Subject]rbac.Path {
	t.Helper()
	col := rbac.NewCollector()
	sink := pathSink{col, rbac.NewObjects()}
	sink.objs.SetLive(true)
	if err := (cluster.Source{Options: cluster.Options{Kubeconfig: w.tc.KubeconfigPath(testcluster.Admin)}}).Read(w.ctx, sink); err != nil {
		t.Fatalf("reading the cluster: %v", err)
	}
	if len(col.Errors) > 0 {
		t.Fatalf("reading the cluster: %v", col.Errors)
	}
	for _, k := range col.Missing {
		t.Errorf("reading the cluster: %s not listed", k.Resource)
	}
	g := rbac.NewGraph(col.Set, sink.objs)
	out := map[rbac.Subject]rbac.Path{}
	for _, p := range g.Paths(g.Sources()) {
		out[p.Subject] = p
	}
	return out
}

type pathSink struct {
	*rbac.Collector
	objs *rbac.Objects
}

func (s pathSink) Object(o *inventory.Object) {
	if !s.Set.AddObject(o) {
		s.objs.AddObject(o)
	}
}

// walk makes every hop of p, starting as cfg.
func (w *walker) walk(t *testing.T, cfg *rest.Config, p rbac.Path) {
	t.Helper()
	w.expectIdentity(t, cfg, p.Subject)
	for i, h := range p.Hops {
		// Every step the path names is allowed to the identity walking it.
		for _, s := range h.Steps {
			if !w.allowed(t, cfg, s.Request) {
				t.Fatalf("hop %d (%s): the API server denies %s to %s", i+1, h.Primitive, s.Request, h.From)
			}
		}
		next, ok := w.hop(t, cfg, h)
		if !ok {
			return
		}
		if h.To != rbac.ClusterAdmin {
			w.expectIdentity(t, next, h.To)
		}
		cfg = next
	}
}

// hop makes the requests of one primitive as cfg and returns the
// identity it reaches; false when the hop cannot be made with the API
// alone (its steps were asserted by SelfSubjectAccessReview).
func (w *walker) hop(t *testing.T, cfg *rest.Config, h rbac.Edge) (*rest.Config, bool) {
	t.Helper()
	cs := w.client(t, cfg)
	ctx := w.ctx
	if len(h.Steps) == 0 {
		// Done on a node (its files): no request of the API.
		return nil, false
	}
	step := h.Steps[0].Request
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	switch {
	case strings.HasPrefix(h.Primitive, "cluster-admin grant"):
		w.clusterAdminAction(t, cfg)
		return cfg, true

	case strings.HasPrefix(h.Primitive, "create a pod"):
		return w.runAs(t, cs, step, h.To), true

	case strings.HasPrefix(h.Primitive, "namespace admin"):
		// Bind cluster-admin to oneself in the namespace, then create the
		// pod with the power that gives.
		me := w.whoami(t, cfg)
		ns, name, _ := rbac.SplitServiceAccount(me.Username)
		_, err := cs.RbacV1().RoleBindings(step.Namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "self-admin-" + suffix},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("bind cluster-admin in %s: %v", step.Namespace, err)
		}
		return w.runAs(t, cs, rbac.Request{Verb: "create", Resource: "pods", Namespace: step.Namespace}, h.To), true

	case strings.HasPrefix(h.Primitive, "read a token Secret"):
		var tok []byte
		if step.Verb == "get" {
			s, err := cs.CoreV1().Secrets(step.Namespace).Get(ctx, step.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get secret: %v", err)
			}
			tok = s.Data[corev1.ServiceAccountTokenKey]
		} else {
			l, err := cs.CoreV1().Secrets(step.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("list secrets: %v", err)
			}
			for _, s := range l.Items {
				if s.Annotations[corev1.ServiceAccountNameKey] == h.To.Name {
					tok = s.Data[corev1.ServiceAccountTokenKey]
				}
			}
		}
		if len(tok) == 0 {
			t.Fatalf("no token of %s among the Secrets read", h.To)
		}
		return w.bearer(string(tok)), true

	case strings.HasPrefix(h.Primitive, "create a token"):
		exp := int64(600)
		tr, err := cs.CoreV1().ServiceAccounts(h.To.Namespace).CreateToken(ctx, h.To.Name,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest for %s: %v", h.To, err)
		}
		return w.bearer(tr.Status.Token), true

	case strings.HasPrefix(h.Primitive, "impersonate service account"):
		next := rest.CopyConfig(cfg)
		next.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + h.To.Namespace + ":" + h.To.Name}
		return next, true

	case strings.HasPrefix(h.Primitive, "impersonate user"):
		next := rest.CopyConfig(cfg)
		next.Impersonate = rest.ImpersonationConfig{UserName: h.To.Name}
		return next, true

	case strings.HasPrefix(h.Primitive, "impersonate group"):
		// The first step names the user impersonated with the group.
		user := step.Name
		if step.Resource == "serviceaccounts" {
			user = "system:serviceaccount:" + step.Namespace + ":" + step.Name
		}
		next := rest.CopyConfig(cfg)
		next.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{h.To.Name}}
		return next, true

	case strings.HasPrefix(h.Primitive, "bind cluster-admin"):
		me := w.whoami(t, cfg)
		ns, name, _ := rbac.SplitServiceAccount(me.Username)
		crb := "self-admin-" + ns + "-" + suffix
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: crb},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("bind cluster-admin: %v", err)
		}
		t.Cleanup(func() {
			_ = w.admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb, metav1.DeleteOptions{})
		})
		w.clusterAdminAction(t, cfg)
		return cfg, true

	case strings.HasPrefix(h.Primitive, "escalate clusterroles"):
		// Rewrite the ClusterRole that grants escalate (bound to oneself)
		// to allow everything.
		role := h.Steps[0].Grant.Role
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
			{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}}
		if _, err := cs.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("escalate %s: %v", role, err)
		}
		w.clusterAdminAction(t, cfg)
		return cfg, true

	case strings.HasPrefix(h.Primitive, "sign a client certificate"):
		return w.csr(t, cs, h.To), true

	case strings.HasPrefix(h.Primitive, "admission control"):
		fail := admissionregistrationv1.Ignore
		none := admissionregistrationv1.SideEffectClassNone
		url := "https://127.0.0.1:1/collect"
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "collect-" + suffix},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "collect.example.com", FailurePolicy: &fail, SideEffects: &none,
				AdmissionReviewVersions: []string{"v1"}, ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
				Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*"}}}}}}}
		if _, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("create a webhook seeing every object: %v", err)
		}
		return nil, false

	case strings.HasPrefix(h.Primitive, "API extension"):
		body := `{"apiVersion":"apiregistration.k8s.io/v1","kind":"APIService","metadata":{"name":"v1.esc.example.com"},` +
			`"spec":{"group":"esc.example.com","version":"v1","groupPriorityMinimum":1000,"versionPriority":15,"insecureSkipTLSVerify":true,` +
			`"service":{"namespace":"default","name":"esc"}}}`
		err := cs.RESTClient().Post().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices").Param("dryRun", "All").
			SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(ctx).Error()
		if err != nil {
			t.Fatalf("create an APIService: %v", err)
		}
		return nil, false

	case strings.HasPrefix(h.Primitive, "create persistentvolumes"):
		hostPath := corev1.HostPathDirectory
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "host-root-" + suffix}, Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: &hostPath}}}}
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("create a hostPath PersistentVolume: %v", err)
		}
		return nil, false

	case strings.HasPrefix(h.Primitive, "create a privileged pod on the node"):
		// Admitted and bound to the node; root on it needs its kubelet.
		w.privilegedPod(t, cs, step.Namespace, "root-"+suffix, h.To.Name)
		return nil, false

	case strings.HasPrefix(h.Primitive, "relabel the namespace"):
		ns := step.Namespace
		if err := w.privilegedPodErr(cs, ns, "root-"+suffix, h.To.Name); err == nil || !strings.Contains(err.Error(), "PodSecurity") {
			t.Fatalf("privileged pod in %s before relabelling: got %v, want a PodSecurity denial", ns, err)
		}
		// A RoleBinding in ns that allows patch on namespaces applies
		// to the namespace ns itself.
		patch := []byte(`{"metadata":{"labels":{"` + rbac.EnforceLabel + `":"privileged"}}}`)
		if _, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatalf("patch the namespace's own labels: %v", err)
		}
		// Pod Security Admission reads namespaces from its informer's
		// cache: the new label takes a moment to count.
		var err error
		testcluster.WaitFor(t, "Pod Security Admission to see the new label", func() bool {
			err = w.privilegedPodErr(cs, ns, "root-"+suffix, h.To.Name)
			return err == nil || !strings.Contains(err.Error(), "PodSecurity")
		})
		if err != nil {
			t.Fatalf("privileged pod after relabelling: %v", err)
		}
		w.privilegedPod(t, cs, ns, "root-"+suffix, h.To.Name)
		return nil, false

	case strings.HasPrefix(h.Primitive, "enter a pod that can take its node"):
		// exec needs a kubelet: the step was asserted allowed above; the
		// pod is privileged on the node (setup), as the hop says.
		p, err := w.admin.CoreV1().Pods(step.Namespace).Get(ctx, step.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get the pod entered: %v", err)
		}
		if rbac.NodeSubject(p.Spec.NodeName) != h.To || len(rbac.PodEscapes(&p.Spec)) == 0 {
			t.Fatalf("pod %s on %q with escapes %q; the hop says %s", p.Name, p.Spec.NodeName, rbac.PodEscapes(&p.Spec), h.To)
		}
		return nil, false

	case strings.HasPrefix(h.Primitive, "nodes/proxy"), strings.HasPrefix(h.Primitive, "enter a running pod"):
		// The kubelet API and a running pod need a node: the steps were
		// asserted allowed above, which is all the API server decides.
		return nil, false
	}
	t.Fatalf("no walk for primitive %q", h.Primitive)
	return nil, false
}

// runAs creates, as cs, a pod (or the controller that step names) running
// as sa, then returns sa's token bound to the pod, as the kubelet would
// request it.
func (w *walker) runAs(t *testing.T, cs *kubernetes.Clientset, step rbac.Request, sa rbac.Subject) *rest.Config {
	t.Helper()
	ns := step.Namespace
	switch step.Group + "/" + step.Resource {
	case "/pods":
		return w.token(t, ns, sa.Name, w.pod(t, cs, ns, "as-"+sa.Name, sa.Name, nil))
	case "apps/deployments":
		one := int32(1)
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "as-" + sa.Name}, Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"run": "as-" + sa.Name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"run": "as-" + sa.Name}},
				Spec: corev1.PodSpec{ServiceAccountName: sa.Name, Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:1"}}}}}}
		if _, err := cs.AppsV1().Deployments(ns).Create(w.ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create deployment: %v", err)
		}
		var pod *corev1.Pod
		testcluster.WaitFor(t, "the controller manager to create the Deployment's pod", func() bool {
			l, err := w.admin.CoreV1().Pods(ns).List(w.ctx, metav1.ListOptions{LabelSelector: "run=as-" + sa.Name})
			if err != nil || len(l.Items) == 0 {
				return false
			}
			pod = &l.Items[0]
			return true
		})
		if pod.Spec.ServiceAccountName != sa.Name {
			t.Fatalf("the Deployment's pod runs as %q", pod.Spec.ServiceAccountName)
		}
		return w.token(t, ns, sa.Name, pod)
	}
	t.Fatalf("no walk for creating pods with %s", step)
	return nil
}

// clusterAdminAction makes requests only cluster-admin-equivalent power
// allows: list Secrets of every namespace, create (dry run) a
// ClusterRoleBinding to cluster-admin.
func (w *walker) clusterAdminAction(t *testing.T, cfg *rest.Config) {
	t.Helper()
	cs := w.client(t, cfg)
	var err error
	testcluster.WaitFor(t, "cluster-admin power", func() bool {
		_, err = cs.CoreV1().Secrets("").List(w.ctx, metav1.ListOptions{Limit: 1})
		return err == nil || !apierrors.IsForbidden(err)
	})
	if err != nil {
		t.Fatalf("list secrets in all namespaces: %v", err)
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "anyone-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "anyone"}}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(w.ctx, crb, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("bind cluster-admin (dry run): %v", err)
	}
}

// csr requests, as cs, a client certificate for sub (a user, or a member of
// a group), approves it, waits for the controller manager to sign it, and
// returns a configuration that authenticates with it as sub. The API server
// refuses a request for system:masters.
func (w *walker) csr(t *testing.T, cs *kubernetes.Clientset, sub rbac.Subject) *rest.Config {
	t.Helper()
	subject := pkix.Name{CommonName: sub.Name}
	if sub.Kind == "Group" {
		subject = pkix.Name{CommonName: "esc-member", Organization: []string{sub.Name}}
	}
	name := fmt.Sprintf("esc-%d", time.Now().UnixNano())
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	create := func(subject pkix.Name) (*certificatesv1.CertificateSigningRequest, error) {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
		if err != nil {
			t.Fatal(err)
		}
		return cs.CertificatesV1().CertificateSigningRequests().Create(w.ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
				SignerName: certificatesv1.KubeAPIServerClientSignerName, Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}, metav1.CreateOptions{})
	}
	if _, err := create(pkix.Name{CommonName: "esc-root", Organization: []string{rbac.MastersGroup}}); !apierrors.IsForbidden(err) {
		t.Errorf("CSR for system:masters: got %v, want forbidden (which is why paths never lead there by certificate)", err)
	}
	csr, err := create(subject)
	if err != nil {
		t.Fatalf("create CSR for %s: %v", sub, err)
	}
	t.Cleanup(func() {
		_ = w.admin.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Escalation", Message: "walked by a test"})
	approved, err := cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(w.ctx, name, csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("approve CSR: %v", err)
	}
	ok := false
	for _, c := range approved.Status.Conditions {
		ok = ok || c.Type == certificatesv1.CertificateApproved && c.Status == corev1.ConditionTrue
	}
	if !ok {
		t.Fatalf("CSR not approved: %+v", approved.Status)
	}
	var issued []byte
	testcluster.WaitFor(t, "the controller manager to sign CSR "+name, func() bool {
		got, err := w.admin.CertificatesV1().CertificateSigningRequests().Get(w.ctx, name, metav1.GetOptions{})
		if err == nil {
			issued = got.Status.Certificate
		}
		return len(issued) > 0
	})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	admin := w.tc.AdminConfig()
	cfg := &rest.Config{Host: admin.Host, TLSClientConfig: rest.TLSClientConfig{CAData: admin.TLSClientConfig.CAData, CAFile: admin.TLSClientConfig.CAFile,
		CertData: issued, KeyData: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}}
	w.expectIdentity(t, cfg, sub)
	return cfg
}

// deniedEverything checks that the attacker of ns, for which no path is
// reported, can make none of the escalation requests nor the cluster-admin one.
func (w *walker) deniedEverything(t *testing.T, ns string) {
	t.Helper()
	cfg := w.token(t, ns, "attacker", nil)
	cs := w.client(t, cfg)
	forbidden := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v, want forbidden", what, err)
		}
	}
	_, err := cs.CoreV1().Secrets("").List(w.ctx, metav1.ListOptions{})
	forbidden("list secrets in all namespaces", err)
	_, err = cs.CoreV1().Secrets(ns).Get(w.ctx, "victim-token", metav1.GetOptions{})
	forbidden("get the victim's token Secret", err)
	_, err = cs.CoreV1().ServiceAccounts(ns).CreateToken(w.ctx, "victim", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	forbidden("request a token for victim", err)
	_, err = cs.CoreV1().Pods(ns).Create(w.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "as-victim"},
		Spec: corev1.PodSpec{ServiceAccountName: "victim", Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:1"}}}}, metav1.CreateOptions{})
	forbidden("create a pod as victim", err)
	// impersonate on groups without any user: the API server refuses
	// group impersonation without a user, and the user is not allowed.
	imp := rest.CopyConfig(cfg)
	imp.Impersonate = rest.ImpersonationConfig{UserName: rbac.ImpersonationUser, Groups: []string{rbac.MastersGroup}}
	_, err = w.client(t, imp).CoreV1().Secrets("").List(w.ctx, metav1.ListOptions{})
	forbidden("impersonate system:masters", err)
	err = w.client(t, cfg).RESTClient().Get().AbsPath("/api/v1/namespaces").SetHeader("Impersonate-Group", rbac.MastersGroup).Do(w.ctx).Error()
	if !apierrors.IsBadRequest(err) {
		t.Errorf("impersonate system:masters without a user: got %v, want a bad request", err)
	}
	if w.allowed(t, cfg, rbac.Request{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: ns, Name: "any"}) {
		t.Error("exec allowed")
	}
}

// builtinRoles holds the rules the check assumes for the built-in
// cluster-admin, admin and edit ClusterRoles of a manifest scan to the live
// roles: every request a rule allows, the live role allows.
func (w *walker) builtinRoles(t *testing.T) {
	live := rbac.NewSet()
	for name := range rbac.BuiltinClusterRoles() {
		cr, err := w.admin.RbacV1().ClusterRoles().Get(w.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get ClusterRole %s: %v", name, err)
		}
		live.Add(cr)
		live.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: []rbacv1.Subject{{Kind: "User", Name: name}}})
	}
	n := 0
	for name, rules := range rbac.BuiltinClusterRoles() {
		u := rbac.User{Name: name}
		for _, r := range rules {
			for _, v := range r.Verbs {
				if len(r.NonResourceURLs) > 0 {
					for _, p := range r.NonResourceURLs {
						n++
						if !live.Authorize(u, rbac.Request{Verb: v, Path: "/" + strings.TrimPrefix(p, "*")}).Allowed {
							t.Errorf("live %s does not allow %s %s", name, v, p)
						}
					}
					continue
				}
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						resource, sub, _ := strings.Cut(res, "/")
						req := rbac.Request{Verb: v, Group: g, Resource: resource, Subresource: sub, Namespace: "default"}
						n++
						if !live.Authorize(u, req).Allowed {
							t.Errorf("live %s does not allow %s", name, req)
						}
					}
				}
			}
		}
	}
	t.Logf("%d requests of the assumed built-in rules allowed by the live roles", n)
}

// escNode is the control-plane Node object of the node scenarios.
const escNode = "esc-cp"

// controlPlaneNode creates escNode, labelled control-plane: a Node object
// only (no kubelet), which is all the API server needs to bind pods to it.
func (w *walker) controlPlaneNode(t *testing.T) {
	t.Helper()
	w.create(t, "Node "+escNode, func(ctx context.Context) error {
		_, err := w.admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: escNode,
			Labels: map[string]string{rbac.ControlPlaneLabel: ""}}}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = w.admin.CoreV1().Nodes().Delete(context.Background(), escNode, metav1.DeleteOptions{}) })
}

func (w *walker) namespaceLabelled(t *testing.T, ns string, labels map[string]string) {
	t.Helper()
	w.create(t, "Namespace "+ns, func(ctx context.Context) error {
		_, err := w.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = w.admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
}

// privilegedPodErr creates, as cs, a pod that takes node: privileged,
// host PID, the node's root mounted, tolerating every taint, bound to
// node by spec.nodeName (the scheduler is not asked).
func (w *walker) privilegedPodErr(cs kubernetes.Interface, ns, name, node string) error {
	_, err := w.createPrivileged(cs, ns, name, node)
	return err
}

func (w *walker) createPrivileged(cs kubernetes.Interface, ns, name, node string) (*corev1.Pod, error) {
	yes := true
	return cs.CoreV1().Pods(ns).Create(w.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		NodeName: node, HostPID: true, Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Volumes: []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
		Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:1", SecurityContext: &corev1.SecurityContext{Privileged: &yes},
			VolumeMounts: []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}}}}}, metav1.CreateOptions{})
}

// privilegedPod is privilegedPodErr, which must be admitted and bound to node.
func (w *walker) privilegedPod(t *testing.T, cs kubernetes.Interface, ns, name, node string) {
	t.Helper()
	p, err := allowedSoon(func() (*corev1.Pod, error) { return w.createPrivileged(cs, ns, name, node) })
	if apierrors.IsAlreadyExists(err) {
		p, err = w.admin.CoreV1().Pods(ns).Get(w.ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatalf("privileged pod on %s in %s: %v", node, ns, err)
	}
	if p.Spec.NodeName != node || len(rbac.PodEscapes(&p.Spec)) == 0 {
		t.Fatalf("pod %s/%s admitted on %q with escapes %q, want on %s", ns, name, p.Spec.NodeName, rbac.PodEscapes(&p.Spec), node)
	}
}

// baselineRefuses shows why no node hop is reported in a namespace that
// enforces baseline: the attacker may create pods (an ordinary one is
// admitted), but Pod Security Admission refuses the privileged one.
func (w *walker) baselineRefuses(t *testing.T, ns string) {
	t.Helper()
	cs := w.client(t, w.token(t, ns, "attacker", nil))
	if _, err := cs.CoreV1().Pods(ns).Create(w.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "plain-"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:1"}}}},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("an ordinary pod: %v", err)
	}
	if err := w.privilegedPodErr(cs, ns, "root", escNode); err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("privileged pod under enforce=baseline: got %v, want a PodSecurity denial", err)
	}
}
