package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/policy"
)

// pssFixture holds namespaces of every level: a privileged DaemonSet (no
// node, so no pod) beside a privileged Pod and a restricted one; a baseline
// Deployment (whose ReplicaSet and two Pods the controller manager creates)
// beside a baseline Pod that fails other restricted checks; restricted
// Pods only; and no workload at all.
const pssFixture = `apiVersion: v1
kind: Namespace
metadata: {name: kh-pss-priv}
---
apiVersion: v1
kind: Namespace
metadata: {name: kh-pss-base}
---
apiVersion: v1
kind: Namespace
metadata: {name: kh-pss-rest}
---
apiVersion: v1
kind: Namespace
metadata: {name: kh-pss-empty}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kh-pss-priv}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers:
      - {name: agent, image: registry.example/agent:1, securityContext: {privileged: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: kh-pss-priv}
spec:
  hostPID: true
  containers:
  - {name: sh, image: registry.example/sh:1}
---
apiVersion: v1
kind: Pod
metadata: {name: tidy, namespace: kh-pss-priv}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: registry.example/app:1
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kh-pss-base}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: registry.example/web:1}
---
apiVersion: v1
kind: Pod
metadata: {name: almost, namespace: kh-pss-base}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: registry.example/app:1
    securityContext: {allowPrivilegeEscalation: false}
---
apiVersion: v1
kind: Pod
metadata: {name: tidy, namespace: kh-pss-rest}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: registry.example/app:1
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Pod
metadata: {name: tidy-too, namespace: kh-pss-rest}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: registry.example/app:1
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}
`

// warnings collects the API server's warnings of the requests of one client.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	w.list = append(w.list, text)
	w.mu.Unlock()
}

// get returns the warnings, sorted; only those naming PodSecurity when
// podSecurityOnly is set.
func (w *warnings) get(podSecurityOnly bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, s := range w.list {
		if !podSecurityOnly || strings.Contains(s, "PodSecurity") {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// warned returns a dynamic client whose requests' warnings go to w.
func warned(t *testing.T, cfg *rest.Config) (dynamic.Interface, *warnings) {
	t.Helper()
	w := &warnings{}
	c := rest.CopyConfig(cfg)
	c.WarningHandler = w
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return dyn, w
}

func resourceOf(t *testing.T, group, kind string) schema.GroupVersionResource {
	t.Helper()
	k := kinds.Lookup(group, kind)
	if k == nil {
		t.Fatalf("kind %s/%s unknown", group, kind)
	}
	return schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
}

type pssLabelsOutput struct {
	PolicyVersion string
	Namespaces    []policy.NamespaceLabels
}

// TestPSSLabelsOnCluster proves the proposal on a real API server: the
// labels it proposes can be applied without the API server naming any
// existing pod as violating them, copies of every workload are still
// admitted under them, and the next stricter level would reject exactly
// the workloads the proposal names as blockers, for the reasons it gives.
func TestPSSLabelsOnCluster(t *testing.T) {
	c := testcluster.Shared(t)
	cfg := c.AdminConfig()
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	dyn, _ := warned(t, cfg)

	docs := strings.Split(pssFixture, "\n---\n")
	// Namespaces first; pods only once the controller manager has given
	// their namespace its default ServiceAccount.
	for pass := 0; pass < 2; pass++ {
		for _, doc := range docs {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Fatal(err)
			}
			if (u.GetKind() == "Namespace") != (pass == 0) {
				continue
			}
			gvr := resourceOf(t, u.GroupVersionKind().Group, u.GetKind())
			var ri dynamic.ResourceInterface = dyn.Resource(gvr)
			if ns := u.GetNamespace(); ns != "" {
				ri = dyn.Resource(gvr).Namespace(ns)
				testcluster.WaitFor(t, "the default ServiceAccount of "+ns, func() bool {
					_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
					return err == nil
				})
			}
			if _, err := ri.Create(ctx, &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
	testcluster.WaitFor(t, "the Deployment's two pods", func() bool {
		pods, err := cs.CoreV1().Pods("kh-pss-base").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(pods.Items) == 2
	})

	r := run(t, "", "policy", "pss-labels", "--cluster", "--kubeconfig", c.KubeconfigPath(testcluster.Admin), "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out pssLabelsOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.PolicyVersion != "v1.37" {
		t.Errorf("policy version %q, want v1.37 (the version of the evaluator and of the test cluster)", out.PolicyVersion)
	}
	proposals := map[string]policy.NamespaceLabels{}
	for _, n := range out.Namespaces {
		proposals[n.Namespace] = n
	}
	wantLevels := map[string]struct {
		enforce  string
		blockers []string
	}{
		"kh-pss-priv":  {policy.Privileged, []string{"DaemonSet/agent", "Pod/root"}},
		"kh-pss-base":  {policy.Baseline, []string{"Deployment/web", "Pod/almost", "Pod/web-", "Pod/web-", "ReplicaSet/web-"}},
		"kh-pss-rest":  {policy.Restricted, nil},
		"kh-pss-empty": {policy.Restricted, nil},
	}
	for ns, want := range wantLevels {
		n, ok := proposals[ns]
		if !ok {
			t.Fatalf("no proposal for %s", ns)
		}
		var got []string
		for _, b := range n.Blockers {
			name := b.Object.Name
			if strings.HasPrefix(name, "web-") {
				name = "web-"
			}
			got = append(got, b.Object.Kind+"/"+name)
		}
		sort.Strings(got)
		if n.Enforce != want.enforce || n.Warn != policy.Stricter(want.enforce) || n.Audit != n.Warn || !slices.Equal(got, want.blockers) {
			t.Errorf("%s: enforce %s audit %s warn %s, blockers %v; want enforce %s, warn and audit %s, blockers %v",
				ns, n.Enforce, n.Audit, n.Warn, got, want.enforce, policy.Stricter(want.enforce), want.blockers)
		}
	}

	for ns := range wantLevels {
		n := proposals[ns]
		t.Run(ns, func(t *testing.T) { provePSSLabels(t, cfg, n) })
	}
}

// provePSSLabels applies a namespace's proposed labels and checks them
// against the API server's own Pod Security Admission.
func provePSSLabels(t *testing.T, cfg *rest.Config, n policy.NamespaceLabels) {
	ctx := context.Background()
	nsRes := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	patch := func(labels map[string]string, dryRun bool) []string {
		t.Helper()
		dyn, w := warned(t, cfg)
		body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
		opts := metav1.PatchOptions{}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := dyn.Resource(nsRes).Patch(ctx, n.Namespace, types.MergePatchType, body, opts); err != nil {
			t.Fatalf("labelling %s: %v", n.Namespace, err)
		}
		// A namespace label change draws no warning but Pod Security
		// Admission's.
		return w.get(false)
	}

	// 1. The proposal: the API server names no existing pod as violating it.
	if got := patch(n.Labels, false); len(got) > 0 {
		t.Errorf("applying the proposed labels %v: the API server warns %q", n.Labels, got)
	}

	// 2. Every workload (pods and controllers' templates) is still admitted
	// under the labels; those and only those the proposal names as blockers
	// draw the warn level's warning, with the reasons it gives.
	blockers := map[string]policy.Blocker{}
	for _, b := range n.Blockers {
		blockers[b.Object.Kind+"/"+b.Object.Name] = b
	}
	next := policy.Stricter(n.Enforce) + ":" + n.Version
	for _, k := range []struct{ group, kind string }{{"", "Pod"}, {"apps", "Deployment"}, {"apps", "ReplicaSet"}, {"apps", "DaemonSet"}} {
		gvr := resourceOf(t, k.group, k.kind)
		dyn, _ := warned(t, cfg)
		list, err := dyn.Resource(gvr).Namespace(n.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			b, blocked := blockers[k.kind+"/"+item.GetName()]
			copyOf := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": item.GetAPIVersion(), "kind": item.GetKind(),
				"metadata": map[string]any{"name": item.GetName() + "-copy", "namespace": n.Namespace, "labels": item.GetLabels()},
				"spec":     item.Object["spec"],
			}}
			dynW, w := warned(t, cfg)
			if _, err := dynW.Resource(gvr).Namespace(n.Namespace).Create(ctx, copyOf, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s/%s would be rejected under the proposed labels: %v", k.kind, item.GetName(), err)
				continue
			}
			var want []string
			if blocked {
				want = []string{fmt.Sprintf("would violate PodSecurity %q: %s", next, detail(b))}
			}
			if got := w.get(true); !slices.Equal(got, want) {
				t.Errorf("%s/%s: warnings %q, want %q", k.kind, item.GetName(), got, want)
			}
			delete(blockers, k.kind+"/"+item.GetName())
		}
	}
	for name := range blockers {
		t.Errorf("blocker %s is not in the cluster", name)
	}

	// 3. The next stricter level would reject exactly the pods named, for
	// the reasons given: the API server's warnings on a dry-run label
	// change list the existing pods that would violate it, grouped by
	// identical reasons under the first name and a count.
	if n.Enforce == policy.Restricted {
		return
	}
	type group struct {
		first string
		count int
	}
	groups := map[string]*group{}
	for _, b := range n.Blockers {
		if b.Object.Kind != "Pod" {
			continue
		}
		g := groups[b.Reasons()]
		if g == nil {
			g = &group{first: b.Object.Name}
			groups[b.Reasons()] = g
		}
		g.count++
		g.first = min(g.first, b.Object.Name)
	}
	var want []string
	for reasons, g := range groups {
		switch g.count {
		case 1:
			want = append(want, fmt.Sprintf("%s: %s", g.first, reasons))
		case 2:
			want = append(want, fmt.Sprintf("%s (and 1 other pod): %s", g.first, reasons))
		default:
			want = append(want, fmt.Sprintf("%s (and %d other pods): %s", g.first, g.count-1, reasons))
		}
	}
	if len(want) > 0 {
		want = append(want, fmt.Sprintf("existing pods in namespace %q violate the new PodSecurity enforce level %q", n.Namespace, next))
	}
	sort.Strings(want)
	stricter := map[string]string{
		policy.LabelPrefix + policy.Enforce:              policy.Stricter(n.Enforce),
		policy.LabelPrefix + policy.Enforce + "-version": n.Version,
	}
	var got []string
	// The API server sees pods through its informer: allow it to catch up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got = patch(stricter, true); slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Errorf("dry-run enforce %s: the API server warns\n  %s\nthe blockers reported give\n  %s", next, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if len(want) == 0 {
		t.Errorf("no pod blocks %s: the test should have one", next)
	}
}

// detail is a blocker's failures as the API server's warn-level warning
// gives them: reason (detail), joined by commas.
func detail(b policy.Blocker) string {
	parts := make([]string, len(b.Failures))
	for i, f := range b.Failures {
		parts[i] = f.Reason
		if f.Detail != "" {
			parts[i] += " (" + f.Detail + ")"
		}
	}
	return strings.Join(parts, ", ")
}
