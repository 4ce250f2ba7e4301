package audit

import (
	"bytes"
	"fmt"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/inventory"
)

// The fields of audit.k8s.io/v1 Policy, its rules and their resources.
var (
	policyFields   = []string{"apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields"}
	ruleFields     = []string{"level", "users", "userGroups", "verbs", "resources", "namespaces", "nonResourceURLs", "omitStages", "omitManagedFields"}
	resourceFields = []string{"group", "resources", "resourceNames"}
)

// unknownFields returns an error for every field of the policy document at
// line of file that audit.k8s.io/v1 does not have. The API server decodes
// such a policy leniently, after a warning, ignoring the field: a rule
// with a misspelt "resource:" then matches every resource.
func unknownFields(file string, line int) []inventory.Error {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil // the loader read it; a file gone since has nothing to add
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode || root.Line != line {
			continue
		}
		var out []inventory.Error
		check := func(m *yaml.Node, known []string, where string) {
			if m == nil || m.Kind != yaml.MappingNode {
				return
			}
			for i := 0; i+1 < len(m.Content); i += 2 {
				k := m.Content[i]
				if k.Kind == yaml.ScalarNode && k.Value != "<<" && !slices.Contains(known, k.Value) {
					out = append(out, inventory.Error{File: file, Line: k.Line, Message: fmt.Sprintf(
						"audit policy: unknown field %q in %s: the API server ignores it (it falls back to lenient decoding), "+
							"so the %s does not do what it says", k.Value, where, where)})
				}
			}
		}
		check(root, policyFields, "the policy")
		if rules := value(root, "rules"); rules != nil && rules.Kind == yaml.SequenceNode {
			for _, r := range rules.Content {
				check(r, ruleFields, "rule")
				if res := value(r, "resources"); res != nil && res.Kind == yaml.SequenceNode {
					for _, gr := range res.Content {
						check(gr, resourceFields, "resources entry")
					}
				}
			}
		}
		return out
	}
}

// value returns the value of key in a mapping node, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
