package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kubeharden/kubeharden/checks/version"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/render/sarif"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/vulndb"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

const ns = "kh-inventory"

// nodes are Node objects with the status of real nodes: a containerd 1.7
// node on an Ubuntu kernel, a current containerd 2.2 node, and an old
// CRI-O node.
var nodes = []struct {
	name string
	info corev1.NodeSystemInfo
}{
	{"kh-inv-ubuntu", corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://1.7.12", KubeletVersion: "v1.30.2", KubeProxyVersion: "v1.30.2",
		OSImage: "Ubuntu 22.04.4 LTS", KernelVersion: "5.15.0-105-generic", OperatingSystem: "linux", Architecture: "amd64"}},
	{"kh-inv-current", corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://2.2.1", KubeletVersion: "v1.37.2",
		OSImage: "Bottlerocket OS 1.40.0 (aws-k8s-1.37)", KernelVersion: "6.12.40", OperatingSystem: "linux", Architecture: "arm64"}},
	{"kh-inv-crio", corev1.NodeSystemInfo{ContainerRuntimeVersion: "cri-o://1.23.1", KubeletVersion: "v1.23.4",
		OSImage: "Red Hat Enterprise Linux CoreOS 410.84", KernelVersion: "4.18.0-305.40.2.el8_4.x86_64", OperatingSystem: "linux", Architecture: "amd64"}},
}

func deployment(name string, labels map[string]string, image string) *appsv1.Deployment {
	sel := map[string]string{"app": name}
	tl := map[string]string{"app": name}
	for k, v := range labels {
		tl[k] = v
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: sel}
	d.Spec.Template.Labels = tl
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "controller", Image: image}}
	return d
}

// setup creates the nodes (status is a subresource: created, then
// updated) and workloads running add-ons at vulnerable and fixed versions.
func setup(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(c.AdminConfig())
	ctx := context.Background()
	for _, n := range nodes {
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		// The controller manager's node controllers update new nodes too.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			obj, err := cs.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			obj.Status.NodeInfo = n.info
			_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, obj, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("node %s status: %v", n.name, err)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, d := range []*appsv1.Deployment{
		deployment("ingress-old", nil, "registry.k8s.io/ingress-nginx/controller:v1.11.3"),
		deployment("ingress-fixed", nil, "registry.k8s.io/ingress-nginx/controller:v1.15.1"),
		deployment("ingress-digest", map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/version": "1.12.0"},
			"registry.k8s.io/ingress-nginx/controller@sha256:d56f135b6462cfc476447cfe564b83a45e8bb7da2774963b00d12161112270b7"),
		deployment("ingress-unknown", nil, "registry.k8s.io/ingress-nginx/controller@sha256:d56f135b6462cfc476447cfe564b83a45e8bb7da2774963b00d12161112270b7"),
		deployment("argocd-server", nil, "quay.io/argoproj/argocd:v3.1.8"),
	} {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: ns}}
	ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-proxy"}}
	ds.Spec.Template.Labels = map[string]string{"k8s-app": "kube-proxy"}
	ds.Spec.Template.Spec.Containers = []corev1.Container{{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:v1.18.4"}}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "etcd-kh-inv-ubuntu", Namespace: ns}, Spec: corev1.PodSpec{
		NodeName: "kh-inv-ubuntu", Containers: []corev1.Container{{Name: "etcd", Image: "registry.k8s.io/etcd:3.5.6-0"}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func TestClusterInventory(t *testing.T) {
	c := testcluster.Shared(t)
	setup(t, c)
	kc := c.KubeconfigPath(testcluster.Admin)

	r := runCmd(t, "", "--cluster", "--kubeconfig", kc, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var inv jsonInventory
	if err := json.Unmarshal([]byte(r.stdout), &inv); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	cves := map[string][]string{}
	for _, it := range inv.Components {
		if it.Object.Namespace != ns && !strings.HasPrefix(it.Object.Name, "kh-inv-") && it.Object.Kind != "APIServer" {
			continue
		}
		key := it.Object.Kind + "/" + it.Object.Name + "/" + it.Name
		v := it.Version
		if v == "" {
			v = "?"
		}
		got[key] = v
		for _, c := range it.CVEs {
			cves[key] = append(cves[key], c.ID)
		}
	}
	want := map[string]string{
		"Node/kh-inv-ubuntu/containerd": "1.7.12", "Node/kh-inv-ubuntu/kubelet": "1.30.2", "Node/kh-inv-ubuntu/kube-proxy": "1.30.2",
		"Node/kh-inv-ubuntu/os": "Ubuntu 22.04.4 LTS", "Node/kh-inv-ubuntu/kernel": "5.15.0-105-generic",
		"Node/kh-inv-current/containerd": "2.2.1", "Node/kh-inv-current/kubelet": "1.37.2", "Node/kh-inv-current/kernel": "6.12.40",
		"Node/kh-inv-crio/cri-o": "1.23.1", "Node/kh-inv-crio/kubelet": "1.23.4",
		"Deployment/ingress-old/ingress-nginx": "1.11.3", "Deployment/ingress-fixed/ingress-nginx": "1.15.1",
		"Deployment/ingress-digest/ingress-nginx": "1.12.0", "Deployment/ingress-unknown/ingress-nginx": "?",
		"Deployment/argocd-server/argocd": "3.1.8", "DaemonSet/kube-proxy/kube-proxy": "1.18.4", "Pod/etcd-kh-inv-ubuntu/etcd": "3.5.6",
		"APIServer/" + testcluster.Admin + "/kube-apiserver": strings.TrimPrefix(testcluster.KubeVersion, "v"),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for key, want := range map[string]string{
		"Deployment/ingress-old/ingress-nginx":    "CVE-2025-1974",
		"Deployment/ingress-digest/ingress-nginx": "CVE-2025-1974",
		"Node/kh-inv-ubuntu/containerd":           "CVE-2024-40635",
		"Node/kh-inv-crio/cri-o":                  "CVE-2022-0811",
		"Pod/etcd-kh-inv-ubuntu/etcd":             "CVE-2023-32082",
	} {
		if !contains(cves[key], want) {
			t.Errorf("%s: CVEs %v lack %s", key, cves[key], want)
		}
	}
	for _, key := range []string{"Deployment/ingress-fixed/ingress-nginx", "Deployment/ingress-unknown/ingress-nginx", "Node/kh-inv-current/containerd", "Deployment/argocd-server/argocd"} {
		if len(cves[key]) != 0 {
			t.Errorf("%s: want no CVE, got %v", key, cves[key])
		}
	}

	r = runCmd(t, "", "--cluster", "--kubeconfig", kc, "-o", "cyclonedx")
	if r.code != 0 {
		t.Fatalf("cyclonedx: exit %d: %s", r.code, r.stderr)
	}
	var bom struct {
		Metadata struct {
			Component struct{ Name, Version string }
		}
		Components []struct {
			BOMRef     string `json:"bom-ref"`
			Name       string
			Version    string
			Properties []struct{ Name, Value string }
		}
		Vulnerabilities []struct {
			ID      string
			Affects []struct{ Ref string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.Metadata.Component.Name != testcluster.Admin || bom.Metadata.Component.Version != strings.TrimPrefix(testcluster.KubeVersion, "v") {
		t.Errorf("KBOM root %+v", bom.Metadata.Component)
	}
	refs := map[string]string{}
	for _, comp := range bom.Components {
		if comp.Name == "ingress-nginx" && comp.Version == "1.11.3" {
			refs["old"] = comp.BOMRef
			n := 0
			for _, p := range comp.Properties {
				if p.Name == "kubeharden:location" && strings.Contains(p.Value, "Deployment/"+ns+"/ingress-old") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("ingress-nginx 1.11.3 locations: %+v", comp.Properties)
			}
		}
	}
	affected := false
	for _, v := range bom.Vulnerabilities {
		if v.ID == "CVE-2025-1974" {
			for _, a := range v.Affects {
				affected = affected || a.Ref == refs["old"]
			}
		}
	}
	if refs["old"] == "" || !affected {
		t.Errorf("KBOM: CVE-2025-1974 does not affect ingress-nginx 1.11.3 (%v)", refs)
	}
}

// The version checks on a live cluster: findings on the node or workload
// running each component, with the complete CVE list in the JSON and
// SARIF outputs of a spilled report.
func TestClusterVersionFindings(t *testing.T) {
	c := testcluster.Shared(t)
	setup(t, c)
	spill, err := os.CreateTemp(t.TempDir(), "spill")
	if err != nil {
		t.Fatal(err)
	}
	defer spill.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan := kscan.Plan{Catalogue: version.Checks(), VulnDB: vulndb.Embedded(), Now: time.Now, Spill: spill,
		Sources: []source.Source{cluster.Source{Options: cluster.Options{Kubeconfig: c.KubeconfigPath(testcluster.Admin)}}}}
	rep, err := kscan.Run(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jsonout.Render(&buf, rep, render.Options{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct {
			Check     string
			Object    struct{ Kind, Namespace, Name string }
			Message   string
			Location  *struct{ Path string }
			Component *struct{ Name, Version, UpgradeTo string }
			CVEs      []struct {
				ID, Severity string
				FixedIn      []string
			}
			EndOfLife string
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	type key struct{ check, kind, name string }
	got := map[key]int{}
	for _, f := range doc.Findings {
		if f.Object.Namespace != ns && !strings.HasPrefix(f.Object.Name, "kh-inv-") {
			continue
		}
		got[key{f.Check, f.Object.Kind, f.Object.Name}]++
		if strings.HasSuffix(f.Check, "-vulnerable") && (len(f.CVEs) == 0 || f.Component == nil) {
			t.Errorf("%s on %s/%s: no structured CVE list: %+v", f.Check, f.Object.Kind, f.Object.Name, f)
		}
		if f.Check == "component-version-vulnerable" && f.Object.Name == "ingress-old" {
			ids := map[string]bool{}
			for _, c := range f.CVEs {
				ids[c.ID] = true
			}
			if !ids["CVE-2025-1974"] || !ids["CVE-2026-24512"] || len(f.CVEs) < 8 || f.Component.UpgradeTo != "1.13.9" {
				t.Errorf("ingress-old: %+v", f)
			}
			if !strings.Contains(f.Message, "CVE-2025-1974 (critical, fixed in 1.11.5, 1.12.1)") || !strings.Contains(f.Message, "ingress-nginx controller 1.13.9") {
				t.Errorf("ingress-old message: %s", f.Message)
			}
		}
		if f.Check == "component-version-eol" && f.EndOfLife == "" {
			t.Errorf("eol finding without endOfLife: %+v", f)
		}
	}
	want := []key{
		{"component-version-vulnerable", "Deployment", "ingress-old"},
		{"component-version-vulnerable", "Deployment", "ingress-digest"},
		{"component-version-vulnerable", "DaemonSet", "kube-proxy"},
		{"component-version-vulnerable", "Pod", "etcd-kh-inv-ubuntu"},
		{"component-version-eol", "Deployment", "ingress-old"},
		{"component-version-eol", "Deployment", "ingress-fixed"},
		{"component-version-eol", "Node", "kh-inv-ubuntu"},
		{"component-version-eol", "DaemonSet", "kube-proxy"},
		{"container-runtime-vulnerable", "Node", "kh-inv-ubuntu"},
		{"container-runtime-vulnerable", "Node", "kh-inv-crio"},
		{"kubernetes-version-vulnerable", "Node", "kh-inv-ubuntu"},
		{"kubernetes-version-eol", "Node", "kh-inv-crio"},
	}
	for _, k := range want {
		if got[k] != 1 {
			t.Errorf("%v: %d findings, want 1", k, got[k])
		}
	}
	for _, k := range []key{
		{"component-version-vulnerable", "Deployment", "ingress-fixed"},
		{"component-version-vulnerable", "Deployment", "ingress-unknown"},
		{"component-version-vulnerable", "Deployment", "argocd-server"},
		{"container-runtime-vulnerable", "Node", "kh-inv-current"},
		{"kubernetes-version-vulnerable", "Node", "kh-inv-current"},
		{"component-version-eol", "Node", "kh-inv-current"},
	} {
		if got[k] != 0 {
			t.Errorf("%v: %d findings, want none", k, got[k])
		}
	}

	buf.Reset()
	if err := sarif.Render(&buf, rep, render.Options{}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID     string
				Properties map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, r := range log.Runs[0].Results {
		if r.RuleID == "container-runtime-vulnerable" && strings.Contains(string(r.Properties["cves"]), `"CVE-2022-0811"`) {
			with++
		}
	}
	if with != 1 {
		t.Errorf("SARIF: %d container-runtime-vulnerable results carry CVE-2022-0811 in their properties, want 1", with)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
