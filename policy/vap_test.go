package policy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
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
// policies: every input dyn, optionals and the strings library.
func celEnv(t *testing.T) *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("request", cel.DynType),
		cel.Variable("params", cel.DynType),
		cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		cel.HomogeneousAggregateLiterals(),
		ext.Strings(ext.StringsVersion(2)),
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
// evaluates each policy on the pod-bearing objects of its check's fixtures
// (defaulted, as the API server admits them): it must reject exactly the
// objects the Go check reports, with one of the check's messages.
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
				if typ == nil || !typ.PodBearing {
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

// TestVAPCostOfALargePod: a pod at the edge of what is reasonable (60
// containers, 20 capabilities each added and dropped, 20 host ports each,
// 20 host paths, 20 sysctls) stays far below the API server's
// per-expression cost limit.
func TestVAPCostOfALargePod(t *testing.T) {
	policies, _, err := policy.VAPs(checks.All(), policy.VAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs, vols []any
	caps := make([]any, 20)
	for i := range caps {
		caps[i] = fmt.Sprintf("CAP_X%d", i)
	}
	ports := make([]any, 20)
	for i := range ports {
		ports[i] = map[string]any{"containerPort": int64(8000 + i), "hostPort": int64(8000 + i)}
	}
	for i := range 20 {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": "x", "ports": ports, "securityContext": map[string]any{
			"capabilities": map[string]any{"add": caps, "drop": caps}, "runAsNonRoot": false, "privileged": true, "procMount": "Unmasked", "runAsGroup": int64(0), "appArmorProfile": map[string]any{"type": "Unconfined"},
			"seLinuxOptions": map[string]any{"type": "spc_t", "user": "u", "role": "r"},
			"windowsOptions": map[string]any{"hostProcess": true}}})
		vols = append(vols, map[string]any{"name": fmt.Sprintf("v%d", i), "hostPath": map[string]any{"path": "/"}})
	}
	sysctls := make([]any, 20)
	for i := range sysctls {
		sysctls[i] = map[string]any{"name": fmt.Sprintf("net/ipv4/x%d", i), "value": "1"}
	}
	spec := map[string]any{"securityContext": map[string]any{"sysctls": sysctls}, "hostPID": true, "hostIPC": true, "hostNetwork": true, "initContainers": cs, "containers": cs, "ephemeralContainers": cs, "volumes": vols}
	env := celEnv(t)
	for _, p := range policies {
		c := compile(t, env, p.Policy)
		admitted, _, cost, err := c.eval(t, "Pod", map[string]any{"kind": "Pod", "spec": spec})
		if err != nil || admitted {
			t.Errorf("%s: admitted %v, %v", p.Check.ID, admitted, err)
		}
		if cost > 1_000_000/10 {
			t.Errorf("%s: cost %d on a large pod", p.Check.ID, cost)
		}
		t.Logf("%s: cost %d", p.Check.ID, cost)
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
