package rbac_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/rbac"
)

func namespace(name string, labels map[string]string) *inventory.Object {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	return &inventory.Object{Ref: inventory.Ref{Kind: "Namespace", Name: name}, Meta: &ns.ObjectMeta, Typed: ns}
}

func node(name string, controlPlane bool) *inventory.Object {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if controlPlane {
		n.Labels = map[string]string{rbac.ControlPlaneLabel: ""}
	}
	return &inventory.Object{Ref: inventory.Ref{Kind: "Node", Name: name}, Meta: &n.ObjectMeta, Typed: n}
}

// describePath is alice's path: each hop's primitive, target and "~" when
// approximate.
func describePath(s *rbac.Set, objs *rbac.Objects) string {
	g := rbac.NewGraph(s, objs)
	paths := g.Paths([]rbac.Subject{{Kind: "User", Name: "alice"}})
	if len(paths) == 0 {
		return ""
	}
	var hops []string
	for _, h := range paths[0].Hops {
		a := ""
		if h.Approximate {
			a = "~"
			if h.Assumption == "" {
				a = "~(no assumption given)"
			}
		}
		hops = append(hops, h.Primitive+" → "+h.To.String()+a)
	}
	return strings.Join(hops, "; ")
}

func privileged() *corev1.SecurityContext {
	yes := true
	return &corev1.SecurityContext{Privileged: &yes}
}

func TestNodePrimitives(t *testing.T) {
	const (
		create   = "create a privileged pod on the node (spec.nodeName)"
		relabel  = "relabel the namespace pod-security.kubernetes.io/enforce=privileged, then create a privileged pod on the node"
		cp       = "root on a control-plane node (admin.conf, PKI, etcd) → cluster-admin"
		tokens   = "read the tokens of the node's pods (/var/lib/kubelet/pods)"
		enforce  = rbac.EnforceLabel
		podsRule = "pods"
	)
	type objects func(objs *rbac.Objects)
	labelled := func(level string) objects {
		return func(objs *rbac.Objects) {
			objs.AddObject(namespace("team", map[string]string{enforce: level}))
		}
	}
	// A live cluster: control-plane cp1, worker w1 running the privileged
	// pod app/priv and ops/agent's pod (ops/agent is cluster-admin).
	cluster := func(objs *rbac.Objects) {
		objs.SetLive(true)
		objs.AddObject(node("cp1", true))
		objs.AddObject(node("w1", false))
		objs.AddObject(namespace("team", map[string]string{enforce: "baseline"}))
		objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "priv"},
			Spec: corev1.PodSpec{NodeName: "w1", Containers: []corev1.Container{{Name: "c", SecurityContext: privileged()}}}}))
		objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "agent-1"},
			Spec: corev1.PodSpec{NodeName: "w1", ServiceAccountName: "agent", Containers: []corev1.Container{{Name: "c"}}}}))
	}
	for _, c := range []struct {
		name  string
		objs  objects
		ns    string // "" cluster-wide
		rules []rbacv1.PolicyRule
		want  string // the whole path; "" none
	}{
		{"unknown namespace", nil, "team", []rbacv1.PolicyRule{rule("create", "", podsRule)},
			create + " → Node:*~; " + cp + "~"},
		{"unlabelled namespace", func(objs *rbac.Objects) { objs.AddObject(namespace("team", nil)) }, "team",
			[]rbacv1.PolicyRule{rule("create", "batch", "cronjobs")}, create + " → Node:*~; " + cp + "~"},
		{"privileged, nodes known", func(objs *rbac.Objects) {
			labelled("privileged")(objs)
			objs.AddObject(node("cp1", true))
			objs.AddObject(node("w1", false))
		}, "team", []rbacv1.PolicyRule{rule("create", "apps", "daemonsets")}, create + " → Node:cp1; " + cp},
		{"privileged, no control plane", func(objs *rbac.Objects) {
			labelled("privileged")(objs)
			objs.AddObject(node("w1", false))
		}, "team", []rbacv1.PolicyRule{rule("create", "", podsRule)}, ""},
		{"baseline", labelled("baseline"), "team", []rbacv1.PolicyRule{rule("create", "", podsRule)}, ""},
		{"restricted", labelled("restricted"), "team", []rbacv1.PolicyRule{rule("create", "", podsRule)}, ""},
		{"invalid level (enforced as restricted)", labelled("root"), "team", []rbacv1.PolicyRule{rule("create", "", podsRule)}, ""},
		{"restricted, relabel", labelled("restricted"), "team",
			[]rbacv1.PolicyRule{rule("create", "", podsRule), rule("patch", "", "namespaces")}, relabel + " → Node:*; " + cp + "~"},
		{"restricted, relabel by name", labelled("restricted"), "",
			[]rbacv1.PolicyRule{rule("create", "", podsRule), rule("update", "", "namespaces", "team"), rule("get", "", "namespaces")},
			// Cluster-wide pod creation reaches app's powerful directly.
			"create a pod running as the service account → ServiceAccount:app:powerful; cluster-admin grant (*/*/*) → cluster-admin"},
		{"restricted, relabel another", func(objs *rbac.Objects) {
			labelled("restricted")(objs)
			objs.AddObject(namespace("app", map[string]string{enforce: "restricted"}))
		}, "team", []rbacv1.PolicyRule{rule("create", "", podsRule), rule("patch", "", "namespaces", "app")}, ""},
		{"restricted, relabel without pods", labelled("restricted"), "team", []rbacv1.PolicyRule{rule("patch", "", "namespaces")}, ""},
		{"exec into a privileged pod", cluster, "team", []rbacv1.PolicyRule{rule("create", "", "pods/exec")},
			"enter a pod that can take its node (exec Pod/team/priv: privileged container c) → Node:w1; " + tokens +
				" → ServiceAccount:ops:agent; cluster-admin grant (*/*/*) → cluster-admin"},
		{"ephemeral container into a privileged pod", cluster, "team", []rbacv1.PolicyRule{rule("patch", "", "pods/ephemeralcontainers", "priv")},
			"enter a pod that can take its node (ephemeralcontainers Pod/team/priv: privileged container c) → Node:w1"},
		{"exec into another pod", cluster, "team", []rbacv1.PolicyRule{rule("create", "", "pods/exec", "other")}, ""},
		{"exec without create", cluster, "team", []rbacv1.PolicyRule{rule("get", "", "pods/exec")}, ""},
		{"create pods under baseline", cluster, "team", []rbacv1.PolicyRule{rule("create", "", podsRule)}, ""},
	} {
		s, objs := baseSet()
		s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "ops", Name: "agent"}}})
		if c.objs != nil {
			c.objs(objs)
		}
		grantTo(s, "g", c.ns, c.rules...)
		got := describePath(s, objs)
		if c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: path\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
}

// A shortest path with fewer approximate hops is preferred: creating pods
// in app reaches powerful exactly as well as a node approximately.
func TestExactPathPreferred(t *testing.T) {
	s, objs := baseSet()
	grantTo(s, "g", "app", rule("create", "", "pods"))
	want := "create a pod running as the service account → ServiceAccount:app:powerful; cluster-admin grant (*/*/*) → cluster-admin"
	if got := describePath(s, objs); got != want {
		t.Errorf("path %q, want %q", got, want)
	}
}

// In a manifest scan the pods of a workload may run on any node; on a live
// cluster only Pods on a node count.
func TestWorkloadEscapes(t *testing.T) {
	dep := func(objs *rbac.Objects) {
		d := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "tpl"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: privileged()}}}}
		objs.AddObject(namespace("team", map[string]string{rbac.EnforceLabel: "restricted"}))
		objs.AddObject(&inventory.Object{Ref: inventory.Ref{Kind: "PodTemplate", Namespace: "team", Name: "tpl"}, Meta: &d.ObjectMeta,
			Typed: &corev1.PodTemplate{ObjectMeta: d.ObjectMeta, Template: corev1.PodTemplateSpec{Spec: d.Spec}}})
	}
	s, objs := baseSet()
	dep(objs)
	grantTo(s, "g", "team", rule("create", "", "pods/attach"))
	want := "enter a pod that can take its node (attach PodTemplate/team/tpl: privileged container c) → Node:*~; root on a control-plane node (admin.conf, PKI, etcd) → cluster-admin~"
	if got := describePath(s, objs); got != want {
		t.Errorf("manifests: path %q, want %q", got, want)
	}
	s, objs = baseSet()
	objs.SetLive(true)
	dep(objs)
	grantTo(s, "g", "team", rule("create", "", "pods/attach"))
	if got := describePath(s, objs); got != "" {
		t.Errorf("live: path %q, want none (the template's pods are listed as Pods)", got)
	}
}

func TestPodEscapes(t *testing.T) {
	yes := true
	mount := func(ro bool) []corev1.VolumeMount {
		return []corev1.VolumeMount{{Name: "h", MountPath: "/h", ReadOnly: ro}}
	}
	host := func(p string) []corev1.Volume {
		return []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p}}}}
	}
	for _, c := range []struct {
		name string
		spec corev1.PodSpec
		want string
	}{
		{"plain", corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}, ""},
		{"privileged init", corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}},
			"privileged container i"},
		{"privileged ephemeral", corev1.PodSpec{EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "e", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}, "privileged container e"},
		{"hostPID alone", corev1.PodSpec{HostPID: true, Containers: []corev1.Container{{Name: "c"}}}, ""},
		{"hostPID ptrace", corev1.PodSpec{HostPID: true, Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CAP_SYS_PTRACE"}}}}}}, "hostPID with SYS_PTRACE"},
		{"ptrace without hostPID", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE"}}}}}}, ""},
		{"writable hostPath", corev1.PodSpec{Volumes: host("/tmp/x"), Containers: []corev1.Container{{Name: "c", VolumeMounts: mount(false)}}},
			"writable hostPath /tmp/x"},
		{"read-only hostPath", corev1.PodSpec{Volumes: host("/etc/ssl"), Containers: []corev1.Container{{Name: "c", VolumeMounts: mount(true)}}}, ""},
		{"unmounted hostPath", corev1.PodSpec{Volumes: host("/"), Containers: []corev1.Container{{Name: "c"}}}, ""},
		{"read-only kubelet", corev1.PodSpec{Volumes: host("/var/lib/kubelet/"), Containers: []corev1.Container{{Name: "c", VolumeMounts: mount(true)}}},
			"hostPath /var/lib/kubelet/ over /var/lib/kubelet/pods"},
		{"read-only root", corev1.PodSpec{Volumes: host("/"), Containers: []corev1.Container{{Name: "c", VolumeMounts: mount(true)}}},
			"hostPath / over /var/lib/kubelet/pods"},
		{"read-only one pod's dir", corev1.PodSpec{Volumes: host("/var/lib/kubelet/pods/uid"), Containers: []corev1.Container{{Name: "c", VolumeMounts: mount(true)}}}, ""},
		{"read-only lookalike", corev1.PodSpec{Volumes: host("/var/lib/kube"), Containers: []corev1.Container{{Name: "c", VolumeMounts: mount(true)}}}, ""},
	} {
		if got := strings.Join(rbac.PodEscapes(&c.spec), "; "); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// Root on a node reaches the service accounts of its Pods, and the
// kubelet's group when a binding names it.
func TestNodeEdges(t *testing.T) {
	s, objs := baseSet()
	objs.SetLive(true)
	objs.AddObject(node("w1", false))
	objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "a"}, Spec: corev1.PodSpec{NodeName: "w1", ServiceAccountName: "agent"}}))
	objs.AddObject(obj(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "b"}, Spec: corev1.PodSpec{ServiceAccountName: "pending"}}))
	s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nodes"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:nodes"}}})
	g := rbac.NewGraph(s, objs)
	var got []string
	for _, e := range g.Edges(rbac.NodeSubject("w1")) {
		if len(e.Steps) != 0 || e.Approximate {
			t.Errorf("edge %+v: a node's edges make no request and are exact here", e)
		}
		got = append(got, e.To.String())
	}
	if want := []string{"ServiceAccount:ops:agent", "Group:system:nodes"}; !slices.Equal(got, want) {
		t.Errorf("edges of Node:w1 %q, want %q", got, want)
	}
}
