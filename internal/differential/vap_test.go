package differential_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	"k8s.io/client-go/rest"

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
// known-bad objects that tell when a policy has taken effect. Checks of
// other kinds than pods have a known-bad object in vapBadObjects instead.
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
	"image-not-pinned":          func(_, c map[string]any) { c["image"] = "registry.example/app:1" },
	"image-tag-latest":          func(_, c map[string]any) { c["image"] = "registry.example/app" },
	"missing-liveness-probe":    func(_, c map[string]any) { delete(c, "livenessProbe") },
	"missing-readiness-probe":   func(_, c map[string]any) { delete(c, "readinessProbe") },
	"missing-resource-limits":   func(_, c map[string]any) { delete(c["resources"].(map[string]any), "limits") },
	"missing-resource-requests": func(_, c map[string]any) { delete(c, "resources") },
	"default-service-account":   func(s, _ map[string]any) { delete(s, "serviceAccountName") },
	"secret-env-reference": func(_, c map[string]any) {
		c["envFrom"] = []any{map[string]any{"secretRef": map[string]any{"name": "s"}}}
	},
	"workload-in-default-namespace": func(map[string]any, map[string]any) {}, // created in default
}

// vapBadObjects are the known-bad objects of the checks of other kinds
// than pods.
var vapBadObjects = map[string]func() map[string]any{
	"service-external-ips": func() map[string]any {
		return service(map[string]any{"externalIPs": []any{"192.0.2.10"}})
	},
	"service-nodeport": func() map[string]any { return service(map[string]any{"type": "NodePort"}) },
	"ingress-cors-wildcard": func() map[string]any {
		return ingress(map[string]any{"nginx.ingress.kubernetes.io/enable-cors": "true"}, true)
	},
	"ingress-nginx-snippet": func() map[string]any {
		return ingress(map[string]any{"nginx.ingress.kubernetes.io/server-snippet": "return 200;"}, true)
	},
	"ingress-without-tls": func() map[string]any { return ingress(nil, false) },
	"netpol-allow-all": func() map[string]any {
		return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]any{"name": "bad"},
			"spec": map[string]any{"podSelector": map[string]any{}, "ingress": []any{map[string]any{}}}}
	},
	"cluster-admin-binding":       func() map[string]any { return roleBinding("ClusterRole", "cluster-admin", "User", "alice") },
	"rbac-anonymous-binding":      func() map[string]any { return roleBinding("ClusterRole", "view", "Group", "system:unauthenticated") },
	"rbac-default-sa-binding":     func() map[string]any { return roleBinding("ClusterRole", "view", "ServiceAccount", "default") },
	"rbac-system-masters-binding": func() map[string]any { return roleBinding("ClusterRole", "view", "Group", "system:masters") },
	"rbac-csr-approval": func() map[string]any {
		return clusterRole("certificates.k8s.io", "certificatesigningrequests/approval", "update")
	},
	"rbac-escalation-verbs": func() map[string]any { return clusterRole("rbac.authorization.k8s.io", "roles", "bind") },
	"rbac-exec-attach":      func() map[string]any { return clusterRole("", "pods/exec", "create") },
	"rbac-node-proxy":       func() map[string]any { return clusterRole("", "nodes/proxy", "get") },
	"rbac-pod-create":       func() map[string]any { return clusterRole("", "pods", "create") },
	"rbac-pv-create":        func() map[string]any { return clusterRole("", "persistentvolumes", "create") },
	"rbac-secrets-access":   func() map[string]any { return clusterRole("", "secrets", "get") },
	"rbac-token-create":     func() map[string]any { return clusterRole("", "serviceaccounts/token", "create") },
	"rbac-webhook-config": func() map[string]any {
		return clusterRole("admissionregistration.k8s.io", "validatingwebhookconfigurations", "create")
	},
	"rbac-wildcard": func() map[string]any { return clusterRole("", "configmaps", "*") },
	"namespace-without-pss-enforce": func() map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "kh-vap-bad"}}
	},
	"rbac-workload-update": func() map[string]any { return clusterRole("apps", "deployments", "patch") },
}

func service(spec map[string]any) map[string]any {
	spec["ports"] = []any{map[string]any{"port": int64(80)}}
	return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "bad"}, "spec": spec}
}

func ingress(annotations map[string]any, tls bool) map[string]any {
	spec := map[string]any{"rules": []any{map[string]any{"host": "a.example"}}}
	if tls {
		spec["tls"] = []any{map[string]any{"hosts": []any{"a.example"}, "secretName": "tls"}}
	}
	return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "bad", "annotations": annotations}, "spec": spec}
}

func roleBinding(roleKind, role, subjectKind, subject string) map[string]any {
	s := map[string]any{"kind": subjectKind, "name": subject}
	if subjectKind != "ServiceAccount" {
		s["apiGroup"] = "rbac.authorization.k8s.io"
	}
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": map[string]any{"name": "bad"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": roleKind, "name": role},
		"subjects": []any{s}}
}

func clusterRole(group, resource, verb string) map[string]any {
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "kh-vap-bad"},
		"rules": []any{map[string]any{"apiGroups": []any{group}, "resources": []any{resource}, "verbs": []any{verb}}}}
}

func sc(c map[string]any) map[string]any { return c["securityContext"].(map[string]any) }

// compliantPod passes every check with a CEL form.
func compliantPod(name, ns string) map[string]any {
	probe := map[string]any{"tcpSocket": map[string]any{"port": int64(8080)}}
	quantities := map[string]any{"cpu": "100m", "memory": "64Mi"}
	c := map[string]any{"name": "app", "image": "registry.example/app:1@sha256:" + strings.Repeat("0123456789abcdef", 4),
		"livenessProbe": probe, "readinessProbe": probe, "resources": map[string]any{"requests": quantities, "limits": quantities},
		"securityContext": map[string]any{
			"allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
			"readOnlyRootFilesystem": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"serviceAccountName": "app", "containers": []any{c}}}
}

// TestVAP applies the generated ValidatingAdmissionPolicies (Deny) to the
// test cluster, each bound by an object selector to the objects labelled
// with its check, and creates (server-side dry run) every object of the
// fixtures of the checks they cover that is of a kind the policy matches,
// labelled for that policy, namespaced objects in a namespace of the
// check's own: the API server must reject exactly the objects on which the
// check reports a finding, with the message of one of them, and with as
// many problems as the check reports.
func TestVAP(t *testing.T) {
	start := time.Now()
	root := repoRoot(t)
	all := checks.All()
	var policies []policy.VAP
	var covered []*check.Check
	for _, c := range all {
		ps, _, err := policy.VAPs([]*check.Check{c}, policy.VAPOptions{Exceptions: vapExceptions, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			continue
		}
		ps[0].Binding.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{vapLabel: c.ID}}
		policies = append(policies, ps[0])
		covered = append(covered, c)
		if vapBreakers[c.ID] == nil && vapBadObjects[c.ID] == nil {
			t.Fatalf("%s: no known-bad object to wait for its policy with", c.ID)
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
				if o.typ != nil && !o.typ.Synthetic {
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
	cfg.WarningHandlerWithContext = rest.NoWarnings{}
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
		o    *object
		c    *check.Check
		want [][]string // for pod-bearing objects
	}
	var pairs []pair
	for _, o := range objs {
		if r := o.exception(); r != "" {
			t.Logf("%s: not sent to the API server: %s", o.id, r)
			continue
		}
		for _, c := range covered {
			if !slices.Contains(c.Kinds, o.typ) {
				continue
			}
			p := pair{o: o, c: c}
			// The pod checks read neither the labels nor (but for
			// workload-in-default-namespace, sent to default exactly when
			// the manifest names it) the namespace: the manifest, scanned
			// here once (the engine defaults it in place), will do.
			if fs := vapScan(engines[c.ID], o.manifest); o.typ.PodBearing && len(fs) > 0 {
				p.want = [][]string{fs}
			}
			pairs = append(pairs, p)
		}
	}
	var compared, rejected, ephemeral, serverView atomic.Int64
	var mu sync.Mutex
	byServer := map[string]int{} // per check, the messages of the object as stored
	perCheck := map[string]int{} // decisions per check
	parallel(32, pairs, func(p pair) {
		o, id := p.o, p.c.ID
		raw, ns := vapSent(o, id)
		want := p.want
		if !o.typ.PodBearing {
			want = vapFindings(t, engines[id], raw, false)
		}
		if eph, _, _ := unstructured.NestedSlice(o.raw, "spec", "ephemeralContainers"); len(eph) > 0 && o.typ == kinds.Pod {
			ephemeral.Add(1)
		}
		_, err := h.create(ctx, o.typ, raw, ns)
		compared.Add(1)
		mu.Lock()
		perCheck[id]++
		mu.Unlock()
		if apierrors.IsAlreadyExists(err) {
			err = nil // admitted; a cluster object of that name exists (a built-in ClusterRole)
		}
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
			msg, n := vapDenial(err.Error())
			if vapMatches(want, msg, n) {
				return
			}
			// The object as the API server defaults it, and, for a Pod with
			// ephemeral containers, the Pod created without them first.
			if vapMatches(vapFindings(t, engines[id], raw, true), msg, n) {
				return
			}
			// The API server judges the object after its admission
			// plugins and allocators changed it (the ServiceAccount plugin
			// names "default" in a Pod, node ports are allocated): the
			// messages may be those of the object it stores.
			serverView.Add(1)
			mu.Lock()
			byServer[id]++
			mu.Unlock()
			stored := vapStored(ctx, t, h, o, raw, ns)
			if stored != nil && vapMatches(vapFindings(t, engines[id], stored, false), msg, n) {
				return
			}
			if stored != nil && id == "service-nodeport" && vapMatches(vapFindings(t, engines[id], stored, false), msg, n, allocatedPorts) {
				return // allocated again by the second dry run: other numbers
			}
			t.Errorf("%s: rejected with %q (%d problems), but the check reports %q", o.id, msg, n, want)
		}
	})
	t.Logf("%d policies, %d objects: %d decisions compared (%d rejections, %d admissions; %d through pods/ephemeralcontainers; %d messages compared with the object as the API server stores it); cluster and setup %v, policies effective after %v, comparisons %v",
		len(policies), len(objs), compared.Load(), rejected.Load(), compared.Load()-rejected.Load(), ephemeral.Load(), serverView.Load(),
		applied.Sub(start).Round(time.Millisecond), effective.Sub(applied).Round(time.Millisecond), time.Since(effective).Round(time.Millisecond))
	vapLarge(ctx, t, h, policies, engines)
	t.Logf("decisions per check: %v", perCheck)
	t.Logf("messages of the object as stored, per check: %v", byServer)
}

// vapExceptions are exceptions of the configuration file the policies
// carry as matchConditions: objects named kh-exempt-* are admitted
// whatever they hold (vapWait checks it), and an expired exception is left
// out.
var vapExceptions = []*engine.Exception{
	{Checks: []string{"*"}, Name: "kh-exempt-*", Reason: "test"},
	{Checks: []string{"*"}, Name: "bad", Reason: "expired", Expires: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
}

// vapSent returns the object as sent to the policy of check id, labelled
// for it, and its namespace: the check's own, or default for a workload
// placed there (workload-in-default-namespace).
func vapSent(o *object, id string) (map[string]any, string) {
	raw := runtime.DeepCopyJSON(o.raw)
	u := unstructured.Unstructured{Object: raw}
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[vapLabel] = id
	u.SetLabels(labels)
	ns := ""
	if o.typ.Namespaced {
		ns = vapNS + id
		if id == "workload-in-default-namespace" && o.manifest.Namespace == "default" {
			ns = "default"
		}
		u.SetNamespace(ns)
	}
	return raw, ns
}

// vapStored returns the object as the API server stores it when no policy
// judges it (dry run, without the label), or nil.
func vapStored(ctx context.Context, t *testing.T, h *harness, o *object, raw map[string]any, ns string) map[string]any {
	u := unstructured.Unstructured{Object: runtime.DeepCopyJSON(raw)}
	labels := u.GetLabels()
	delete(labels, vapLabel)
	u.SetLabels(labels)
	got, err := h.create(ctx, o.typ, u.Object, ns)
	if err != nil {
		t.Logf("%s: the object as stored: %v", o.id, err)
		return nil
	}
	return got.Object
}

// vapDenial returns the message of a policy's denial and the number of
// problems it counts.
func vapDenial(err string) (string, int) {
	_, msg, _ := strings.Cut(err, "denied request: ")
	if m := moreProblems.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return strings.TrimSuffix(msg, m[0]), n + 1
	}
	return msg, 1
}

var moreProblems = regexp.MustCompile(` \(and (\d+) more\)$`)

// allocatedPorts stands for the node ports the API server allocates.
var allocatedPorts = regexp.MustCompile(`\b3\d{4}\b`)

// vapMatches reports whether a denial's message is the message of one
// finding of a list of them (the findings of the object in one form) and
// counts as many problems as the list holds (the pod checks that report
// several problems of one container as one are exempt from the count),
// with what the patterns match, if any, left out.
func vapMatches(variants [][]string, msg string, n int, ignore ...*regexp.Regexp) bool {
	norm := func(s string) string {
		for _, re := range ignore {
			s = re.ReplaceAllString(s, "N")
		}
		return s
	}
	id, _, _ := strings.Cut(msg, ": ")
	for _, want := range variants {
		if slices.ContainsFunc(want, func(w string) bool { return norm(w) == norm(msg) }) &&
			(n == len(want) || id == "dangerous-capabilities-added" || id == "host-port") {
			return true
		}
	}
	return false
}

// vapFindings returns the findings ("check-id: message") of the check on
// the object as sent or, with variants, on the object as the API server
// defaults it (no empty lists: the messages of some checks tell the two
// apart) and, for a Pod with ephemeral containers, on the Pod without
// them, which is created first.
func vapFindings(t *testing.T, eng *engine.Engine, raw map[string]any, variants bool) [][]string {
	findings := func(raw any) []string {
		data, err := json.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(data, "sent.json")
		if err != nil || len(got) != 1 {
			t.Errorf("decoding the object sent: %v", err)
			return nil
		}
		o := got[0]
		if variants {
			// As stored: defaulted, without empty lists.
			defaults.Apply(o)
			data, err := json.Marshal(o.Typed)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = decode(data, "stored.json"); err != nil || len(got) != 1 {
				t.Errorf("decoding the object as stored: %v", err)
				return nil
			}
			o = got[0]
		}
		return vapScan(eng, o)
	}
	sent := findings(raw)
	if len(sent) == 0 {
		return nil
	}
	if !variants {
		return [][]string{sent}
	}
	out := [][]string{sent}
	if eph, _, _ := unstructured.NestedSlice(raw, "spec", "ephemeralContainers"); len(eph) > 0 {
		base := runtime.DeepCopyJSON(raw)
		unstructured.RemoveNestedField(base, "spec", "ephemeralContainers")
		out = append(out, findings(base))
	}
	return out
}

// vapScan returns the findings of the engine's check on o.
func vapScan(eng *engine.Engine, o *inventory.Object) []string {
	run := eng.NewRun(engine.RunOptions{Complete: true})
	run.Object(o)
	var fs []string
	for _, f := range run.Report().Findings {
		fs = append(fs, f.Check.ID+": "+f.Message)
	}
	return fs
}

// vapSetup creates the namespace of each check, with the service
// accounts the pods name, and applies the policies and bindings.
func vapSetup(ctx context.Context, t *testing.T, dyn dynamic.Interface, objs []*object, policies []policy.VAP) {
	accounts := map[string]bool{"default": true, "app": true}
	for _, o := range objs {
		if p := o.manifest.Pod(); p != nil {
			for _, sa := range []string{p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount} {
				if sa != "" {
					accounts[sa] = true
				}
			}
		}
	}
	namespaces := []string{"default"}
	for _, p := range policies {
		name := vapNS + p.Check.ID
		namespaces = append(namespaces, name)
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
		if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", name, err)
		}
	}
	parallel(16, namespaces, func(ns string) {
		for sa := range accounts {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": sa, "namespace": ns}}}
			if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("creating service account %s/%s: %v", ns, sa, err)
			}
		}
	})
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

// vapWait waits until every policy rejects its known-bad object, and
// checks that the pod policies admit the compliant pod.
func vapWait(ctx context.Context, t *testing.T, h *harness, policies []policy.VAP) {
	parallel(8, policies, func(p policy.VAP) {
		id := p.Check.ID
		ns := vapNS + id
		var bad map[string]any
		typ := kinds.Pod
		if f := vapBadObjects[id]; f != nil {
			bad = f()
			u := unstructured.Unstructured{Object: bad}
			typ = kinds.Lookup(u.GroupVersionKind().Group, u.GetKind())
		} else {
			if id == "workload-in-default-namespace" {
				ns = "default"
			}
			bad = compliantPod("bad", ns)
			spec := bad["spec"].(map[string]any)
			vapBreakers[id](spec, spec["containers"].([]any)[0].(map[string]any))
		}
		u := unstructured.Unstructured{Object: bad}
		u.SetLabels(map[string]string{vapLabel: id})
		if !typ.Namespaced {
			ns = ""
		}
		for {
			_, err := h.create(ctx, typ, bad, ns)
			if err != nil && strings.Contains(err.Error(), "denied request: "+id+": ") {
				break
			}
			if err != nil && !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
				t.Errorf("%s: its known-bad object: %v", id, err)
				return
			}
			select {
			case <-ctx.Done():
				t.Errorf("%s: the policy did not take effect: %v", id, err)
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		exempt := unstructured.Unstructured{Object: runtime.DeepCopyJSON(bad)}
		exempt.SetName("kh-exempt-bad")
		if _, err := h.create(ctx, typ, exempt.Object, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("%s: the known-bad object, excepted by name, is rejected: %v", id, err)
		}
		if vapBreakers[id] != nil {
			good := compliantPod("good", vapNS+id)
			(&unstructured.Unstructured{Object: good}).SetLabels(map[string]string{vapLabel: id})
			if _, err := h.create(ctx, kinds.Pod, good, vapNS+id); err != nil {
				t.Errorf("%s: the compliant pod is rejected: %v", id, err)
			}
		}
	})
}

// vapLarge sends every policy a large object of its kind that fails its
// check many times over (a Deployment of 20 containers with 20 Secret
// references, capabilities and host ports each, a ClusterRole of 50 rules
// of 20 groups, resources and verbs, a RoleBinding of 200 subjects, a
// NetworkPolicy of 40 rules of 20 peers, an Ingress of 100 rules, a
// Service of 100 ports): the API server must reject each with the check's
// message and count, within its CEL cost limits (or admit it when the
// check reports nothing).
func vapLarge(ctx context.Context, t *testing.T, h *harness, policies []policy.VAP, engines map[string]*engine.Engine) {
	list := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	containers := list(20, func(i int) any {
		return map[string]any{"name": fmt.Sprintf("c%d", i), "image": "registry.example/" + strings.Repeat("team/", 20) + "app",
			"env": list(20, func(j int) any {
				return map[string]any{"name": fmt.Sprintf("E%d", j), "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "s", "key": "k"}}}
			}),
			"envFrom": list(20, func(int) any { return map[string]any{"secretRef": map[string]any{"name": "s"}, "prefix": "P_"} }),
			"ports": list(20, func(j int) any {
				return map[string]any{"containerPort": int64(1000*i + j + 1), "hostPort": int64(1000*i + j + 1)}
			}),
			"securityContext": map[string]any{"capabilities": map[string]any{"add": list(20, func(j int) any { return fmt.Sprintf("X%d", j) })}}}
	})
	labels := map[string]any{"app": "large"}
	words := func(prefix string) []any {
		return append([]any{"*"}, list(19, func(i int) any { return fmt.Sprintf("%s%d", prefix, i) })...)
	}
	objects := map[string]map[string]any{
		"Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "large"}, "spec": map[string]any{
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{"metadata": map[string]any{"labels": labels}, "spec": map[string]any{"containers": containers}}}},
		"ClusterRole": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "kh-vap-large"},
			"rules": list(50, func(int) any {
				return map[string]any{"apiGroups": words("g"), "resources": append(words("r"), "pods/exec", "*/proxy"), "verbs": words("v")}
			})},
		"RoleBinding": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": map[string]any{"name": "large"},
			"roleRef": map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
			"subjects": list(200, func(i int) any {
				switch i % 4 {
				case 0:
					return map[string]any{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}
				case 1:
					return map[string]any{"kind": "User", "name": "system:anonymous", "apiGroup": "rbac.authorization.k8s.io"}
				case 2:
					return map[string]any{"kind": "ServiceAccount", "name": "default"}
				}
				return map[string]any{"kind": "User", "name": "system:serviceaccount:team:default", "apiGroup": "rbac.authorization.k8s.io"}
			})},
		"NetworkPolicy": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]any{"name": "large"}, "spec": map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"},
			"ingress": list(20, func(int) any {
				return map[string]any{"from": list(20, func(int) any { return map[string]any{"namespaceSelector": map[string]any{}} })}
			}),
			"egress": list(20, func(int) any {
				return map[string]any{"to": list(20, func(int) any { return map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}} })}
			})}},
		"Ingress": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": map[string]any{"name": "large", "annotations": map[string]any{
			"nginx.ingress.kubernetes.io/enable-cors": "true", "nginx.ingress.kubernetes.io/cors-allow-origin": strings.Repeat("https://a.example, ", 100) + "*",
			"nginx.ingress.kubernetes.io/server-snippet": strings.Repeat("x", 4000)}}, "spec": map[string]any{
			"rules": list(100, func(i int) any { return map[string]any{"host": fmt.Sprintf("h%d.a.example", i)} }),
			"tls": list(20, func(i int) any {
				return map[string]any{"hosts": list(5, func(j int) any { return fmt.Sprintf("*.x%d-%d.example", i, j) }), "secretName": "tls"}
			})}},
		"Service": {"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "large"}, "spec": map[string]any{"type": "NodePort",
			"externalIPs": list(100, func(i int) any { return fmt.Sprintf("192.0.2.%d", i+1) }),
			"ports":       list(100, func(i int) any { return map[string]any{"name": fmt.Sprintf("p%d", i), "port": int64(80 + i)} })}},
		"Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "kh-vap-large"}},
	}
	var admitted atomic.Int64
	parallel(8, policies, func(p policy.VAP) {
		id := p.Check.ID
		var raw map[string]any
		var typ *kinds.Type
		for _, k := range p.Check.Kinds {
			if o := objects[k.Kind]; o != nil {
				raw, typ = runtime.DeepCopyJSON(o), k
				break
			}
		}
		if raw == nil {
			t.Errorf("%s: no large object of its kinds", id)
			return
		}
		u := unstructured.Unstructured{Object: raw}
		u.SetLabels(map[string]string{vapLabel: id})
		ns := ""
		if typ.Namespaced {
			ns = vapNS + id
			if id == "workload-in-default-namespace" {
				ns = "default"
			}
			u.SetNamespace(ns)
		}
		want := vapFindings(t, engines[id], raw, false)
		_, err := h.create(ctx, typ, raw, ns)
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
		switch {
		case err == nil && len(want) > 0:
			t.Errorf("%s: admits its large %s, but the check reports %q", id, typ.Kind, want)
		case err == nil:
			admitted.Add(1)
		case len(want) == 0:
			t.Errorf("%s: the check reports nothing on its large %s: %v", id, typ.Kind, err)
		default:
			msg, n := vapDenial(err.Error())
			if !vapMatches(want, msg, n) && !vapMatches(vapFindings(t, engines[id], raw, true), msg, n) &&
				!(id == "service-nodeport" || id == "default-service-account") {
				t.Errorf("%s: its large %s is rejected with %q (%d problems), but the check reports %d problems: %.300q", id, typ.Kind, msg, n, len(want[0]), want)
			}
		}
	})
	t.Logf("large objects: %d rejected with the check's message, %d admitted (their checks report nothing)", int64(len(policies))-admitted.Load(), admitted.Load())
}
