package manifest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// kubectl turns YAML into JSON with sigs.k8s.io/yaml (go-yaml v2, YAML
// 1.1) before anything reads it; the decoder must read every scalar and
// key the same way. This compares the two on the spellings where YAML 1.1
// and 1.2 differ and on their neighbours.
func TestScalarsResolveAsKubectl(t *testing.T) {
	values := []string{
		"yes", "Yes", "YES", "yEs", "y", "Y", "no", "No", "NO", "n", "N",
		"on", "On", "ON", "oN", "off", "Off", "OFF",
		"true", "True", "TRUE", "tRUE", "false", "False", "FALSE",
		`"yes"`, `'on'`, `"true"`, "!!str yes", "!!bool yes", "!!bool 'no'", "|\n    yes", ">\n    off",
		"0777", "0o17", "0x1F", "-0x1F", "1_000", "+12", "-0b101", "0b11", "1e3", "1.5", ".5", "-.5e2",
		"~", "null", "Null", "NULL", "", "2001-12-14", "2001-12-14T21:59:43.10Z", "12:30", "yes please", "onion",
		"9223372036854775807", "<<x", "=",
	}
	for _, v := range values {
		src := fmt.Sprintf("k:\n  %s\n", v)
		if strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") {
			src = fmt.Sprintf("k: %s\n", v)
		}
		compareWithKubectl(t, src)
	}
	keys := []string{"yes", "on", "y", "n", "No", "OFF", `"yes"`, "0x10", "1.0", "1e3", "1_000", "010", "+1", "2001-12-14", "key"}
	for _, k := range keys {
		compareWithKubectl(t, fmt.Sprintf("%s: v\n", k))
	}
	// A null key cannot be turned into JSON: kubectl refuses it, and so do we.
	for _, k := range []string{"~", "null"} {
		src := fmt.Sprintf("%s: v\n", k)
		if _, err := sigsyaml.YAMLToJSON([]byte(src)); err == nil {
			t.Errorf("sigs.k8s.io/yaml accepted %q", src)
		}
		if _, err := convert(t, src); err == nil {
			t.Errorf("the decoder accepted the key of %q", src)
		}
	}
}

func convert(t *testing.T, src string) (any, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	c := converter{budget: 1000, maxDepth: 10}
	return c.value(&n, 0, false)
}

func compareWithKubectl(t *testing.T, src string) {
	t.Helper()
	want, err := sigsyaml.YAMLToJSON([]byte(src))
	if err != nil {
		t.Fatalf("sigs.k8s.io/yaml: %q: %v", src, err)
	}
	v, err := convert(t, src)
	if err != nil {
		t.Errorf("%q: %v", src, err)
		return
	}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	var w, g any
	_ = json.Unmarshal(want, &w)
	_ = json.Unmarshal(got, &g)
	if !reflect.DeepEqual(w, g) {
		t.Errorf("%q: kubectl reads %s, the decoder %s", src, want, got)
	}
}

func TestYAML11BooleansInObjects(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {"on": "x"}
spec:
  hostNetwork: On
  hostIPC: Y
  containers:
  - name: app
    image: app:1
    securityContext: {privileged: YES, readOnlyRootFilesystem: n}
`
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 || len(c.objects) != 1 {
		t.Fatalf("objects=%d errors=%v", len(c.objects), c.errors)
	}
	p := c.objects[0].Typed.(*corev1.Pod)
	sc := p.Spec.Containers[0].SecurityContext
	if !p.Spec.HostNetwork || !p.Spec.HostIPC || !*sc.Privileged || *sc.ReadOnlyRootFilesystem || p.Labels["on"] != "x" {
		t.Errorf("spec %+v, securityContext %+v, labels %v", p.Spec, sc, p.Labels)
	}

	// An unquoted yes in a string field is a boolean to kubectl too, and
	// the API server refuses it: an error at the field, not a silent "yes".
	bad := strings.Replace(src, "    image: app:1\n", "    image: app:1\n    env:\n    - name: DEBUG\n      value: yes\n", 1)
	c = decode(t, bad, DefaultLimits)
	if len(c.objects) != 0 || len(c.errors) != 1 || c.errors[0].Line != 14 || !strings.Contains(c.errors[0].Message, "value") {
		t.Errorf("unquoted yes in a string field: objects=%d errors=%v", len(c.objects), c.errors)
	}
}
