package serve

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/deploygen"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/server/servertest"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// fixture returns the named object (kind/name) of a YAML fixture file of
// the repository, placed in namespace ns.
func fixture(t *testing.T, file, kind, name, ns string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil || u.Object == nil {
			continue
		}
		if u.GetKind() == kind && u.GetName() == name {
			u.SetNamespace(ns)
			return &u
		}
	}
	t.Fatalf("no %s %s in %s", kind, name, file)
	return nil
}

// warnings collects the API server's warning headers.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// TestAdmissionAgainstAPIServer registers `serve --admission` with a real
// kube-apiserver and creates fixtures through it with server-side dry-run.
func TestAdmissionAgainstAPIServer(t *testing.T) {
	cluster := testcluster.Shared(t)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const testNS, homeNS = "kh-admission", "kh-webhook-home"
	dir := t.TempDir()
	certs := servertest.Write(t, dir, "kubeharden-webhook")
	// The same configuration file as scan: image-not-pinned skipped.
	cfgFile := filepath.Join(dir, "kubeharden.yaml")
	if err := os.WriteFile(cfgFile, []byte("skip: [image-not-pinned]\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Start the server in-process, on a loopback port of its choice.
	addr := runServe(t, "--admission", "--bind-address", "127.0.0.1:0", "--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile,
		"--namespace", homeNS, "--config", cfgFile,
		// The test cluster's controller manager runs as the admin user.
		"--controller-users", "system:kube-controller-manager,"+testcluster.AdminUser).addr
	base := "https://" + addr.String()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool}}}
	poll(ctx, t, "/readyz", func() (bool, error) {
		resp, err := hc.Get(base + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	})
	t.Logf("server ready at %s after %s", base, time.Since(begin).Round(time.Millisecond))

	cfg := rest.CopyConfig(cluster.AdminConfig())
	warn := &warnings{}
	cfg.WarningHandler = warn
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)

	for _, ns := range []string{testNS, homeNS} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}

	// An existing non-compliant workload, created before the webhook: a
	// privileged Deployment (ratcheting keeps it scalable and labellable).
	deployments := dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(testNS)
	legacy := fixture(t, "examples/hardened/app.yaml", "Deployment", "backend", testNS)
	legacy.SetName("legacy")
	legacy.SetLabels(map[string]string{"app": "legacy"})
	unstructured.SetNestedStringMap(legacy.Object, map[string]string{"app": "legacy"}, "spec", "selector", "matchLabels")
	unstructured.SetNestedStringMap(legacy.Object, map[string]string{"app": "legacy"}, "spec", "template", "metadata", "labels")
	unstructured.SetNestedField(legacy.Object, int64(1), "spec", "replicas")
	unstructured.SetNestedField(legacy.Object, "default", "spec", "template", "spec", "serviceAccountName")
	setContainer0(t, legacy, func(sc map[string]any) { sc["privileged"], sc["allowPrivilegeEscalation"] = true, true })
	if _, err := deployments.Create(ctx, legacy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deployments.Delete(context.Background(), "legacy", metav1.DeleteOptions{}) })

	// The webhook as deploy/ registers it: the generated rules, failure
	// policy, timeout and namespace selector (with this test's namespace
	// as the server's own), called by URL on loopback instead of through
	// a Service.
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	gen := "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: kubeharden-test}\n" +
		deploygen.Webhooks(deploygen.WebhookOptions{Namespace: homeNS})
	if err := yaml.UnmarshalStrict([]byte(gen), &vwc); err != nil {
		t.Fatal(err)
	}
	url := base + "/validate"
	vwc.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: certs.CA}
	vwcs := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := vwcs.Create(ctx, &vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vwcs.Delete(context.Background(), vwc.Name, metav1.DeleteOptions{}) })

	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	create := func(u *unstructured.Unstructured, opts metav1.CreateOptions) error {
		k := kinds.Lookup(u.GroupVersionKind().Group, u.GetKind())
		gvr := schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
		_, err := dyn.Resource(gvr).Namespace(u.GetNamespace()).Create(ctx, u, opts)
		return err
	}
	privileged := func(ns string) *unstructured.Unstructured {
		return fixture(t, "checks/pod/testdata/privileged-container/fail/kinds.yaml", "Pod", "bare", ns)
	}
	// Pods need their namespace's default ServiceAccount, which the
	// controller manager makes; the webhook configuration takes effect
	// once the API server's informer has seen it.
	poll(ctx, t, "the webhook to deny", func() (bool, error) {
		for _, ns := range []string{testNS, homeNS, "kube-system"} {
			if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
				return false, err
			}
		}
		err := create(privileged(testNS), dryRun)
		return err != nil && strings.Contains(err.Error(), "denied the request"), nil
	})
	warn.take()
	t.Logf("webhook effective after %s", time.Since(begin).Round(time.Millisecond))

	t.Run("privileged pod rejected with the check's message", func(t *testing.T) {
		err := create(privileged(testNS), dryRun)
		if err == nil {
			t.Fatal("privileged pod admitted")
		}
		for _, want := range []string{
			`admission webhook "validate.kubeharden.io" denied the request`,
			"kubeharden: Pod/" + testNS + "/bare",
			"privileged-container (critical) at spec.containers[0].securityContext.privileged",
			`container "app" runs privileged`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})

	t.Run("pass fixture admitted with medium findings as warnings", func(t *testing.T) {
		warn.take()
		pod := fixture(t, "checks/pod/testdata/privilege-escalation-allowed/pass/decoys.yaml", "Pod", "decoy", testNS)
		if err := create(pod, dryRun); err != nil {
			t.Fatalf("denied: %v", err)
		}
		got := strings.Join(warn.take(), "\n")
		if !strings.Contains(got, "kubeharden capabilities-not-dropped (medium) at spec.containers[0]") {
			t.Errorf("no medium warning in:\n%s", got)
		}
		if strings.Contains(got, "image-not-pinned") {
			t.Errorf("a check skipped by the configuration file ran:\n%s", got)
		}
	})

	t.Run("hardened deployment admitted without warnings", func(t *testing.T) {
		warn.take()
		dep := fixture(t, "examples/hardened/app.yaml", "Deployment", "backend", testNS)
		if err := create(dep, dryRun); err != nil {
			t.Fatalf("denied: %v", err)
		}
		if w := warn.take(); len(w) > 0 {
			t.Errorf("warnings: %q", w)
		}
	})

	t.Run("update evaluates the new object", func(t *testing.T) {
		dep := fixture(t, "examples/hardened/app.yaml", "Deployment", "backend", testNS)
		dep.SetName("backend-update")
		gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
		created, err := dyn.Resource(gvr).Namespace(testNS).Create(ctx, dep, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer dyn.Resource(gvr).Namespace(testNS).Delete(context.Background(), created.GetName(), metav1.DeleteOptions{})
		setContainer0(t, created, func(sc map[string]any) { sc["privileged"], sc["allowPrivilegeEscalation"] = true, true })
		_, err = dyn.Resource(gvr).Namespace(testNS).Update(ctx, created, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "privileged-container") {
			t.Errorf("privileged update: %v", err)
		}
	})

	t.Run("ratcheting: a label change on an existing privileged deployment is admitted with a warning", func(t *testing.T) {
		warn.take()
		d, err := deployments.Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.SetLabels(map[string]string{"app": "legacy", "team": "payments"})
		if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("label change denied: %v", err)
		}
		got := strings.Join(warn.take(), "\n")
		if !strings.Contains(got, "kubeharden privileged-container (critical, pre-existing, not denied on update) at spec.template.spec.containers[0].securityContext.privileged") {
			t.Errorf("no pre-existing warning in:\n%s", got)
		}
	})

	t.Run("ratcheting: scaling it up, the controllers create its new pods", func(t *testing.T) {
		sc, err := cs.AppsV1().Deployments(testNS).GetScale(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc.Spec.Replicas = 3
		if _, err := cs.AppsV1().Deployments(testNS).UpdateScale(ctx, "legacy", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The deployment controller updates the ReplicaSet, the replicaset
		// controller creates two privileged pods through the webhook.
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		poll(pctx, t, "three pods of the privileged deployment", func() (bool, error) {
			pods, err := cs.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=legacy"})
			if err != nil {
				return false, err
			}
			return len(pods.Items) == 3, fmt.Errorf("%d pods", len(pods.Items))
		})
	})

	t.Run("ratcheting: adding hostPID to it is denied, naming only the new finding", func(t *testing.T) {
		d, err := deployments.Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		unstructured.SetNestedField(d.Object, true, "spec", "template", "spec", "hostPID")
		_, err = deployments.Update(ctx, d, metav1.UpdateOptions{})
		if err == nil {
			t.Fatal("hostPID admitted")
		}
		if !strings.Contains(err.Error(), "host-pid (critical) at spec.template.spec.hostPID") || strings.Contains(err.Error(), "privileged-container (critical) at") {
			t.Errorf("denial: %v", err)
		}
	})

	t.Run("a privileged ephemeral container is denied", func(t *testing.T) {
		no, yes, uid := false, true, int64(1000)
		pod, err := cs.CoreV1().Pods(testNS).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "debug-target"},
			Spec: corev1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid},
				Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no}}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer cs.CoreV1().Pods(testNS).Delete(context.Background(), pod.Name, metav1.DeleteOptions{})
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debugger", Image: "busybox:1.36", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}})
		_, err = cs.CoreV1().Pods(testNS).UpdateEphemeralContainers(ctx, pod.Name, pod, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "privileged-container (critical) at spec.ephemeralContainers[0].securityContext.privileged") {
			t.Errorf("privileged ephemeral container: %v", err)
		}
	})

	t.Run("kube-system never blocked", func(t *testing.T) {
		if err := create(privileged("kube-system"), dryRun); err != nil {
			t.Errorf("denied in kube-system: %v", err)
		}
	})

	t.Run("the server's own namespace is not sent", func(t *testing.T) {
		if err := create(privileged(homeNS), dryRun); err != nil {
			t.Errorf("denied in the webhook's namespace: %v", err)
		}
	})
	t.Logf("total %s", time.Since(begin).Round(time.Millisecond))
}

// setContainer0 edits the securityContext of the first container of a
// workload's pod template.
func setContainer0(t *testing.T, u *unstructured.Unstructured, edit func(map[string]any)) {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		t.Fatalf("%s has no containers", u.GetName())
	}
	c0 := containers[0].(map[string]any)
	sc, _ := c0["securityContext"].(map[string]any)
	if sc == nil {
		sc = map[string]any{}
		c0["securityContext"] = sc
	}
	edit(sc)
	if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}

func poll(ctx context.Context, t *testing.T, what string, done func() (bool, error)) {
	t.Helper()
	var last error
	for {
		ok, err := done()
		if ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last error: %v)", what, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
