package cluster_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	nodechecks "github.com/kubeharden/kubeharden/checks/node"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/nodeconf"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/cluster"
)

// What the API shows of three nodes: two kubeadm control planes (one
// insecure, one hardened: mirror pods of kube-apiserver and etcd,
// kubeadm-config, kubelet-config) and a k3s server (its node-args
// annotation).
const nodeFixtures = `apiVersion: v1
kind: Node
metadata:
  name: kh-cp-insecure
  labels: {node-role.kubernetes.io/control-plane: ""}
---
apiVersion: v1
kind: Node
metadata:
  name: kh-cp-hardened
  labels: {node-role.kubernetes.io/control-plane: ""}
---
apiVersion: v1
kind: Node
metadata:
  name: kh-k3s
  labels: {node-role.kubernetes.io/control-plane: "true", node-role.kubernetes.io/etcd: "true"}
  annotations:
    k3s.io/node-args: '["server","--cluster-init","--kube-apiserver-arg","profiling=true","--kubelet-arg=read-only-port=10255","--protect-kernel-defaults","true","--token","********"]'
---
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-kh-cp-insecure
  namespace: kube-system
  annotations: {kubernetes.io/config.mirror: 0f1e2d3c4b5a69788796a5b4c3d2e1f0}
  labels: {component: kube-apiserver, tier: control-plane}
spec:
  nodeName: kh-cp-insecure
  automountServiceAccountToken: false
  tolerations: [{operator: Exists}]
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.37.2
    command:
    - kube-apiserver
    - --advertise-address=10.0.0.10
    - --anonymous-auth=true
    - --authorization-mode=AlwaysAllow
    - --profiling=true
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --etcd-servers=https://127.0.0.1:2379
    - --encryption-provider-config=/etc/kubernetes/enc/enc.yaml
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-kh-cp-insecure
  namespace: kube-system
  annotations: {kubernetes.io/config.mirror: 1f1e2d3c4b5a69788796a5b4c3d2e1f0}
spec:
  nodeName: kh-cp-insecure
  automountServiceAccountToken: false
  tolerations: [{operator: Exists}]
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.6.4-0
    command: [etcd, --data-dir=/var/lib/etcd, --listen-client-urls=http://127.0.0.1:2379, --advertise-client-urls=http://127.0.0.1:2379]
---
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-kh-cp-hardened
  namespace: kube-system
  annotations: {kubernetes.io/config.mirror: 2f1e2d3c4b5a69788796a5b4c3d2e1f0}
spec:
  nodeName: kh-cp-hardened
  automountServiceAccountToken: false
  tolerations: [{operator: Exists}]
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.37.2
    command:
    - kube-apiserver
    - --anonymous-auth=false
    - --authorization-mode=Node,RBAC
    - --profiling=false
    - --enable-admission-plugins=NodeRestriction
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --etcd-servers=https://127.0.0.1:2379
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
    - --kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
    - --service-account-key-file=/etc/kubernetes/pki/sa.pub
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kubeadm-config, namespace: kube-system}
data:
  ClusterConfiguration: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    kubernetesVersion: v1.37.2
    apiServer:
      extraArgs:
      - {name: profiling, value: "false"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kubelet-config, namespace: kube-system}
data:
  kubelet: |
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    authentication:
      anonymous: {enabled: true}
      webhook: {enabled: true}
      x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}
    authorization: {mode: Webhook}
    rotateCertificates: true
`

var nodeFixturesOnce sync.Once

func withNodes(o cluster.Options) cluster.Options {
	o.Nodes = true
	return o
}

func nodeSetup(t *testing.T) *testcluster.Cluster {
	t.Helper()
	c := testcluster.Shared(t)
	nodeFixturesOnce.Do(func() {
		apply(t, c.AdminConfig(), nodeFixtures)
		cs := kubernetes.NewForConfigOrDie(c.AdminConfig())
		testcluster.WaitFor(t, "the mirror pods", func() bool {
			l, err := cs.CoreV1().Pods("kube-system").List(context.Background(), metav1.ListOptions{})
			return err == nil && len(l.Items) >= 3
		})
	})
	return c
}

// nodeFindings returns the node-check findings of a report by
// "check component-node".
func nodeFindings(t *testing.T, rep *report.Report) map[string]*report.Finding {
	t.Helper()
	out := map[string]*report.Finding{}
	for _, f := range rep.Findings {
		if f.Object.Ref.Kind != nodeconf.Kind {
			continue
		}
		if f.Object.Origin.Node == "" || !strings.HasSuffix(f.Object.Ref.Name, "-"+f.Object.Origin.Node) {
			t.Errorf("%s on %s: the origin does not name the node (%+v)", f.Check.ID, f.Object.Ref.Name, f.Object.Origin)
		}
		out[f.Check.ID+" "+f.Object.Ref.Name] = f
	}
	return out
}

func TestNodeChecksFromTheAPI(t *testing.T) {
	c := nodeSetup(t)
	if objectSeen(scan(t, admin(c)), "kube-apiserver-kh-cp-insecure") {
		t.Error("node components made without Options.Nodes")
	}
	rep := scan(t, withNodes(admin(c)))
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	got := nodeFindings(t, rep)
	for k, f := range got {
		t.Logf("%s: %s", k, f.Message)
	}
	for _, n := range rep.Notices {
		t.Logf("notice %s: %s: %s", n.Kind, n.File, n.Message)
	}
	want := []string{
		// The insecure kubeadm control plane, from its mirror pods.
		"apiserver-profiling kube-apiserver-kh-cp-insecure",
		"apiserver-anonymous-auth kube-apiserver-kh-cp-insecure",
		"apiserver-authz-always-allow kube-apiserver-kh-cp-insecure",
		"apiserver-authz-rbac kube-apiserver-kh-cp-insecure",
		"etcd-client-tls etcd-kh-cp-insecure",
		"etcd-client-cert-auth etcd-kh-cp-insecure",
		// The file is on the node: manual, never fail.
		"apiserver-encryption-provider kube-apiserver-kh-cp-insecure",
		// kubeadm's kubelet-config, on both kubeadm nodes.
		"kubelet-anonymous-auth kubelet-kh-cp-insecure",
		"kubelet-anonymous-auth kubelet-kh-cp-hardened",
		// k3s: the node-args annotation over k3s's own flags.
		"apiserver-profiling kube-apiserver-kh-k3s",
		"kubelet-read-only-port kubelet-kh-k3s",
	}
	for _, w := range want {
		if got[w] == nil {
			t.Errorf("no finding %s", w)
		}
	}
	if f := got["apiserver-encryption-provider kube-apiserver-kh-cp-insecure"]; f != nil && (f.Check.Severity != check.Info || !strings.Contains(f.Message, "does not show")) {
		t.Errorf("the encryption configuration's content is unknown from the API, not wrong: %s %s", f.Check.Severity, f.Message)
	}
	if f := got["apiserver-profiling kube-apiserver-kh-cp-insecure"]; f != nil {
		if f.Object.Origin.Node != "kh-cp-insecure" || !strings.Contains(f.Message, "pod kube-system/kube-apiserver-kh-cp-insecure") {
			t.Errorf("the finding does not say where the value came from: %s (node %q)", f.Message, f.Object.Origin.Node)
		}
	}
	if f := got["apiserver-profiling kube-apiserver-kh-k3s"]; f != nil && !strings.Contains(f.Message, "k3s.io/node-args") {
		t.Errorf("the k3s finding does not name the annotation: %s", f.Message)
	}
	notWant := []string{
		"apiserver-profiling kube-apiserver-kh-cp-hardened",
		"apiserver-anonymous-auth kube-apiserver-kh-cp-hardened",
		"apiserver-authz-always-allow kube-apiserver-kh-cp-hardened",
		"apiserver-authz-node kube-apiserver-kh-cp-hardened",
		"apiserver-etcd-client-cert kube-apiserver-kh-cp-hardened",
		"apiserver-kubelet-client-cert kube-apiserver-kh-cp-hardened",
		// k3s's own flags are secure.
		"apiserver-anonymous-auth kube-apiserver-kh-k3s",
		"apiserver-authz-always-allow kube-apiserver-kh-k3s",
		"etcd-client-tls etcd-kh-k3s",
		"kubelet-anonymous-auth kubelet-kh-k3s",
		"controller-manager-profiling kube-controller-manager-kh-k3s",
	}
	for _, w := range notWant {
		if got[w] != nil {
			t.Errorf("unexpected finding %s: %s", w, got[w].Message)
		}
	}
	for k, f := range got {
		if strings.HasSuffix(f.Check.ID, "-permissions") || strings.HasSuffix(f.Check.ID, "-owner") {
			t.Errorf("a file item reported from the API: %s: %s", k, f.Message)
		}
	}
	// The k3s server's components are the ones it embeds; etcd from its label.
	for _, name := range []string{"kube-controller-manager-kh-k3s", "kube-scheduler-kh-k3s", "etcd-kh-k3s"} {
		if !objectSeen(rep, name) {
			t.Errorf("no Component %s", name)
		}
	}
	// JSON names the node in the origin.
	var buf bytes.Buffer
	if err := jsonout.Render(&buf, rep, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"name":"kube-apiserver-kh-cp-insecure"},"origin":{"source":"cluster","context":"admin","node":"kh-cp-insecure"}`) {
		t.Errorf("the JSON origin does not name the node")
	}
	// kubeadm-config says --profiling=false; the insecure node runs true.
	drift := 0
	for _, n := range rep.Notices {
		if n.Kind == report.NoticeConfigDrift {
			drift++
			if !strings.Contains(n.Message, "--profiling=false") || !strings.Contains(n.Message, "kh-cp-insecure") {
				t.Errorf("drift notice: %s", n.Message)
			}
		}
	}
	if drift != 1 {
		t.Errorf("%d config-drift notices, want 1: %v", drift, rep.Notices)
	}
}

func objectSeen(rep *report.Report, name string) bool {
	for _, o := range rep.Objects {
		if o.Ref.Kind == nodeconf.Kind && o.Ref.Name == name {
			return true
		}
	}
	return false
}

// Every control of every component read from the API: the file items
// are not-applicable (the API cannot show files), never fail.
func TestNodeFileItemsFromTheAPIAreNotApplicable(t *testing.T) {
	c := nodeSetup(t)
	var comps []*nodeconf.Component
	rep := scanObjects(t, withNodes(admin(c)), func(o any) {
		if comp, ok := o.(*nodeconf.Component); ok {
			comps = append(comps, comp)
		}
	})
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	if len(comps) < 9 {
		t.Fatalf("%d components from the API, want at least 9", len(comps))
	}
	for _, comp := range comps {
		if !comp.FromAPI() || comp.Node == "" {
			t.Errorf("%s: not marked as read from the API on a node", comp.Name)
		}
		for _, ctl := range nodechecks.Controls(checks.All(), []*nodeconf.Component{comp}) {
			if ctl.Component != comp.Component {
				continue
			}
			file := strings.HasPrefix(ctl.ID, "1.1.") || strings.HasPrefix(ctl.ID, "4.1.")
			if file && ctl.Status != report.ControlNotApplicable {
				t.Errorf("%s %s (%s): %s, want not-applicable: %s", comp.Name, ctl.ID, ctl.Check, ctl.Status, ctl.Actual)
			}
			if file && !strings.Contains(ctl.Actual, "does not show the node's files") {
				t.Errorf("%s %s: %q does not say why", comp.Name, ctl.ID, ctl.Actual)
			}
		}
	}
}

// tap hands every object to f on its way to the run.
type tap struct {
	*engine.Run
	f func(any)
}

func (t tap) Object(o *inventory.Object) { t.f(o.Typed); t.Run.Object(o) }

func scanObjects(t *testing.T, opts cluster.Options, f func(any)) *report.Report {
	t.Helper()
	e, err := engine.New(engine.Options{Checks: checks.All(), Catalogue: checks.All()})
	if err != nil {
		t.Fatal(err)
	}
	run := e.NewRun(engine.RunOptions{Complete: opts.Complete()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Scan(ctx, opts, tap{run, f}); err != nil {
		t.Fatal(err)
	}
	return run.Report()
}

// deploy/node-daemonset.yaml is accepted by a real API server, and Pod
// Security Admission admits its pods in the namespace it makes for them.
func TestNodeDaemonSetIsAdmitted(t *testing.T) {
	c := testcluster.Shared(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "node-daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, c.AdminConfig(), string(data))
	cs := kubernetes.NewForConfigOrDie(c.AdminConfig())
	ctx := context.Background()
	for _, name := range []string{"kubeharden-node", "kubeharden-node-control-plane"} {
		ds, err := cs.AppsV1().DaemonSets("kubeharden-node").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Namespace: "kubeharden-node", Labels: ds.Spec.Template.Labels},
			Spec: ds.Spec.Template.Spec}
		pod.Spec.NodeName = "kh-dry-run"
		if _, err := cs.CoreV1().Pods("kubeharden-node").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("%s: its pod is not admitted: %v", name, err)
		}
		for _, m := range ds.Spec.Template.Spec.Containers[0].VolumeMounts {
			if !m.ReadOnly {
				t.Errorf("%s: %s is mounted writable", name, m.MountPath)
			}
		}
		if ds.Spec.Template.Spec.AutomountServiceAccountToken == nil || *ds.Spec.Template.Spec.AutomountServiceAccountToken {
			t.Errorf("%s: the pod gets an API token it does not need", name)
		}
	}
	// The same pod is refused where the restricted level is enforced.
	ds, err := cs.AppsV1().DaemonSets("kubeharden-node").Get(ctx, "kubeharden-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, c.AdminConfig(), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kh-restricted-node\n  labels: {pod-security.kubernetes.io/enforce: restricted}\n")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "x-", Namespace: "kh-restricted-node"}, Spec: ds.Spec.Template.Spec}
	if _, err := cs.CoreV1().Pods("kh-restricted-node").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil {
		t.Error("Pod Security Admission admitted the node agent under restricted: this test proves nothing")
	}
}
