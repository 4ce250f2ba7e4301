package watch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/metrics"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/scanner"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// installCRDs creates the PolicyReport CRDs of deploy/ and waits until
// they are served.
func installCRDs(t *testing.T, cfg *rest.Config) {
	t.Helper()
	data, err := os.ReadFile("../../deploy/policyreport-crds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	n := 0
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("deploy/policyreport-crds.yaml: %v", err)
		}
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		n++
		if _, err := dyn.Resource(crds).Create(context.Background(), &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating CRD %s: %v", u.GetName(), err)
		}
	}
	if n != 2 {
		t.Fatalf("deploy/policyreport-crds.yaml holds %d CRDs, want 2", n)
	}
	testcluster.WaitFor(t, "the PolicyReport CRDs to be served", func() bool {
		_, e1 := dyn.Resource(policyReports).List(context.Background(), metav1.ListOptions{})
		_, e2 := dyn.Resource(clusterPolicyReports).List(context.Background(), metav1.ListOptions{})
		return e1 == nil && e2 == nil
	})
}

// scrape returns the /metrics text.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading /metrics: %v", err)
	}
	return string(b)
}

// hasSeries reports whether the exposition has a sample of metric whose
// labels include every given label="value" pair, with a value above 0.
func hasSeries(text, metric string, labels ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
				break
			}
		}
		if ok && !strings.HasSuffix(line, " 0") {
			return true
		}
	}
	return false
}

// reportHas reports whether namespace ns's PolicyReport has a failed
// result of check about the named object.
func reportHas(dyn dynamic.Interface, ns, check, name string) bool {
	u, err := dyn.Resource(policyReports).Namespace(ns).Get(context.Background(), scanner.ReportName, metav1.GetOptions{})
	if err != nil {
		return false
	}
	results, _, _ := unstructured.NestedSlice(u.Object, "results")
	for _, r := range results {
		m, _ := r.(map[string]any)
		if m["policy"] != check || m["result"] != "fail" || m["source"] != "kubeharden" {
			continue
		}
		res, _ := m["resources"].([]any)
		for _, x := range res {
			if o, _ := x.(map[string]any); o["name"] == name {
				return true
			}
		}
	}
	return false
}

// runScanner makes a scanner with opts and runs it until the test ends
// (it must then stop cleanly).
func runScanner(t *testing.T, opts Options) *Scanner {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

func TestScannerFollowsTheCluster(t *testing.T) {
	c := testcluster.Shared(t)
	cfg := c.AdminConfig()
	installCRDs(t, cfg)
	kube := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const ns = "scanner-e2e"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	s, err := New(Options{
		Config: cfg, Plan: kscan.Plan{Now: time.Now}, Reports: true,
		LeaderElection: LeaderElection{Namespace: "default", Name: "kubeharden-scanner-test",
			LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	reg.Register(s.Collect)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	testcluster.WaitFor(t, "the scanner to be ready", func() bool { return s.Ready() == nil })
	testcluster.WaitFor(t, "the scanner to lead", func() bool { return strings.Contains(scrape(t, srv.URL), "\nkubeharden_leader 1\n") })

	// within asserts that cond becomes true within 2 seconds of start
	// (observed by polling every 250 ms, so the bound is conservative).
	within := func(what string, start time.Time, cond func() bool) {
		t.Helper()
		var seen time.Duration
		testcluster.WaitFor(t, what, func() bool {
			if cond() {
				seen = time.Since(start)
				return true
			}
			return false
		})
		t.Logf("%s: %v", what, seen.Round(time.Millisecond))
		if seen > 2*time.Second {
			t.Errorf("%s took %v, want at most 2s", what, seen)
		}
	}

	yes := true
	pod := func(name string, privileged bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0"}}}}
		if privileged {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}
		return p
	}
	start := time.Now()
	if _, err := kube.CoreV1().Pods(ns).Create(ctx, pod("priv", true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	privSeries := []string{`check="privileged-container"`, `namespace="` + ns + `"`, `kind="Pod"`, `severity="`}
	within("privileged finding in /metrics", start, func() bool {
		return hasSeries(scrape(t, srv.URL), metrics.Findings, privSeries...)
	})
	within("privileged finding in the PolicyReport", start, func() bool { return reportHas(dyn, ns, "privileged-container", "priv") })
	// A namespace without NetworkPolicies on a whole-cluster watch: the
	// cross-object check reports the pod.
	within("pod-not-isolated in /metrics", start, func() bool {
		return hasSeries(scrape(t, srv.URL), metrics.Findings, `check="pod-not-isolated"`, `namespace="`+ns+`"`)
	})

	// Fix it: replace the privileged pod by a plain one.
	start = time.Now()
	if err := kube.CoreV1().Pods(ns).Delete(ctx, "priv", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Pods(ns).Create(ctx, pod("plain", false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	within("privileged finding gone from /metrics", start, func() bool {
		return !hasSeries(scrape(t, srv.URL), metrics.Findings, privSeries...)
	})
	within("privileged finding gone from the PolicyReport", start, func() bool {
		return !reportHas(dyn, ns, "privileged-container", "priv") && reportHas(dyn, ns, "pod-not-isolated", "plain")
	})

	// A default-deny NetworkPolicy isolates every pod of the namespace.
	start = time.Now()
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
	if _, err := kube.NetworkingV1().NetworkPolicies(ns).Create(ctx, deny, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	within("pod-not-isolated gone from /metrics", start, func() bool {
		return !hasSeries(scrape(t, srv.URL), metrics.Findings, `check="pod-not-isolated"`, `namespace="`+ns+`"`)
	})
	within("pod-not-isolated gone from the PolicyReport", start, func() bool {
		return !reportHas(dyn, ns, "pod-not-isolated", "plain")
	})

	text := scrape(t, srv.URL)
	defer func() {
		// Deleting the namespace removes its series and its report.
		if err := kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		testcluster.WaitFor(t, "the namespace's series to disappear", func() bool {
			return !strings.Contains(scrape(t, srv.URL), `namespace="`+ns+`"`)
		})
		testcluster.WaitFor(t, "the namespace's PolicyReport to disappear", func() bool {
			_, err := dyn.Resource(policyReports).Namespace(ns).Get(ctx, scanner.ReportName, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}()
	for _, want := range []string{"kubeharden_objects_scanned ", `kubeharden_compliance_ratio{framework="CIS"}`,
		`kubeharden_pss_level_objects{namespace="` + ns + `",level="`, "kubeharden_last_event_timestamp_seconds ",
		`kubeharden_watch_errors_total{kind="Pod"} 0`, `kubeharden_findings_total{severity="critical"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `"priv"`) || strings.Contains(text, `"plain"`) {
		t.Errorf("/metrics carries object names:\n%s", text)
	}
}

// When the API server goes away mid-watch, the scanner keeps serving the
// last findings and counts the watch errors by kind; when it comes back,
// the scanner recovers by itself (client-go's informers retry the list
// and watch) and follows changes again.
func TestWatchErrorsAreCounted(t *testing.T) {
	c := testcluster.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(Options{Config: c.AdminConfig(), Plan: kscan.Plan{Now: time.Now}})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	reg.Register(s.Collect)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testcluster.WaitFor(t, "the scanner to be ready", func() bool { return s.Ready() == nil })
	before := scrape(t, srv.URL)
	if !strings.Contains(before, `kubeharden_watch_errors_total{kind="Pod"} 0`) {
		t.Fatalf("watch errors before the outage:\n%s", before)
	}
	c.StopAPIServer()
	testcluster.WaitFor(t, "watch errors to be counted", func() bool {
		return hasSeries(scrape(t, srv.URL), metrics.WatchErrorsTotal, `kind="Pod"`)
	})
	after := scrape(t, srv.URL)
	if !strings.Contains(after, "kubeharden_objects_scanned ") || s.Ready() != nil {
		t.Errorf("the scanner stopped serving its findings:\n%s", after)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned during the outage: %v", err)
	default:
	}

	// The API server comes back: the informers relist and watch again by
	// themselves, and a change made after the outage reaches the metrics.
	if err := c.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	kube := kubernetes.NewForConfigOrDie(c.AdminConfig())
	const ns = "after-outage"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "priv"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, "a pod created after the outage in /metrics", func() bool {
		return hasSeries(scrape(t, srv.URL), metrics.Findings, `check="privileged-container"`, `namespace="`+ns+`"`)
	})
	t.Logf("recovered: the new pod's finding served %v after the API server was back", time.Since(back).Round(time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// Two replicas with leader election: one writes the reports, and when it
// stops the other takes over.
func TestOneWriter(t *testing.T) {
	c := testcluster.Shared(t)
	cfg := c.AdminConfig()
	installCRDs(t, cfg)
	start := func(identity string) (*Scanner, context.CancelFunc, chan error) {
		s, err := New(Options{Config: cfg, Plan: kscan.Plan{Now: time.Now}, Reports: true,
			LeaderElection: LeaderElection{Namespace: "default", Name: "kubeharden-one-writer", Identity: identity,
				LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return s, cancel, done
	}
	a, stopA, doneA := start("a")
	b, stopB, doneB := start("b")
	testcluster.WaitFor(t, "one replica to lead", func() bool { return a.leader.Load() || b.leader.Load() })
	// Over a few renewals, never both.
	for range 8 {
		if a.leader.Load() && b.leader.Load() {
			t.Fatal("both replicas lead")
		}
		time.Sleep(500 * time.Millisecond)
	}
	leader, follower, stopLeader, doneLeader, stopFollower, doneFollower := a, b, stopA, doneA, stopB, doneB
	if b.leader.Load() {
		leader, follower, stopLeader, doneLeader, stopFollower, doneFollower = b, a, stopB, doneB, stopA, doneA
	}
	defer func() {
		stopFollower()
		if err := <-doneFollower; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stopLeader()
	if err := <-doneLeader; err != nil {
		t.Errorf("Run: %v", err)
	}
	if leader.leader.Load() {
		t.Error("the stopped replica still says it leads")
	}
	testcluster.WaitFor(t, "the other replica to take over", func() bool { return follower.leader.Load() })
}

// The node components the API shows are judged as a cluster scan judges
// them, and follow the cluster: a control plane mirror pod with
// --anonymous-auth=true on a node fails apiserver-anonymous-auth until
// the pod is replaced by one with --anonymous-auth=false.
func TestScannerNodeComponents(t *testing.T) {
	c := testcluster.Shared(t)
	cfg := c.AdminConfig()
	kube := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const node = "kh-scanner-node"
	if _, err := kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{}) })
	mirror := func(anonymous string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver-" + node, Namespace: "kube-system",
			Annotations: map[string]string{"kubernetes.io/config.mirror": "0123456789abcdef"}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "kube-apiserver", Image: "registry.k8s.io/kube-apiserver:v1.37.2",
				Command: []string{"kube-apiserver", "--anonymous-auth=" + anonymous, "--authorization-mode=Node,RBAC"}}}}}
	}
	if _, err := kube.CoreV1().Pods("kube-system").Create(ctx, mirror("true"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kube.CoreV1().Pods("kube-system").Delete(context.Background(), "kube-apiserver-"+node, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	})
	s := runScanner(t, Options{Config: cfg, Plan: kscan.Plan{Now: time.Now, Only: []string{"apiserver-anonymous-auth", "privileged-container"}}})
	anonymous := func() bool {
		for _, f := range s.State().Findings() {
			if f.Check.ID == "apiserver-anonymous-auth" && f.Object.Ref.Kind == kinds.NodeComponent.Kind && f.Object.Origin.Node == node {
				return true
			}
		}
		return false
	}
	testcluster.WaitFor(t, "the scanner to be ready", func() bool { return s.Ready() == nil })
	if !anonymous() {
		t.Fatalf("no apiserver-anonymous-auth finding on node %s after the sync: %v", node, s.State().Findings())
	}
	if err := kube.CoreV1().Pods("kube-system").Delete(ctx, "kube-apiserver-"+node, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, "the mirror pod to be gone", func() bool {
		_, err := kube.CoreV1().Pods("kube-system").Get(ctx, "kube-apiserver-"+node, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := kube.CoreV1().Pods("kube-system").Create(ctx, mirror("false"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testcluster.WaitFor(t, "the finding to clear", func() bool { return !anonymous() })
	t.Logf("finding cleared %v after the fixed mirror pod was created", time.Since(start).Round(time.Millisecond))
}

// A kind served by a CustomResourceDefinition whose objects carry a pod
// template is watched and checked like a Deployment: a privileged Widget
// has its finding until it is fixed, and a deleted one takes its findings
// with it.
func TestScannerCustomWorkloads(t *testing.T) {
	c := testcluster.Shared(t)
	cfg := c.AdminConfig()
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(cfg)
	testcluster.InstallWidgets(t, cfg)
	widgets := dyn.Resource(testcluster.WidgetGVR).Namespace("default")
	widget := func(privileged bool) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(fmt.Sprintf(`apiVersion: example.com/v1
kind: Widget
metadata: {name: gadget, namespace: default}
spec:
  template:
    spec:
      containers:
      - {name: app, image: registry.example/gadget:1.0, securityContext: {privileged: %v}}
`, privileged)), &u.Object); err != nil {
			t.Fatal(err)
		}
		return u
	}
	if _, err := widgets.Create(ctx, widget(true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = widgets.Delete(context.Background(), "gadget", metav1.DeleteOptions{}) })

	s := runScanner(t, Options{Config: cfg, Plan: kscan.Plan{Now: time.Now, Only: []string{"privileged-container"}}})
	testcluster.WaitFor(t, "the scanner to be ready", func() bool { return s.Ready() == nil })
	ref := inventory.Ref{APIVersion: "example.com/v1", Kind: "Widget", Namespace: "default", Name: "gadget"}
	findings := func() int {
		fs, _ := s.State().Lookup(ref)
		return len(fs)
	}
	if n := findings(); n != 1 {
		t.Fatalf("the privileged Widget has %d findings, want 1", n)
	}
	cur, err := widgets.Get(ctx, "gadget", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixed := widget(false)
	fixed.SetResourceVersion(cur.GetResourceVersion())
	if _, err := widgets.Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, "the fixed Widget's finding to clear", func() bool { return findings() == 0 })
	if _, held := s.State().Lookup(ref); !held {
		t.Error("the fixed Widget is not in the state")
	}
	if err := widgets.Delete(ctx, "gadget", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, "the deleted Widget to leave the state", func() bool {
		_, held := s.State().Lookup(ref)
		return !held
	})
}
