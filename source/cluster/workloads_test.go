package cluster

import (
	"testing"

	"sigs.k8s.io/yaml"
)

func TestHasPodTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		want         bool
	}{
		{"containers in the schema", `{properties: {spec: {properties: {template: {properties: {spec: {properties: {containers: {type: array}}}}}}}}}`, true},
		{"an open template", `{properties: {spec: {properties: {template: {type: object, x-kubernetes-preserve-unknown-fields: true}}}}}`, true},
		{"an open template spec", `{properties: {spec: {properties: {template: {properties: {spec: {x-kubernetes-preserve-unknown-fields: true}}}}}}}`, true},
		{"a template without a pod spec", `{properties: {spec: {properties: {template: {properties: {spec: {properties: {url: {type: string}}}}}}}}}`, false},
		{"no template", `{properties: {spec: {properties: {replicas: {type: integer}}}}}`, false},
		{"an open spec", `{properties: {spec: {x-kubernetes-preserve-unknown-fields: true}}}`, false},
		{"no schema", `{}`, false},
	} {
		var s map[string]any
		if err := yaml.Unmarshal([]byte(tc.schema), &s); err != nil {
			t.Fatal(err)
		}
		if got := HasPodTemplate(s); got != tc.want {
			t.Errorf("%s: HasPodTemplate = %v, want %v", tc.name, got, tc.want)
		}
	}
}
