package differential_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/inventory/defaults"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/policy"
)

// vapNS is the prefix of the namespaces of the test, one per check, each
// bound by its label to that check's policy alone.
const vapNS = "kh-vap-"

const vapLabel = "kubeharden.io/vap-check"

// vapBreakers make a compliant pod break exactly one check each: the
// known-bad objects that tell when a policy has taken effect.
var vapBreakers = map[string]func(spec map[string]any, c map[string]any){
	"privileged-container": func(_, c map[string]any) {
		sc(c)["privileged"] = true
		sc(c)["allowPrivilegeEscalation"] = true // the API server refuses privileged with false
	},
	"host-pid":     func(s, _ map[string]any) { s["hostPID"] = true },
	"host-ipc":     func(s, _ map[string]any) { s["hostIPC"] = true },
	"host-network": func(s, _ map[string]any) { s["hostNetwork"] = true },
	"host-path-volume": func(s, _ map[string]any) {
		s["volumes"] = []any{map[string]any{"name": "h", "hostPath": map[string]any{"path": "/etc"}}}
	},
	"privilege-escalation-allowed": func(_, c map[string]any) { sc(c)["allowPrivilegeEscalation"] = true },
	"run-as-root":                  func(_, c map[string]any) { sc(c)["runAsUser"] = int64(0) },
	"capabilities-not-dropped":     func(_, c map[string]any) { delete(sc(c), "capabilities") },
	"dangerous-capabilities-added": func(_, c map[string]any) {
		sc(c)["capabilities"] = map[string]any{"drop": []any{"ALL"}, "add": []any{"SYS_ADMIN"}}
	},
	"host-port": func(_, c map[string]any) {
		c["ports"] = []any{map[string]any{"containerPort": int64(8080), "hostPort": int64(8080)}}
	},
	"proc-mount-unmasked": func(s, c map[string]any) {
		s["hostUsers"] = false // the API server refuses Unmasked in the node's user namespace
		sc(c)["procMount"] = "Unmasked"
	},
	"windows-host-process": func(s, c map[string]any) {
		// The API server wants HostProcess pods on Windows with the host's
		// network, and refuses Linux-only settings on them.
		s["os"] = map[string]any{"name": "windows"}
		s["hostNetwork"] = true
		delete(sc(c), "allowPrivilegeEscalation")
		delete(sc(c), "capabilities")
		delete(sc(c), "readOnlyRootFilesystem")
		delete(sc(c), "seccompProfile")
		sc(c)["windowsOptions"] = map[string]any{"hostProcess": true}
	},
	"writable-root-filesystem":    func(_, c map[string]any) { delete(sc(c), "readOnlyRootFilesystem") },
	"run-as-root-group":           func(_, c map[string]any) { sc(c)["runAsGroup"] = int64(0) },
	"seccomp-not-runtime-default": func(_, c map[string]any) { sc(c)["seccompProfile"] = map[string]any{"type": "Unconfined"} },
	"selinux-custom-options":      func(_, c map[string]any) { sc(c)["seLinuxOptions"] = map[string]any{"type": "spc_t"} },
	"apparmor-unconfined":         func(_, c map[string]any) { sc(c)["appArmorProfile"] = map[string]any{"type": "Unconfined"} },
	"unsafe-sysctls": func(s, _ map[string]any) {
		s["securityContext"] = map[string]any{"sysctls": []any{map[string]any{"name": "kernel.msgmax", "value": "65536"}}}
	},
}

func sc(c map[string]any) map[string]any { return c["securityContext"].(map[string]any) }

// compliantPod passes every check with a CEL form.
func compliantPod(name, ns string) map[string]any {
	c := map[string]any{"name": "app", "image": "registry.example/app:1", "securityContext": map[string]any{
		"allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
		"readOnlyRootFilesystem": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"containers": []any{c}}}
}

// TestVAP applies the generated ValidatingAdmissionPolicies (Deny) to the
// test cluster, each bound to a labelled namespace of its own, and creates
// in each (server-side dry run) every pod-bearing object of the fixtures of
// the checks they cover: the API server must reject exactly the objects on
// which the check reports a finding, with the message of one of them.
func TestVAP(t *testing.T) {
	start := time.Now()
	root := repoRoot(t)
	all := checks.All()
	var policies []policy.VAP
	var covered []*check.Check
	for _, c := range all {
		ps, _, err := policy.VAPs([]*check.Check{c}, policy.VAPOptions{NamespaceLabels: map[string]string{vapLabel: c.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			continue
		}
		policies = append(policies, ps[0])
		covered = append(covered, c)
		if vapBreakers[c.ID] == nil {
			t.Fatalf("%s: no known-bad pod to wait for its policy with", c.ID)
		}
	}
	var objs []*object
	for _, c := range covered {
		files, _ := filepath.Glob(filepath.Join(root, "checks", "*", "testdata", c.ID, "*", "*.yaml"))
		for _, f := range files {
			if d := filepath.Base(filepath.Dir(f)); d != "pass" && d != "fail" {
				continue
			}
			for _, o := range loadFile(t, f, rel(t, root, f), "") {
				if o.typ != nil && o.typ.PodBearing {
					objs = append(objs, o)
				}
			}
		}
	}
	if t.Failed() {
		return
	}

	c := testcluster.Shared(t)
	cfg := c.AdminConfig()
	cfg.QPS, cfg.Burst = 5000, 5000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	engines := map[string]*engine.Engine{}
	for _, c := range covered {
		eng, err := engine.New(engine.Options{Checks: []*check.Check{c}, Now: func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		engines[c.ID] = eng
	}
	h := &harness{t: t, dyn: dyn}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	vapSetup(ctx, t, dyn, objs, policies)
	if t.Failed() {
		return
	}
	applied := time.Now()
	vapWait(ctx, t, h, policies)
	if t.Failed() {
		return
	}
	effective := time.Now()

	type pair struct {
		o *object
		c *check.Check
	}
	var pairs []pair
	for _, o := range objs {
		if r := o.exception(); r != "" {
			t.Logf("%s: not sent to the API server: %s", o.id, r)
			continue
		}
		for _, c := range covered {
			pairs = append(pairs, pair{o, c})
		}
	}
	var compared, rejected, ephemeral atomic.Int64
	parallel(32, pairs, func(p pair) {
		o, id := p.o, p.c.ID
		want := vapFindings(t, engines[id], o.manifest)
		if eph, _, _ := unstructured.NestedSlice(o.raw, "spec", "ephemeralContainers"); len(eph) > 0 && o.typ == kinds.Pod {
			ephemeral.Add(1)
		}
		_, err := h.create(ctx, o.typ, o.raw, vapNS+id)
		compared.Add(1)
		switch {
		case err == nil && len(want) > 0:
			t.Errorf("%s: %s admits it, but the check reports %q", o.id, id, want)
		case err == nil:
		case !strings.Contains(err.Error(), "ValidatingAdmissionPolicy"):
			t.Errorf("%s: the API server rejects it, not a policy: %v", o.id, err)
		case len(want) == 0:
			t.Errorf("%s: %s rejects it, but the check reports nothing: %v", o.id, id, err)
		default:
			rejected.Add(1)
			if !slices.ContainsFunc(want, func(w string) bool { return strings.Contains(err.Error(), "denied request: "+w) }) {
				t.Errorf("%s: rejected with %q, but the check reports %q", o.id, err.Error(), want)
			}
		}
	})
	t.Logf("%d policies, %d objects: %d decisions compared (%d rejections, %d admissions; %d through pods/ephemeralcontainers); cluster and setup %v, policies effective after %v, comparisons %v",
		len(policies), len(objs), compared.Load(), rejected.Load(), compared.Load()-rejected.Load(), ephemeral.Load(),
		applied.Sub(start).Round(time.Millisecond), effective.Sub(applied).Round(time.Millisecond), time.Since(effective).Round(time.Millisecond))
}

// vapFindings returns "check-id: message" for every finding of the covered
// checks on the object, as written and as the API server stores it (no
// empty lists: the messages of some checks tell the two apart).
func vapFindings(t *testing.T, eng *engine.Engine, o *inventory.Object) []string {
	var out []string
	add := func(o *inventory.Object) {
		run := eng.NewRun(engine.RunOptions{Complete: true})
		run.Object(o)
		for _, f := range run.Report().Findings {
			out = append(out, f.Check.ID+": "+f.Message)
		}
	}
	add(o)
	if len(out) == 0 {
		return nil
	}
	stored := *o
	defaults.Apply(&stored)
	data, err := json.Marshal(stored.Typed)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decode(data, "stored:"+o.Ref.String()); err == nil && len(got) == 1 {
		add(got[0])
	}
	return out
}

func vapSetup(ctx context.Context, t *testing.T, dyn dynamic.Interface, objs []*object, policies []policy.VAP) {
	accounts := map[string]bool{"default": true}
	for _, o := range objs {
		if p := o.manifest.Pod(); p != nil {
			for _, sa := range []string{p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount} {
				if sa != "" {
					accounts[sa] = true
				}
			}
		}
	}
	for _, p := range policies {
		name := vapNS + p.Check.ID
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
		ns.SetLabels(map[string]string{vapLabel: p.Check.ID})
		if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", name, err)
		}
		for sa := range accounts {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": sa, "namespace": name}}}
			if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}).Namespace(name).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("creating service account %s/%s: %v", name, sa, err)
			}
		}
	}
	gv := admissionv1.SchemeGroupVersion
	for _, p := range policies {
		for _, x := range []struct {
			obj      any
			resource string
		}{{p.Policy, "validatingadmissionpolicies"}, {p.Binding, "validatingadmissionpolicybindings"}} {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(x.obj)
			if err != nil {
				t.Fatal(err)
			}
			res := dyn.Resource(gv.WithResource(x.resource))
			u := &unstructured.Unstructured{Object: m}
			if _, err := res.Create(ctx, u, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}); err != nil {
				t.Errorf("applying %s %s: %v", x.resource, u.GetName(), err)
				continue
			}
			t.Cleanup(func() { _ = res.Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}) })
		}
	}
}

// vapWait waits until every policy rejects its known-bad pod, and checks
// that it admits the compliant one.
func vapWait(ctx context.Context, t *testing.T, h *harness, policies []policy.VAP) {
	for _, p := range policies {
		ns := vapNS + p.Check.ID
		pod := compliantPod("bad", ns)
		spec := pod["spec"].(map[string]any)
		vapBreakers[p.Check.ID](spec, spec["containers"].([]any)[0].(map[string]any))
		for {
			_, err := h.create(ctx, kinds.Pod, pod, ns)
			if err != nil && strings.Contains(err.Error(), "denied request: "+p.Check.ID+": ") {
				break
			}
			if err != nil && !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
				t.Errorf("%s: its known-bad pod: %v", p.Check.ID, err)
				return
			}
			select {
			case <-ctx.Done():
				t.Errorf("%s: the policy did not take effect: %v", p.Check.ID, err)
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		if _, err := h.create(ctx, kinds.Pod, compliantPod("good", ns), ns); err != nil {
			t.Errorf("%s: the compliant pod is rejected: %v", p.Check.ID, err)
		}
	}
}
