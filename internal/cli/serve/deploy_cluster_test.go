package serve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/testcluster"
)

// The webhook's manifests in deploy/ and the output of "serve certs" are
// accepted by a real API server (server-side dry run: validation and
// defaulting, nothing stored), so a user's "kubectl apply" of them works.
// The cert-manager kinds are skipped: the test cluster has no cert-manager.
func TestDeployManifestsAcceptedByAPIServer(t *testing.T) {
	cluster := testcluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := cluster.AdminConfig()
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeharden"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	out, err := runCertsCmd(t, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{"kubeharden serve certs": []byte(out)}
	for _, f := range []string{"kubeharden.yaml", "webhook.yaml", "webhook-cert-manager.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		inputs["deploy/"+f] = data
	}
	n := 0
	for name, data := range inputs {
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if u.Object == nil || strings.HasPrefix(u.GetAPIVersion(), "cert-manager.io/") {
				continue
			}
			gvk := u.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, gvk, err)
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if u.GetNamespace() != "" {
				ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
			}
			_, err = ri.Create(ctx, &u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
			if err != nil && !(apierrors.IsAlreadyExists(err) && u.GetKind() == "Namespace") {
				t.Errorf("%s: %s %s: %v", name, u.GetKind(), u.GetName(), err)
			}
			n++
		}
	}
	if n < 15 {
		t.Errorf("only %d objects dry-run", n)
	}
}
