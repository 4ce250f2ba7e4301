package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

func TestClusterScanCommand(t *testing.T) {
	c := testcluster.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.AdminConfig())
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kh-cli"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "root-shell", Namespace: "kh-cli"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "sh", Image: "registry.example/sh:1", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}}
	if _, err := cs.CoreV1().Pods("kh-cli").Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	kc := c.KubeconfigPath(testcluster.Admin)

	r := run(t, "", "scan", "--cluster", "--kubeconfig", kc, "-o", "json", "--fail-on", "critical")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	var d struct {
		Findings []struct {
			Check  string
			Object struct{ Namespace, Name string }
			Origin struct{ Source, Context, UID, ResourceVersion string }
		}
		Summary struct{ CVEDatabase string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range d.Findings {
		if f.Check == "privileged-container" && f.Object.Name == "root-shell" {
			found = f.Origin.Context == testcluster.Admin && f.Origin.UID != "" && f.Origin.ResourceVersion != "" && f.Origin.Source == "cluster"
		}
	}
	if !found || d.Summary.CVEDatabase == "" {
		t.Errorf("privileged pod with its origin: %v; CVE database date %q", found, d.Summary.CVEDatabase)
	}

	r = run(t, "", "scan", "--cluster", "--kubeconfig", kc, "-n", "kh-cli", "-o", "sarif")
	if r.code != 0 || !strings.Contains(r.stdout, `"logicalLocations"`) || !strings.Contains(r.stdout, "admin/kh-cli/Pod/root-shell") {
		t.Errorf("SARIF of a cluster scan lacks logical locations (exit %d)", r.code)
	}

	for _, args := range [][]string{
		{"scan", "--cluster", "--kubeconfig", kc, "--context", "nope"},
		{"scan", "--cluster", "some/path"},
		{"scan", "--context", "admin", "some/path"},
	} {
		if r := run(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d stderr %q, want 2 with a message", args, r.code, r.stderr)
		}
	}
}
