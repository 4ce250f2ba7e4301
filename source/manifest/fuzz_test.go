package manifest

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through the whole loader: splitting,
// parsing, alias expansion, typed decoding and field location. It must
// never panic or hang, every error must name the file and a line within
// the input, and every object must locate its fields within the input.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		pod,
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n",
		"---\n...\n---\n%YAML 1.1\n---\n{}\n",
		"a: &a [*a]\n",
		"apiVersion: v1\nkind: Pod\nmetadata: &m {name: x}\nspec: {<<: *m}\n",
		"\xEF\xBB\xBFapiVersion: v1\r\nkind: Secret\r\n",
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"spec\":{\"replicas\":\"x\"}}",
		"apiVersion: v1\nkind: Pod\nspec: [unclosed\n",
		// Nested Lists, as kubectl get of several kinds prints them.
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: apps/v1\n    kind: DeploymentList\n    items:\n    - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
		"{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":[{\"kind\":\"PodList\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}]},3]}",
		// YAML 1.1 values and keys, as kubectl reads them.
		"apiVersion: v1\nkind: Pod\nmetadata: {name: y, labels: {on: yes}}\nspec:\n  hostPID: on\n  containers:\n  - name: a\n    securityContext: {privileged: Y, readOnlyRootFilesystem: off}\n    env: [{name: A, value: no}]\n",
		"apiVersion: v1\nkind: ConfigMap\ndata: {0777: !!bool yes, ~: x, 1.0: n}\n",
		// Not Kubernetes objects: another tool's YAML, JSON with comments.
		"services:\n  web: {image: x}\n---\n- op: add\n---\n{\n  // c\n  \"a\": [1,],\n}\n",
	} {
		f.Add([]byte(seed))
	}
	lim := Limits{MaxDocumentBytes: 64 << 10, MaxNodes: 20_000, MaxDepth: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collect
		d := Decoder{Limits: lim}
		if err := d.Decode(bytes.NewReader(data), "fuzz.yaml", "file", &c); err != nil {
			t.Fatalf("read error from an in-memory reader: %v", err)
		}
		// Count lines as YAML does: CRLF, CR and LF each end a line.
		norm := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		lines := bytes.Count(norm, []byte("\n")) + bytes.Count(norm, []byte("\r")) + 1
		for _, e := range c.errors {
			if e.File != "fuzz.yaml" || e.Line < 1 || e.Line > lines+1 || strings.TrimSpace(e.Message) == "" {
				t.Fatalf("bad error position %+v for %d-line input", e, lines)
			}
		}
		// With an emitter that takes notices, documents that are not
		// Kubernetes objects become one notice, within the input too.
		var s sink
		if err := d.Decode(bytes.NewReader(data), "fuzz.yaml", "file", &s); err != nil {
			t.Fatalf("read error from an in-memory reader: %v", err)
		}
		for _, n := range s.notices {
			if n.File != "fuzz.yaml" || n.Line < 1 || n.Line > lines+1 {
				t.Fatalf("bad notice position %+v for %d-line input", n, lines)
			}
		}
		if len(s.objects) != len(c.objects) {
			t.Fatalf("%d objects with notices, %d without", len(s.objects), len(c.objects))
		}
		for _, o := range c.objects {
			for _, p := range []string{"metadata.name", "spec.template.spec.containers[0].securityContext.privileged", "spec.containers[1]", `metadata.annotations["a.b/c"]`} {
				if l := o.Locate(p).Line; l < 1 || l > lines {
					t.Fatalf("path %s located at line %d of %d", p, l, lines)
				}
			}
			_ = o.Pod()
		}
	})
}
