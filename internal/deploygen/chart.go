package deploygen

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// ChartDir is kubeharden's Helm chart, relative to the repository root.
// Its RBAC rules and webhook rules are generated like those of the plain
// manifests, between the same markers; some of its files are generated
// whole from the plain manifests. make deploy rewrites both.
const ChartDir = "deploy/chart/kubeharden"

// chartNamespace is how the chart's templates name their namespace.
const chartNamespace = `{{ include "kubeharden.namespace" . }}`

// WatchRules returns the rules of the scanner's ClusterRole
// (kubeharden-watcher, of kubeharden serve --scanner): list and watch, and
// nothing else, on every resource of the kind registry.
func WatchRules() string { return registryRules("list, watch") }

// ChartWebhooks returns the "webhooks:" part of the chart's
// ValidatingWebhookConfiguration: Webhooks, in the chart's namespace, with
// failurePolicy from the value admission.failurePolicy and, when the
// serving certificate is an existing Secret rather than cert-manager's
// (whose CA injector fills it), caBundle from admission.tls.caBundle.
func ChartWebhooks() string {
	s := Webhooks(WebhookOptions{Service: WebhookService, Namespace: chartNamespace})
	s = mustReplace(s, "  failurePolicy: Fail\n", "  failurePolicy: {{ .Values.admission.failurePolicy }}\n")
	i := strings.Index(s, "\n    service: ")
	if i < 0 {
		panic("deploygen: the webhook configuration has no clientConfig.service")
	}
	i += 1 + strings.IndexByte(s[i+1:], '\n') + 1
	return s[:i] +
		"{{- if .Values.admission.tls.existingSecret }}\n" +
		"    caBundle: {{ .Values.admission.tls.caBundle }}\n" +
		"{{- end }}\n" +
		s[i:]
}

func mustReplace(s, old, new string) string {
	if strings.Count(s, old) != 1 {
		panic(fmt.Sprintf("deploygen: %q is not in the generated text exactly once", old))
	}
	return strings.Replace(s, old, new, 1)
}

// ChartBlock is a generated block of a file of the chart: the lines
// between the marker Marker and End.
type ChartBlock struct {
	// File is relative to ChartDir.
	File   string
	Marker string
	Block  func() string
}

// ChartBlocks returns the generated blocks of the chart.
func ChartBlocks() []ChartBlock {
	return []ChartBlock{
		{"templates/scanner-clusterrole.yaml", Begin, WatchRules},
		{"templates/cronscan-clusterrole.yaml", Begin, Rules},
		{"templates/admission-webhookconfiguration.yaml", WebhookBegin, ChartWebhooks},
	}
}

// ChartFile is a file of the chart made whole from a plain manifest, so
// that the chart and deploy/ cannot drift apart.
type ChartFile struct {
	// File is relative to ChartDir; From to the repository root.
	File, From string
	Make       func(plain []byte) ([]byte, error)
}

// ChartFiles returns the files of the chart made from plain manifests:
// the PolicyReport CRDs (the chart's crds/ directory, which Helm installs
// when they are absent and never changes or deletes), and the alerts and
// dashboard of the scanner.
func ChartFiles() []ChartFile {
	return []ChartFile{
		{"crds/policyreport-crds.yaml", "deploy/policyreport-crds.yaml", func(b []byte) ([]byte, error) { return b, nil }},
		{"files/prometheus-rules.yaml", "deploy/scanner-monitoring.yaml", PrometheusRuleSpec},
		{"files/grafana-dashboard.json", "deploy/scanner-monitoring.yaml", GrafanaDashboard},
	}
}

// PrometheusRuleSpec returns the spec of the PrometheusRule of a plain
// manifest (deploy/scanner-monitoring.yaml), as YAML written as it is
// there (order, styles and comments kept).
func PrometheusRuleSpec(plain []byte) ([]byte, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(plain))
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err == io.EOF {
			return nil, fmt.Errorf("no PrometheusRule kubeharden")
		} else if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		obj := doc.Content[0]
		if scalar(mapValue(obj, "kind")) != "PrometheusRule" || scalar(mapValue(mapValue(obj, "metadata"), "name")) != "kubeharden" {
			continue
		}
		spec := mapValue(obj, "spec")
		if spec == nil {
			return nil, fmt.Errorf("PrometheusRule kubeharden has no spec")
		}
		var b bytes.Buffer
		b.WriteString("# Generated from deploy/scanner-monitoring.yaml by make deploy; do not edit.\n")
		enc := yamlv3.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(spec); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}

// mapValue returns the value of key in the mapping node n, or nil.
func mapValue(n *yamlv3.Node, key string) *yamlv3.Node {
	if n == nil || n.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yamlv3.Node) string {
	if n == nil || n.Kind != yamlv3.ScalarNode {
		return ""
	}
	return n.Value
}

// GrafanaDashboard returns the dashboard of the ConfigMap
// kubeharden-dashboard of a plain manifest (deploy/scanner-monitoring.yaml).
func GrafanaDashboard(plain []byte) ([]byte, error) {
	obj, err := findObject(plain, "ConfigMap", "kubeharden-dashboard")
	if err != nil {
		return nil, err
	}
	data, _ := obj["data"].(map[string]any)
	s, ok := data["kubeharden.json"].(string)
	if !ok {
		return nil, fmt.Errorf("ConfigMap kubeharden-dashboard has no kubeharden.json")
	}
	return []byte(s), nil
}

// findObject returns the object of a multi-document manifest with the
// given kind and name.
func findObject(plain []byte, kind, name string) (map[string]any, error) {
	for _, doc := range SplitDocuments(plain) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, err
		}
		meta, _ := obj["metadata"].(map[string]any)
		if obj["kind"] == kind && meta["name"] == name {
			return obj, nil
		}
	}
	return nil, fmt.Errorf("no %s %s", kind, name)
}

// SplitDocuments splits a YAML stream at its document markers, dropping
// documents that hold nothing but comments and blank lines.
func SplitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, l := range bytes.Split(cur.Bytes(), []byte("\n")) {
			if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
				docs = append(docs, bytes.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if t := bytes.TrimRight(l, " \t\r\n"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			flush()
			continue
		}
		cur.Write(l)
	}
	flush()
	return docs
}
