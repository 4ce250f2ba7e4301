package policy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/inventory/defaults"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/policy"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// celEnv approximates the Kubernetes CEL environment of admission
// policies (k8s.io/apiserver/pkg/cel/environment, v1.37): every input
// dyn, optionals, the strings, sets, lists and two-variable comprehension
// libraries. The Kubernetes-only libraries (quantity, regex find, IP,
// URL...) are not used by the policies.
func celEnv(t *testing.T) *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("request", cel.DynType),
		cel.Variable("params", cel.DynType),
		cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		cel.HomogeneousAggregateLiterals(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(ext.StringsVersion(2)),
		ext.Sets(),
		ext.TwoVarComprehensions(),
		ext.Lists(ext.ListsVersion(3)),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// maxCost bounds the runtime cost of one expression on one object; the
// API server's per-expression limit is 1,000,000.
const maxCost = 100_000

// compiled is a policy compiled with cel-go.
type compiled struct {
	vars     []string
	varProgs []cel.Program
	valid    cel.Program
	message  cel.Program
}

func compile(t *testing.T, env *cel.Env, p *admissionv1.ValidatingAdmissionPolicy) *compiled {
	t.Helper()
	prog := func(what, expr string) cel.Program {
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			t.Fatalf("%s %s: %v\n%s", p.Name, what, iss.Err(), expr)
		}
		prg, err := env.Program(ast, cel.CostTracking(nil), cel.CostLimit(1_000_000))
		if err != nil {
			t.Fatalf("%s %s: %v", p.Name, what, err)
		}
		return prg
	}
	c := &compiled{}
	for _, v := range p.Spec.Variables {
		c.vars = append(c.vars, v.Name)
		c.varProgs = append(c.varProgs, prog("variable "+v.Name, v.Expression))
	}
	if len(p.Spec.Validations) != 1 {
		t.Fatalf("%s: %d validations", p.Name, len(p.Spec.Validations))
	}
	c.valid = prog("validation", p.Spec.Validations[0].Expression)
	c.message = prog("messageExpression", p.Spec.Validations[0].MessageExpression)
	return c
}

// eval returns whether the policy admits obj and, if not, its message, and
// the highest cost of one expression.
func (c *compiled) eval(t *testing.T, kind string, obj map[string]any) (admitted bool, msg string, cost uint64, err error) {
	vars := map[string]any{}
	act := map[string]any{
		"object":    obj,
		"request":   map[string]any{"kind": map[string]any{"kind": kind}, "operation": "CREATE"},
		"variables": vars,
	}
	run := func(p cel.Program) (any, error) {
		out, det, err := p.Eval(act)
		if det != nil && det.ActualCost() != nil {
			cost = max(cost, *det.ActualCost())
		}
		if err != nil {
			return nil, err
		}
		return out.Value(), nil
	}
	for i, p := range c.varProgs {
		v, err := run(p)
		if err != nil {
			return false, "", cost, fmt.Errorf("variable %s: %w", c.vars[i], err)
		}
		vars[c.vars[i]] = v
	}
	ok, err := run(c.valid)
	if err != nil {
		return false, "", cost, err
	}
	if ok.(bool) {
		return true, "", cost, nil
	}
	m, err := run(c.message)
	if err != nil {
		return false, "", cost, err
	}
	return false, m.(string), cost, nil
}

// TestVAPAgreesOnFixtures compiles every generated expression and
// evaluates each policy on the objects of its check's fixtures of the
// kinds it matches (defaulted, as the API server admits them): it must
// reject exactly the objects the Go check reports, with one of the
// check's messages.
func TestVAPAgreesOnFixtures(t *testing.T) {
	policies, skipped, err := policy.VAPs(checks.All(), policy.VAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(policies)+len(skipped) != len(checks.All()) {
		t.Errorf("%d policies and %d skipped of %d checks", len(policies), len(skipped), len(checks.All()))
	}
	env := celEnv(t)
	var objects int
	var worst uint64
	for _, p := range policies {
		c := compile(t, env, p.Policy)
		eng, err := engine.New(engine.Options{Checks: []*check.Check{p.Check}, Now: func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join("..", "checks", "*", "testdata", p.Check.ID, "*", "*.yaml"))
		if len(files) == 0 {
			t.Errorf("%s: no fixtures", p.Check.ID)
		}
		for _, f := range files {
			for _, o := range decode(t, f) {
				typ := kinds.Of(o.Ref)
				if typ == nil || typ.Synthetic || !slices.Contains(p.Check.Kinds, typ) {
					continue
				}
				objects++
				id := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f) + "#" + o.Kind + "/" + o.Name
				run := eng.NewRun(engine.RunOptions{Complete: true})
				run.Object(o)
				var want []string
				for _, fd := range run.Report().Findings {
					want = append(want, fd.Message)
				}
				obj := decode(t, f)[slices.IndexFunc(decode(t, f), func(x *inventory.Object) bool { return x.Kind == o.Kind && x.Name == o.Name })]
				defaults.Apply(obj)
				m := asMap(t, obj.Typed)
				// The messages may also be those of the object as stored,
				// which has no empty lists.
				msgs := slices.Clone(want)
				stored := decodeJSON(t, m)
				run = eng.NewRun(engine.RunOptions{Complete: true})
				run.Object(stored)
				for _, fd := range run.Report().Findings {
					msgs = append(msgs, fd.Message)
				}
				admitted, msg, cost, err := c.eval(t, o.Kind, m)
				worst = max(worst, cost)
				switch {
				case err != nil:
					t.Errorf("%s %s: %v", p.Check.ID, id, err)
				case cost > maxCost:
					t.Errorf("%s %s: cost %d", p.Check.ID, id, cost)
				case admitted && len(want) > 0:
					t.Errorf("%s %s: the policy admits it, the check reports %q", p.Check.ID, id, want)
				case !admitted && len(want) == 0:
					t.Errorf("%s %s: the policy rejects it (%s), the check reports nothing", p.Check.ID, id, msg)
				case !admitted && !slices.ContainsFunc(msgs, func(w string) bool { return strings.HasPrefix(msg, p.Check.ID+": "+w) }):
					t.Errorf("%s %s: the policy says %q, the check %q", p.Check.ID, id, msg, want)
				}
			}
		}
	}
	t.Logf("%d policies, %d objects compared, highest cost of one expression %d", len(policies), objects, worst)
}

// TestVAPCostOfLargeObjects: objects at the edge of what is reasonable,
// failing every check of their kind in every way they can, stay far below
// the API server's per-expression cost limit: a pod of 60 containers (20
// capabilities each added and dropped, 20 host ports, 20 Secret
// references in env and envFrom, unpinned 200-character images), 20 host
// paths and 20 sysctls; a ClusterRole of 50 rules of 20 verbs, groups and
// resources each; bindings of 200 subjects; an Ingress of 100 rules and
// 100 tls entries; a NetworkPolicy of 50 rules each way with 20 peers; a
// Service of 100 ports and 100 external IPs. The heaviest (Secret references
// in env, NetworkPolicy peers, Role rules) build one message per problem
// and stay under a third of the limit.
func TestVAPCostOfLargeObjects(t *testing.T) {
	policies, _, err := policy.VAPs(checks.All(), policy.VAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objects := largeObjects()
	env := celEnv(t)
	for _, p := range policies {
		var kind string
		for _, k := range p.Check.Kinds {
			if objects[k.Kind] != nil {
				kind = k.Kind
				break
			}
		}
		if kind == "" {
			t.Errorf("%s: no large object of its kinds", p.Check.ID)
			continue
		}
		c := compile(t, env, p.Policy)
		admitted, _, cost, err := c.eval(t, kind, objects[kind])
		if err != nil || admitted {
			t.Errorf("%s: admitted %v, %v", p.Check.ID, admitted, err)
		}
		if cost > 1_000_000/3 {
			t.Errorf("%s: cost %d on a large %s", p.Check.ID, cost, kind)
		}
		t.Logf("%s: cost %d on a large %s", p.Check.ID, cost, kind)
	}
}

func largeObjects() map[string]map[string]any {
	list := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	caps := list(20, func(i int) any { return fmt.Sprintf("CAP_X%d", i) })
	ports := list(20, func(i int) any { return map[string]any{"containerPort": int64(8000 + i), "hostPort": int64(8000 + i)} })
	env := list(20, func(i int) any {
		return map[string]any{"name": fmt.Sprintf("E%d", i), "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "s", "key": "k"}}}
	})
	envFrom := list(20, func(i int) any { return map[string]any{"prefix": "P_", "secretRef": map[string]any{"name": "s"}} })
	image := "registry.example:5000/" + strings.Repeat("a/", 90) + "app"
	cs := list(20, func(i int) any {
		return map[string]any{"name": fmt.Sprintf("c%d", i), "image": image, "ports": ports, "env": env, "envFrom": envFrom,
			"resources": map[string]any{"limits": map[string]any{"cpu": "0"}}, "restartPolicy": "Always",
			"securityContext": map[string]any{
				"capabilities": map[string]any{"add": caps, "drop": caps}, "runAsNonRoot": false, "privileged": true, "procMount": "Unmasked", "runAsGroup": int64(0), "appArmorProfile": map[string]any{"type": "Unconfined"},
				"seLinuxOptions": map[string]any{"type": "spc_t", "user": "u", "role": "r"},
				"windowsOptions": map[string]any{"hostProcess": true}}}
	})
	vols := list(20, func(i int) any {
		return map[string]any{"name": fmt.Sprintf("v%d", i), "hostPath": map[string]any{"path": "/"}}
	})
	sysctls := list(20, func(i int) any { return map[string]any{"name": fmt.Sprintf("net/ipv4/x%d", i), "value": "1"} })
	spec := map[string]any{"securityContext": map[string]any{"sysctls": sysctls}, "hostPID": true, "hostIPC": true, "hostNetwork": true,
		"initContainers": cs, "containers": cs, "ephemeralContainers": cs, "volumes": vols}
	words := func(prefix string) []any {
		return append([]any{"*"}, list(19, func(i int) any { return fmt.Sprintf("%s%d", prefix, i) })...)
	}
	subjects := list(200, func(i int) any {
		switch i % 4 {
		case 0:
			return map[string]any{"kind": "Group", "name": "system:masters"}
		case 1:
			return map[string]any{"kind": "User", "name": "system:anonymous"}
		case 2:
			return map[string]any{"kind": "ServiceAccount", "name": "default"}
		}
		return map[string]any{"kind": "User", "name": "system:serviceaccount:team:default"}
	})
	binding := func(kind string) map[string]any {
		return map[string]any{"kind": kind, "metadata": map[string]any{"name": "b", "namespace": "team"},
			"roleRef": map[string]any{"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": subjects}
	}
	peers := list(20, func(i int) any { return map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}} })
	rules := func(dir string) []any {
		return list(50, func(i int) any { return map[string]any{dir: peers, "ports": []any{map[string]any{"protocol": "UDP"}}} })
	}
	annotations := map[string]any{"nginx.ingress.kubernetes.io/enable-cors": "true", "nginx.ingress.kubernetes.io/cors-allow-origin": strings.Repeat("https://a.example, ", 50) + "*"}
	for _, a := range []string{"configuration-snippet", "server-snippet", "stream-snippet", "auth-snippet", "modsecurity-snippet"} {
		annotations["nginx.ingress.kubernetes.io/"+a] = strings.Repeat("x", 1000)
	}
	return map[string]map[string]any{
		"Pod": {"kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "default"}, "spec": spec},
		"ClusterRole": {"kind": "ClusterRole", "metadata": map[string]any{"name": "r"}, "rules": list(50, func(i int) any {
			return map[string]any{"apiGroups": words("g"), "resources": append(words("r"), "*/exec", "pods/exec"), "verbs": words("v"), "nonResourceURLs": words("/u")}
		})},
		"ClusterRoleBinding": binding("ClusterRoleBinding"),
		"Namespace": {"kind": "Namespace", "metadata": map[string]any{"name": strings.Repeat("n", 63),
			"labels": map[string]any{"pod-security.kubernetes.io/enforce": "privileged"}}},
		"Ingress": {"kind": "Ingress", "metadata": map[string]any{"name": "i", "annotations": annotations}, "spec": map[string]any{
			"rules": list(100, func(i int) any { return map[string]any{"host": fmt.Sprintf("h%d.a.example", i)} }),
			"tls": list(100, func(i int) any {
				return map[string]any{"hosts": list(10, func(j int) any { return fmt.Sprintf("*.x%d.example", j) })}
			}),
		}},
		"NetworkPolicy": {"kind": "NetworkPolicy", "metadata": map[string]any{"name": "n"}, "spec": map[string]any{
			"policyTypes": []any{"Ingress", "Egress"}, "ingress": rules("from"), "egress": rules("to")}},
		"Service": {"kind": "Service", "metadata": map[string]any{"name": "s"}, "spec": map[string]any{"type": "NodePort",
			"externalIPs": list(100, func(i int) any { return fmt.Sprintf("192.0.2.%d", i) }),
			"ports":       list(100, func(i int) any { return map[string]any{"port": int64(80 + i), "nodePort": int64(30000 + i)} })}},
	}
}

func TestVAPActions(t *testing.T) {
	for _, bad := range [][]admissionv1.ValidationAction{{"Block"}, {admissionv1.Deny, admissionv1.Warn}} {
		if _, _, err := policy.VAPs(checks.All(), policy.VAPOptions{Actions: bad}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	ps, _, err := policy.VAPs(checks.All(), policy.VAPOptions{Actions: []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}, NamespaceLabels: map[string]string{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	b := ps[0].Binding.Spec
	if !slices.Equal(b.ValidationActions, []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}) || b.MatchResources.NamespaceSelector.MatchLabels["env"] != "prod" ||
		b.MatchResources.NamespaceSelector.MatchExpressions[0].Values[0] != "kube-system" {
		t.Errorf("binding %+v", b)
	}
}

func decode(t *testing.T, file string) []*inventory.Object {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c sink
	var d manifest.Decoder
	if err := d.Decode(bytes.NewReader(data), file, inventory.SourceFile, &c); err != nil {
		t.Fatal(err)
	}
	return c.objects
}

func decodeJSON(t *testing.T, m map[string]any) *inventory.Object {
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var c sink
	var d manifest.Decoder
	if err := d.Decode(bytes.NewReader(data), "stored.json", inventory.SourceFile, &c); err != nil || len(c.objects) != 1 {
		t.Fatalf("decoding the stored object: %v (%d objects)", err, len(c.objects))
	}
	return c.objects[0]
}

type sink struct{ objects []*inventory.Object }

func (s *sink) Object(o *inventory.Object) { s.objects = append(s.objects, o) }
func (s *sink) Error(e inventory.Error)    {}

// asMap converts a typed object to the unstructured form the API server
// evaluates (integers as int64).
func asMap(t *testing.T, v any) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

// TestVAPRBACGenerated compares the Role and binding policies with their Go
// checks on generated Roles, ClusterRoles and bindings mixing the groups,
// resources, verbs, resourceNames and subjects the checks look for with
// wildcards and decoys: the list of problems of each policy must be the
// check's list of messages, one for one.
func TestVAPRBACGenerated(t *testing.T) {
	policies, _, err := policy.VAPs(checks.All(), policy.VAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 37))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	some := func(n int, xs ...string) []any {
		out := make([]any, 1+rng.IntN(n))
		for i := range out {
			out[i] = pick(xs...)
		}
		return out
	}
	groups := []string{"", "*", "apps", "batch", "rbac.authorization.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io", "authentication.k8s.io"}
	resources := []string{"pods", "pods/exec", "pods/attach", "pods/log", "*", "*/exec", "*/proxy", "*/token", "*/scopes", "pods/*", "secrets",
		"nodes/proxy", "nodes", "serviceaccounts", "serviceaccounts/token", "persistentvolumes", "deployments", "deployments/scale", "jobs", "cronjobs",
		"replicasets", "statefulsets", "daemonsets", "replicationcontrollers", "roles", "clusterroles", "users", "groups", "uids", "userextras/scopes",
		"userextras/*", "certificatesigningrequests/approval", "signers", "validatingwebhookconfigurations", "mutatingwebhookconfigurations", `we"ird\x01`}
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*", "bind", "escalate", "impersonate", "approve", "use", "*/x"}
	names := []string{"cluster-admin", "admin", "edit", "view", "system:controller:x", "app", `a"b`}
	role := func() map[string]any {
		kind := pick("Role", "ClusterRole")
		rules := make([]any, rng.IntN(4))
		for i := range rules {
			r := map[string]any{"apiGroups": some(3, groups...), "resources": some(4, resources...), "verbs": some(4, verbs...)}
			switch rng.IntN(4) {
			case 0:
				r["resourceNames"] = some(2, "a", "kubernetes.io/kube-apiserver-client", "example.com/signer")
			case 1:
				r["nonResourceURLs"] = some(2, "*", "/*", "/apis/*", "/healthz")
			}
			rules[i] = r
		}
		md := map[string]any{"name": pick(names...)}
		if kind == "Role" {
			md["namespace"] = "team"
		}
		if rng.IntN(3) == 0 {
			md["labels"] = map[string]any{"kubernetes.io/bootstrapping": "rbac-defaults"}
		}
		return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": md, "rules": rules}
	}
	binding := func() map[string]any {
		kind := pick("RoleBinding", "ClusterRoleBinding")
		subjects := make([]any, rng.IntN(5))
		for i := range subjects {
			s := map[string]any{"kind": pick("User", "Group", "ServiceAccount"),
				"name": pick("default", "alice", "system:anonymous", "system:unauthenticated", "system:masters", "system:authenticated",
					"system:serviceaccount:team:default", "system:serviceaccount::default", "system:serviceaccount:a:b:default", "system:serviceaccount:default")}
			if rng.IntN(2) == 0 {
				s["namespace"] = pick("team", "other")
			}
			subjects[i] = s
		}
		md := map[string]any{"name": pick(names...)}
		if kind == "RoleBinding" && rng.IntN(4) > 0 {
			md["namespace"] = "team"
		}
		if rng.IntN(3) == 0 {
			md["labels"] = map[string]any{"kubernetes.io/bootstrapping": "rbac-defaults"}
		}
		return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": md,
			"roleRef": map[string]any{"kind": pick("ClusterRole", "Role"), "name": pick("cluster-admin", "system:public-info-viewer", "view")}, "subjects": subjects}
	}
	compareGenerated(t, policies, func(c *check.Check) func() map[string]any {
		switch {
		case slices.Contains(c.Kinds, kinds.Role):
			return role
		case slices.Contains(c.Kinds, kinds.RoleBinding):
			return binding
		}
		return nil
	}, 400)
}

// compareGenerated evaluates each policy for which gen has a generator on
// n generated objects and requires its list of problems to be its check's
// list of messages, one for one; some objects, not all, must have
// problems for each policy.
func compareGenerated(t *testing.T, policies []policy.VAP, gen func(*check.Check) func() map[string]any, n int) {
	t.Helper()
	env := celEnv(t)
	var compared, rejected int
	for _, p := range policies {
		g := gen(p.Check)
		if g == nil {
			continue
		}
		c := compile(t, env, p.Policy)
		eng, err := engine.New(engine.Options{Checks: []*check.Check{p.Check}})
		if err != nil {
			t.Fatal(err)
		}
		var bad int
		for range n {
			obj := g()
			run := eng.NewRun(engine.RunOptions{Complete: true})
			run.Object(decodeJSON(t, obj))
			var want []string
			for _, f := range run.Report().Findings {
				want = append(want, f.Message)
			}
			// The policy sees the object as the API server admits it:
			// defaulted, quantities canonical.
			admitted := decodeJSON(t, obj)
			defaults.Apply(admitted)
			got, err := c.violations(obj["kind"].(string), asMap(t, admitted.Typed))
			if err != nil {
				t.Fatalf("%s on %v: %v", p.Check.ID, obj, err)
			}
			slices.Sort(want)
			slices.Sort(got)
			compared++
			if len(got) > 0 {
				bad++
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s on %v:\n policy %q\n check  %q", p.Check.ID, obj, got, want)
			}
		}
		if bad == 0 || bad == n {
			t.Errorf("%s: %d of %d generated objects have problems: the generator decides nothing", p.Check.ID, bad, n)
		}
		rejected += bad
	}
	t.Logf("%d generated objects compared, %d with problems", compared, rejected)
}

// violations evaluates the policy's variables on obj and returns its list
// of problems.
func (c *compiled) violations(kind string, obj map[string]any) ([]string, error) {
	vars := map[string]any{}
	act := map[string]any{"object": obj, "request": map[string]any{"kind": map[string]any{"kind": kind}, "operation": "CREATE"}, "variables": vars}
	for i, p := range c.varProgs {
		out, _, err := p.Eval(act)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", c.vars[i], err)
		}
		vars[c.vars[i]] = out
	}
	list, err := vars["violations"].(ref.Val).ConvertToNative(reflect.TypeFor[[]string]())
	if err != nil {
		return nil, err
	}
	return list.([]string), nil
}

// TestVAPImagesGenerated compares the image policies with their Go checks
// on generated references: domains (with ports, IPv6, upper case,
// index.docker.io, localhost), paths (long, upper case, odd separators),
// tags and digests (valid, truncated, upper case, unknown algorithms),
// placeholders, white space and characters %q escapes.
func TestVAPImagesGenerated(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 8)
	domains := []string{"", "localhost/", "localhost:5000/", "index.docker.io/", "docker.io/", "Registry.Example:5000/", "my_reg.io/",
		"[::1]:5000/", "reg.example/", "Upper/", "a-/", "x:y/"}
	// Repository paths of 255 and 256 characters, as written and after
	// docker.io's library/.
	paths := []string{"app", "org/app", "Org/app", strings.Repeat("a/", 126) + "xyz", strings.Repeat("a/", 126) + "xyzw",
		strings.Repeat("a/", 123) + "x", strings.Repeat("a/", 123) + "xy", "a__b/c", "a--b", "-x",
		hex[:64], "app\t", `a"b`}
	tags := []string{"", ":1.0", ":latest", ":LATEST", ":v1_2", ":", ":" + strings.Repeat("t", 129)}
	digests := []string{"", "@sha256:" + hex[:64], "@sha256:" + hex[:63], "@sha512:" + hex, "@sha384:" + hex[:96], "@SHA256:" + hex[:64],
		"@sha256:" + strings.ToUpper(hex[:64]), "@md5:" + hex[:32], "@", "@sha256:" + hex[:64] + "@x"}
	wrap := []string{"%s", " %s ", "${REG}/%s", "%s{{ .tag }}", "%s$(X)", "\x01%s"}
	rng := rand.New(rand.NewPCG(5, 8))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	env := celEnv(t)
	var compared int
	for _, id := range []string{"image-not-pinned", "image-tag-latest"} {
		var p policy.VAP
		ps, _, err := policy.VAPs(checks.All(), policy.VAPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ps {
			if x.Check.ID == id {
				p = x
			}
		}
		c := compile(t, env, p.Policy)
		eng, err := engine.New(engine.Options{Checks: []*check.Check{p.Check}})
		if err != nil {
			t.Fatal(err)
		}
		for range 1500 {
			var cs []any
			for i := range 3 {
				image := fmt.Sprintf(pick(wrap), pick(domains)+pick(paths)+pick(tags)+pick(digests))
				cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": image})
			}
			obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"containers": cs}}
			run := eng.NewRun(engine.RunOptions{Complete: true})
			run.Object(decodeJSON(t, obj))
			var want []string
			for _, f := range run.Report().Findings {
				want = append(want, f.Message)
			}
			got, err := c.violations("Pod", obj)
			if err != nil {
				t.Fatalf("%s on %v: %v", id, cs, err)
			}
			slices.Sort(want)
			slices.Sort(got)
			compared++
			if !slices.Equal(got, want) {
				t.Errorf("%s on %q:\n policy %q\n check  %q", id, cs, got, want)
			}
		}
	}
	t.Logf("%d generated pods compared", compared)
}

// TestVAPExceptions: the exceptions of a check become matchConditions of
// its policy that are false exactly for the requests whose kind, namespace
// and name the exception covers (path.Match globs); expired exceptions
// are left out and reported.
func TestVAPExceptions(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	xs := []*engine.Exception{
		{Checks: []string{"host-pid"}, Namespace: "mon*", Name: "node-?"},
		{Checks: []string{"*"}, Kind: "Daemon[Ss]et", Name: `a\*[^x-z]`},
		{Checks: []string{"host-pid", "run-as-root"}, Kind: "Pod", Expires: now.AddDate(0, 0, -1)},
		{Checks: []string{"run-as-root"}, Expires: now},
		{Checks: []string{"service-nodeport"}},
	}
	policies, _, err := policy.VAPs(checks.All(), policy.VAPOptions{Exceptions: xs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	env := celEnv(t)
	kindsSeen, namespaces, names := []string{"Pod", "DaemonSet", "Daemonset", "Deployment"}, []string{"", "mon", "monitoring", "team", "amon"},
		[]string{"", "node-1", "node-12", "a*b", "a*x", "ab", "node-/"}
	var decided int
	for _, p := range policies {
		var want []*engine.Exception
		for _, x := range xs {
			if (slices.Contains(x.Checks, p.Check.ID) || slices.Contains(x.Checks, "*")) && !x.Expired(now) {
				want = append(want, x)
			}
		}
		if len(p.Policy.Spec.MatchConditions) != len(want) {
			t.Fatalf("%s: %d match conditions for %d exceptions", p.Check.ID, len(p.Policy.Spec.MatchConditions), len(want))
		}
		wantExpired := map[string]int{"host-pid": 1, "run-as-root": 1}[p.Check.ID]
		if len(p.Expired) != wantExpired {
			t.Errorf("%s: %d expired exceptions reported, want %d", p.Check.ID, len(p.Expired), wantExpired)
		}
		var progs []cel.Program
		for _, m := range p.Policy.Spec.MatchConditions {
			ast, iss := env.Compile(m.Expression)
			if iss.Err() != nil {
				t.Fatalf("%s %s: %v", p.Check.ID, m.Name, iss.Err())
			}
			prg, err := env.Program(ast)
			if err != nil {
				t.Fatal(err)
			}
			progs = append(progs, prg)
		}
		for _, k := range kindsSeen {
			for _, ns := range namespaces {
				for _, n := range names {
					applies := true
					for _, prg := range progs {
						out, _, err := prg.Eval(map[string]any{"request": map[string]any{"kind": map[string]any{"kind": k}, "namespace": ns, "name": n}})
						if err != nil {
							t.Fatal(err)
						}
						applies = applies && out.Value().(bool)
					}
					excepted := slices.ContainsFunc(want, func(x *engine.Exception) bool {
						return x.Matches(p.Check.ID, inventory.Ref{Kind: k, Namespace: ns, Name: n})
					})
					decided++
					if applies == excepted {
						t.Errorf("%s on %s %s/%s: the policy applies: %v, an exception covers it: %v", p.Check.ID, k, ns, n, applies, excepted)
					}
				}
			}
		}
	}
	t.Logf("%d requests decided", decided)
}

// TestVAPNetworkGenerated compares the Service, Ingress, NetworkPolicy and
// Namespace policies with their checks on generated objects.
func TestVAPNetworkGenerated(t *testing.T) {
	policies, _, err := policy.VAPs(checks.All(), policy.VAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 14))
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	list := func(n int, f func() any) []any {
		out := make([]any, rng.IntN(n+1))
		for i := range out {
			out[i] = f()
		}
		return out
	}
	strs := func(n int, xs ...any) []any { return list(n, func() any { return pick(xs...) }) }
	annotations := func(keys ...string) map[string]any {
		a := map[string]any{}
		for _, k := range keys {
			if rng.IntN(2) == 0 {
				a[k] = pick("", " ", "true", "True", "1", "false", "yes", "*", "https://a.example, *", " * ,https://b.example", "https://*.a.example", "x")
			}
		}
		return a
	}
	hosts := []any{"", "a.example", "b.a.example", "*.a.example", "a.b.a.example", "example", "x.example"}
	service := func() map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "s"}, "spec": map[string]any{
			"type":        pick("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
			"externalIPs": strs(2, "192.0.2.1", "2001:db8::1"),
			"ports": list(3, func() any {
				p := map[string]any{"port": int64(80)}
				if rng.IntN(2) == 0 {
					p["nodePort"] = pick(int64(30080), int64(31000))
				}
				return p
			})}}
	}
	ingress := func() map[string]any {
		return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
			"metadata": map[string]any{"name": "i", "annotations": annotations("nginx.ingress.kubernetes.io/enable-cors",
				"nginx.ingress.kubernetes.io/cors-allow-origin", "nginx.ingress.kubernetes.io/server-snippet",
				"nginx.ingress.kubernetes.io/auth-snippet", "alb.ingress.kubernetes.io/certificate-arn", "networking.gke.io/managed-certificates")},
			"spec": map[string]any{
				"rules": list(3, func() any { return map[string]any{"host": pick(hosts...)} }),
				"tls": list(2, func() any {
					return map[string]any{"hosts": strs(2, "a.example", "*.a.example", "X.Example", "*.example", " b.a.example")}
				}),
			}}
	}
	peer := func() any {
		switch rng.IntN(5) {
		case 0:
			b := map[string]any{"cidr": pick("0.0.0.0/0", "::/0", "10.0.0.0/8", "0.0.0.0/00", "2001:db8::/0")}
			if rng.IntN(3) == 0 {
				b["except"] = []any{"10.0.0.0/8"}
			}
			return map[string]any{"ipBlock": b}
		case 1:
			return map[string]any{"namespaceSelector": map[string]any{}}
		case 2:
			return map[string]any{"namespaceSelector": map[string]any{}, "podSelector": pick(map[string]any{}, map[string]any{"matchLabels": map[string]any{"a": "b"}})}
		case 3:
			return map[string]any{"namespaceSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "a", "operator": "Exists"}}}}
		}
		return map[string]any{"podSelector": map[string]any{}}
	}
	port := func() any {
		p := map[string]any{}
		switch rng.IntN(4) {
		case 0:
			p["port"] = pick(int64(1), int64(443))
			p["endPort"] = pick(int64(65535), int64(1000))
		case 1:
			p["port"] = pick(int64(53), "dns")
		}
		if rng.IntN(2) == 0 {
			p["protocol"] = pick("TCP", "UDP", "SCTP")
		}
		return p
	}
	netpol := func() map[string]any {
		spec := map[string]any{"podSelector": map[string]any{},
			"ingress": list(2, func() any { return map[string]any{"from": list(2, peer), "ports": list(2, port)} }),
			"egress":  list(2, func() any { return map[string]any{"to": list(2, peer), "ports": list(2, port)} })}
		if rng.IntN(2) == 0 {
			spec["policyTypes"] = strs(2, "Ingress", "Egress")
		}
		return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]any{"name": "n"}, "spec": spec}
	}
	ns := func() map[string]any {
		md := map[string]any{"name": pick("kube-system", "team", `we"ird`)}
		if rng.IntN(3) > 0 {
			md["labels"] = map[string]any{"pod-security.kubernetes.io/enforce": pick("privileged", "baseline", "restricted", "")}
		}
		return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": md}
	}
	compareGenerated(t, policies, func(c *check.Check) func() map[string]any {
		switch {
		case slices.Contains(c.Kinds, kinds.Service):
			return service
		case slices.Contains(c.Kinds, kinds.Ingress):
			return ingress
		case slices.Contains(c.Kinds, kinds.NetworkPolicy):
			return netpol
		case slices.Contains(c.Kinds, kinds.Namespace):
			return ns
		}
		return nil
	}, 600)
}

// TestVAPPodsGenerated compares the probe, resource, service-account and
// Secret-reference policies with their checks on generated pods and
// workloads.
func TestVAPPodsGenerated(t *testing.T) {
	policies, _, err := policy.VAPs(checks.All(), policy.VAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 71))
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	quantities := func() map[string]any {
		q := map[string]any{}
		for _, r := range []string{"cpu", "memory", "ephemeral-storage"} {
			if rng.IntN(2) == 0 {
				q[r] = pick("0", "100m", "0Mi", "64Mi", "1n")
			}
		}
		return q
	}
	resources := func() map[string]any {
		r := map[string]any{}
		if rng.IntN(2) == 0 {
			r["requests"] = quantities()
		}
		if rng.IntN(2) == 0 {
			r["limits"] = quantities()
		}
		return r
	}
	container := func(i int) map[string]any {
		c := map[string]any{"name": fmt.Sprintf("c%d", i), "image": "app:1", "resources": resources()}
		probe := map[string]any{"tcpSocket": map[string]any{"port": int64(80)}}
		if rng.IntN(2) == 0 {
			c["livenessProbe"] = probe
		}
		if rng.IntN(2) == 0 {
			c["readinessProbe"] = probe
		}
		if rng.IntN(3) == 0 {
			c["restartPolicy"] = pick("Always", "Never")
		}
		if rng.IntN(3) == 0 {
			c["env"] = []any{map[string]any{"name": "A", "value": "x"},
				map[string]any{"name": "B", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": `s"1`, "key": "k"}}},
				map[string]any{"name": "C", "valueFrom": map[string]any{"configMapKeyRef": map[string]any{"name": "c", "key": "k"}}}}
		}
		if rng.IntN(3) == 0 {
			c["envFrom"] = []any{map[string]any{"configMapRef": map[string]any{"name": "c"}},
				map[string]any{"secretRef": map[string]any{"name": "s"}, "prefix": pick("", "P_")}}
		}
		return c
	}
	containers := func(n int) []any {
		out := make([]any, rng.IntN(n+1))
		for i := range out {
			out[i] = container(i)
		}
		return out
	}
	pod := func() map[string]any {
		spec := map[string]any{"initContainers": containers(2), "containers": append(containers(2), container(9)), "ephemeralContainers": containers(1)}
		for _, e := range spec["ephemeralContainers"].([]any) {
			delete(e.(map[string]any), "resources")
			delete(e.(map[string]any), "livenessProbe")
			delete(e.(map[string]any), "readinessProbe")
			delete(e.(map[string]any), "restartPolicy")
		}
		if rng.IntN(2) == 0 {
			spec["restartPolicy"] = pick("Always", "Never", "OnFailure")
		}
		if rng.IntN(3) == 0 {
			spec["resources"] = resources()
		}
		if rng.IntN(2) == 0 {
			spec["serviceAccountName"] = pick("default", "app", "")
		}
		if rng.IntN(2) == 0 {
			spec["serviceAccount"] = pick("default", "app")
		}
		md := map[string]any{"name": "p", "namespace": pick("default", "team")}
		template := map[string]any{"metadata": map[string]any{}, "spec": spec}
		switch pick("Pod", "Deployment", "Job", "CronJob").(string) {
		case "Deployment":
			return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": map[string]any{"template": template}}
		case "Job":
			return map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": map[string]any{"template": template}}
		case "CronJob":
			return map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": md,
				"spec": map[string]any{"schedule": "* * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}}
		}
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}
	}
	compareGenerated(t, policies, func(c *check.Check) func() map[string]any {
		switch c.ID {
		case "missing-liveness-probe", "missing-readiness-probe", "missing-resource-limits", "missing-resource-requests",
			"default-service-account", "secret-env-reference", "workload-in-default-namespace":
			return pod
		}
		return nil
	}, 600)
}
