package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/cluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// apply creates every document of a YAML stream (it is fine if one exists).
func apply(t *testing.T, cfg *rest.Config, docs string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("fixture: %v\n%s", err, doc)
		}
		k := kinds.Lookup(u.GroupVersionKind().Group, u.GetKind())
		if k == nil || k.Synthetic {
			t.Fatalf("fixture kind %s is not a kind kubeharden lists", u.GetKind())
		}
		gvr := schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(gvr).Namespace(u.GetNamespace())
		}
		if _, err := ri.Create(context.Background(), &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func scan(t *testing.T, opts cluster.Options, checkList ...*check.Check) *report.Report {
	t.Helper()
	if checkList == nil {
		checkList = checks.All()
	}
	e, err := engine.New(engine.Options{Checks: checkList, Catalogue: checks.All()})
	if err != nil {
		t.Fatal(err)
	}
	run := e.NewRun(engine.RunOptions{Complete: opts.Complete()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Scan(ctx, opts, run); err != nil {
		t.Fatal(err)
	}
	return run.Report()
}

const insecure = `apiVersion: v1
kind: Namespace
metadata: {name: kh-insecure}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kh-insecure}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:latest
        securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: loner, namespace: kh-insecure}
spec:
  containers:
  - name: c
    image: registry.example/c:1
    securityContext: {privileged: true}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kh-admin-for-ghost}
subjects:
- {kind: ServiceAccount, name: ghost, namespace: kh-insecure}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: kh-insecure}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: kh-insecure}
stringData: {password: kh-canary-value-9f3a}
`

const hardened = `apiVersion: v1
kind: Namespace
metadata:
  name: kh-hardened
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: kh-hardened}
spec: {hard: {requests.cpu: "4", limits.memory: 8Gi}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: l, namespace: kh-hardened}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: kh-hardened}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: kh-hardened}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: kh-hardened}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: api
        image: registry.example/api:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 200m, memory: 128Mi}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
`

var fixturesOnce sync.Once

// setup loads the fixtures into the shared cluster once and waits for the
// controller manager to have created ReplicaSets and Pods.
func setup(t *testing.T) *testcluster.Cluster {
	t.Helper()
	c := testcluster.Shared(t)
	fixturesOnce.Do(func() {
		apply(t, c.AdminConfig(), insecure)
		apply(t, c.AdminConfig(), hardened)
		cs := kubernetes.NewForConfigOrDie(c.AdminConfig())
		testcluster.WaitFor(t, "the Deployments' pods", func() bool {
			a, _ := cs.CoreV1().Pods("kh-insecure").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
			b, _ := cs.CoreV1().Pods("kh-hardened").List(context.Background(), metav1.ListOptions{LabelSelector: "app=api"})
			return a != nil && b != nil && len(a.Items) == 2 && len(b.Items) == 1
		})
	})
	return c
}

func admin(c *testcluster.Cluster) cluster.Options {
	return cluster.Options{Kubeconfig: c.KubeconfigPath(testcluster.Admin)}
}

func byCheck(rep *report.Report, id string) []*report.Finding {
	var out []*report.Finding
	for _, f := range rep.Findings {
		if f.Check.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func TestLiveFindingsAreReportedOnceOnTheirController(t *testing.T) {
	c := setup(t)
	rep := scan(t, admin(c))
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	var priv []string
	for _, f := range byCheck(rep, "privileged-container") {
		if f.Object.Ref.Namespace == "kh-insecure" {
			priv = append(priv, f.Object.Ref.Kind+"/"+f.Object.Ref.Name)
			o := f.Object.Origin
			if o.Source != "cluster" || o.Context != testcluster.Admin || o.UID == "" || o.ResourceVersion == "" {
				t.Errorf("finding lacks its origin: %+v", o)
			}
		}
	}
	if strings.Join(priv, " ") != "Deployment/web Pod/loner" {
		t.Errorf("privileged-container reported on %v; want once on the Deployment and once on the unowned Pod", priv)
	}
	for _, o := range rep.Objects {
		if o.Ref.Kind == "ReplicaSet" || (o.Ref.Kind == "Pod" && o.Ref.Name != "loner" && strings.HasPrefix(o.Ref.Namespace, "kh-")) {
			t.Errorf("owned object %s was reported on its own", o.Ref)
		}
	}
	for _, f := range rep.Findings {
		if f.Object.Ref.Namespace == "kh-hardened" || f.Object.Ref.Name == "kh-hardened" {
			t.Errorf("hardened namespace has a finding: %s %s: %s", f.Check.ID, f.Object.Ref, f.Message)
		}
	}
	want := map[string]string{
		"namespace-without-resource-quota": "kh-insecure",
		"namespace-without-limit-range":    "kh-insecure",
		"namespace-without-default-deny":   "kh-insecure",
		"namespace-without-pss-enforce":    "kh-insecure",
		"rbac-dangling-subject":            "kh-admin-for-ghost",
		"cluster-admin-binding":            "kh-admin-for-ghost",
		"service-nodeport":                 "web",
	}
	for id, name := range want {
		found := false
		for _, f := range byCheck(rep, id) {
			found = found || f.Object.Ref.Name == name
		}
		if !found {
			t.Errorf("%s not reported on %s", id, name)
		}
	}
	// kh-insecure has no NetworkPolicy at all: on a whole-cluster scan that
	// is proven, and its pods are reported, once, on their controller.
	var open []string
	for _, f := range byCheck(rep, "pod-not-isolated") {
		if f.Object.Ref.Namespace == "kh-insecure" {
			open = append(open, f.Object.Ref.Kind+"/"+f.Object.Ref.Name)
			if !strings.Contains(f.Message, "has no NetworkPolicy at all, not even a default-deny") {
				t.Errorf("pod-not-isolated message does not name the missing default-deny: %s", f.Message)
			}
		}
		if ns := f.Object.Ref.Namespace; ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease" {
			t.Errorf("pod-not-isolated reported in system namespace %s", ns)
		}
	}
	if slices.Sort(open); strings.Join(open, " ") != "Deployment/web Pod/loner" {
		t.Errorf("pod-not-isolated reported on %v; want the Deployment and the unowned Pod of kh-insecure", open)
	}
	// One namespace only: the absence of a policy elsewhere proves nothing.
	opts := admin(c)
	opts.Namespace = "kh-insecure"
	if n := len(byCheck(scan(t, opts), "pod-not-isolated")); n != 0 {
		t.Errorf("pod-not-isolated fired %d times on a one-namespace scan", n)
	}
	for _, f := range byCheck(rep, "namespace-without-resource-quota") {
		if n := f.Object.Ref.Name; n == "kube-system" || n == "kube-public" || n == "kube-node-lease" {
			t.Errorf("system namespace %s reported", n)
		}
	}
	for _, f := range byCheck(rep, "secret-manifest-plaintext") {
		t.Errorf("a live Secret must not be reported as a plaintext manifest: %s", f.Object.Ref)
	}
	// The API server itself is an object: version checks see v1.37.2.
	apiserver := false
	for _, o := range rep.Objects {
		apiserver = apiserver || (o.Ref.Kind == "APIServer" && o.Ref.Name == testcluster.Admin)
	}
	if !apiserver {
		t.Error("the API server's /version was not scanned")
	}
	if n := len(byCheck(rep, "kubernetes-version-eol")); n != 0 {
		t.Errorf("v1.37.2 reported end of life")
	}
}

func TestPaginationSeesEverything(t *testing.T) {
	c := setup(t)
	big := scan(t, admin(c))
	opts := admin(c)
	opts.PageSize = 2
	small := scan(t, opts)
	if len(big.Objects) != len(small.Objects) || len(big.Findings) != len(small.Findings) || len(big.Objects) < 50 {
		t.Errorf("page size 500: %d objects %d findings; page size 2: %d objects %d findings",
			len(big.Objects), len(big.Findings), len(small.Objects), len(small.Findings))
	}
}

// recorder keeps every request and the body of every response about Secrets.
type recorder struct {
	mu       sync.Mutex
	requests []string
	bodies   bytes.Buffer
	next     http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery+" Accept: "+req.Header.Get("Accept"))
	if err == nil && strings.Contains(req.URL.Path, "/secrets") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.bodies.Write(body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, err
}

func TestSecretDataIsNeverFetched(t *testing.T) {
	c := setup(t)
	rec := &recorder{}
	opts := admin(c)
	opts.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec }
	rep := scan(t, opts)
	secrets := 0
	for _, o := range rep.Objects {
		if o.Ref.Kind == "Secret" && o.Ref.Name == "db" {
			secrets++
		}
	}
	if secrets != 1 {
		t.Fatalf("the Secret's metadata was not listed (%d)", secrets)
	}
	seen := 0
	for _, r := range rec.requests {
		if !strings.Contains(r, "/secrets") {
			continue
		}
		seen++
		if !strings.HasPrefix(r, "GET /api/v1/secrets?") || !strings.Contains(r, "as=PartialObjectMetadataList") {
			t.Errorf("a request for Secrets asked for more than metadata: %s", r)
		}
	}
	if seen == 0 {
		t.Fatal("no Secret request recorded: the test proves nothing")
	}
	if body := rec.bodies.String(); strings.Contains(body, "kh-canary-value-9f3a") || strings.Contains(body, "a2gtY2FuYXJ5LXZhbHVlLTlmM2E=") || strings.Contains(body, `"data"`) {
		t.Errorf("Secret data reached kubeharden")
	}
}

// bind gives the restricted identity a ClusterRole through a binding.
func bind(t *testing.T, c *testcluster.Cluster, name, role string) {
	t.Helper()
	apply(t, c.AdminConfig(), fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %s}
subjects: [{kind: User, name: %s, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}
`, name, testcluster.RestrictedUser, role))
}

func restricted(c *testcluster.Cluster) cluster.Options {
	return cluster.Options{Kubeconfig: c.KubeconfigPath(testcluster.Restricted)}
}

func TestForbiddenKindsAreNoticesAndTheScanGoesOn(t *testing.T) {
	c := setup(t)
	apply(t, c.AdminConfig(), `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kh-partial}
rules:
- apiGroups: [""]
  resources: [namespaces, pods, serviceaccounts]
  verbs: [list]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list]
`)
	bind(t, c, "kh-partial", "kh-partial")
	rep := scan(t, restricted(c))
	if len(rep.Errors) > 0 {
		t.Fatalf("a forbidden kind must not be an error: %v", rep.Errors)
	}
	var msgs []string
	for _, n := range rep.Notices {
		if n.Kind == report.NoticeIncomplete {
			msgs = append(msgs, n.Message)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"cannot list secrets", "resources: [secrets], verbs: [list]", "cannot list networkpolicies", "cannot list clusterrolebindings"} {
		if !strings.Contains(all, want) {
			t.Errorf("no notice %q in:\n%s", want, all)
		}
	}
	if len(byCheck(rep, "privileged-container")) == 0 {
		t.Error("the kinds the identity may list were not scanned")
	}
	// Checks that need a kind it could not list say so instead of guessing.
	for _, id := range []string{"namespace-without-resource-quota", "namespace-without-default-deny", "pod-not-isolated"} {
		if n := len(byCheck(rep, id)); n > 0 {
			t.Errorf("%s reported %d findings without seeing the objects it needs", id, n)
		}
	}
	if !strings.Contains(all, "namespace-without-resource-quota was not evaluated") {
		t.Errorf("no notice that a blind check was skipped:\n%s", all)
	}
}

// The ClusterRole published in deploy/ is exactly enough for a full scan.
func TestPublishedClusterRoleIsSufficient(t *testing.T) {
	c := setup(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubeharden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if strings.Contains(doc, "kind: ClusterRole\n") {
			apply(t, c.AdminConfig(), doc)
		}
	}
	bind(t, c, "kh-published", "kubeharden-scanner")
	rep := scan(t, restricted(c))
	for _, n := range rep.Notices {
		if n.Kind == report.NoticeIncomplete {
			t.Errorf("the published ClusterRole is not enough: %s", n.Message)
		}
	}
	if len(rep.Errors) > 0 || len(byCheck(rep, "privileged-container")) == 0 {
		t.Errorf("errors %v, findings %d", rep.Errors, len(rep.Findings))
	}
}

func TestAllContextsAreScannedAndLabelled(t *testing.T) {
	c := setup(t)
	opts := admin(c)
	opts.AllContexts = true
	rep := scan(t, opts)
	contexts := map[string]int{}
	for _, f := range byCheck(rep, "privileged-container") {
		if f.Object.Ref.Name == "loner" {
			contexts[f.Object.Origin.Context]++
		}
	}
	// The admin context sees the pod; the restricted one may (if an earlier
	// test bound it) or may not, but the admin result must be labelled.
	if contexts[testcluster.Admin] != 1 {
		t.Errorf("contexts: %v", contexts)
	}
	for _, o := range rep.Objects {
		if o.Origin.Context == "" {
			t.Fatalf("object %s has no context", o.Ref)
		}
	}
}

// A cluster that goes away mid-scan: the scan ends in bounded time with an
// error that names what is missing, and never hangs.
func TestAPIServerStoppedMidScan(t *testing.T) {
	c := testcluster.Require(t)
	var n atomic.Int32
	opts := cluster.Options{Kubeconfig: c.KubeconfigPath(testcluster.Admin), Retries: 2}
	opts.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if n.Add(1) == 6 {
				c.StopAPIServer()
			}
			return rt.RoundTrip(req)
		})
	}
	start := time.Now()
	rep := scan(t, opts)
	if d := time.Since(start); d > 90*time.Second {
		t.Errorf("the scan took %v after the API server died", d)
	}
	if len(rep.Errors) != 1 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	msg := rep.Errors[0].Error()
	for _, want := range []string{"cluster admin", "failed", "findings are missing for", "clusterrolebindings"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTimeoutNamesWhatIsMissing(t *testing.T) {
	c := setup(t)
	opts := admin(c)
	opts.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			time.Sleep(150 * time.Millisecond)
			return rt.RoundTrip(req)
		})
	}
	e, _ := engine.New(engine.Options{Checks: checks.All()})
	run := e.NewRun(engine.RunOptions{Complete: true})
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, fmt.Errorf("--timeout 1s reached"))
	defer cancel()
	if err := cluster.Scan(ctx, opts, run); err != nil {
		t.Fatal(err)
	}
	rep := run.Report()
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "--timeout 1s reached") || !strings.Contains(rep.Errors[0].Message, "findings are missing for") {
		t.Errorf("errors: %v", rep.Errors)
	}
}

// Throttling, server errors and dropped connections are retried with
// backoff, and the scan completes as if nothing happened.
func TestTransientErrorsAreRetried(t *testing.T) {
	c := setup(t)
	var mu sync.Mutex
	failures := map[string]int{}
	opts := admin(c)
	opts.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			n := failures[req.URL.Path]
			failures[req.URL.Path] = n + 1
			mu.Unlock()
			switch {
			case req.URL.Path == "/api/v1/pods" && n == 0:
				return synthetic(req, http.StatusServiceUnavailable, "", `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}`), nil
			case req.URL.Path == "/apis/apps/v1/deployments" && n == 0:
				return synthetic(req, http.StatusTooManyRequests, "1", `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`), nil
			case req.URL.Path == "/api/v1/namespaces" && n == 0:
				return nil, io.ErrUnexpectedEOF
			}
			return rt.RoundTrip(req)
		})
	}
	rep := scan(t, opts)
	if len(rep.Errors) > 0 {
		t.Fatalf("transient errors were not retried: %v", rep.Errors)
	}
	if failures["/api/v1/pods"] < 2 || failures["/apis/apps/v1/deployments"] < 2 || failures["/api/v1/namespaces"] < 2 {
		t.Errorf("requests: %v", failures)
	}
	if len(byCheck(rep, "privileged-container")) == 0 {
		t.Error("the retried kinds were not scanned")
	}
}

func synthetic(req *http.Request, code int, retryAfter, body string) *http.Response {
	h := http.Header{"Content-Type": []string{"application/json"}}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req, ProtoMajor: 1, ProtoMinor: 1}
}

// A kind served by a CustomResourceDefinition whose objects carry a pod
// template is found from the CRD's schema and checked like a Deployment;
// a ReplicaSet it controls is checked through it, not again.
func TestCustomWorkloadsAreChecked(t *testing.T) {
	c := setup(t)
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(c.AdminConfig())
	testcluster.InstallWidgets(t, c.AdminConfig())
	widgets := testcluster.WidgetGVR
	var w unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(`apiVersion: example.com/v1
kind: Widget
metadata: {name: gadget, namespace: kh-insecure}
spec:
  replicas: 1
  template:
    metadata: {labels: {app: gadget}}
    spec:
      containers:
      - name: app
        image: registry.example/gadget:1.0
        securityContext: {privileged: true}
`), &w.Object); err != nil {
		t.Fatal(err)
	}
	created, err := dyn.Resource(widgets).Namespace("kh-insecure").Create(ctx, &w, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes, zero := true, int32(0)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "gadget-7d9f", Namespace: "kh-insecure",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "Widget", Name: "gadget", UID: created.GetUID(), Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "gadget"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "gadget"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/gadget:1.0", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}}}
	if _, err := kubernetes.NewForConfigOrDie(c.AdminConfig()).AppsV1().ReplicaSets("kh-insecure").Create(ctx, rs, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	rep := scan(t, admin(c), checks.ByID("privileged-container"))
	var got []string
	for _, f := range byCheck(rep, "privileged-container") {
		if f.Object.Ref.Namespace == "kh-insecure" && strings.Contains(f.Object.Ref.Name, "gadget") {
			got = append(got, f.Object.Ref.Kind+"/"+f.Object.Ref.Name+" "+f.Loc().Path)
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "Widget/gadget spec.template.spec.containers[0]") {
		t.Errorf("privileged findings on the Widget and its ReplicaSet: %v, want the Widget's alone", got)
	}
}
