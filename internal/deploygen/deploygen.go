// Package deploygen generates the parts of deploy/ that follow from the
// kind registry (package kinds): the rules of the scanner's ClusterRole
// and the table of them in deploy/README.md. They sit between marker
// comments in those files; a test fails when they are stale (make deploy
// rewrites them).
package deploygen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/kinds"
)

// Markers delimit a generated block in a file; the lines between them
// belong to the generator. A file may hold one block of each kind.
const (
	Begin = "BEGIN GENERATED from the kind registry (package kinds) by make deploy; do not edit"
	// WebhookBegin starts the webhook's rules, generated from the checks
	// that run at admission.
	WebhookBegin = "BEGIN GENERATED webhook rules from the check catalogue by make deploy; do not edit"
	End          = "END GENERATED"
)

// groups returns the resources a cluster scan lists, by API group, in
// listing order.
func groups() (order []string, byGroup map[string][]string) {
	byGroup = map[string][]string{}
	for _, t := range kinds.Listed() {
		if _, ok := byGroup[t.Group]; !ok {
			order = append(order, t.Group)
		}
		byGroup[t.Group] = append(byGroup[t.Group], t.Resource)
	}
	return order, byGroup
}

// Rules returns the ClusterRole's rules: list, and nothing else, on every
// resource the scan reads.
func Rules() string { return registryRules("list") }

// registryRules returns the rules granting verbs (as YAML flow list
// items) on every resource of the kind registry, a rule per API group,
// and list on CustomResourceDefinitions, whose schemas tell which custom
// kinds are workloads with a pod template (source/cluster.DiscoverWorkloads;
// listing those kinds takes rules of their own).
func registryRules(verbs string) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	order, byGroup := groups()
	for _, g := range order {
		name := g
		if g == "" {
			name = `""`
		}
		fmt.Fprintf(&b, "- apiGroups: [%s]\n  resources: [%s]\n  verbs: [%s]\n", name, strings.Join(byGroup[g], ", "), verbs)
	}
	b.WriteString("- apiGroups: [apiextensions.k8s.io]\n  resources: [customresourcedefinitions]\n  verbs: [list]\n")
	return b.String()
}

// Table returns the Markdown table of the ClusterRole for deploy/README.md.
func Table() string {
	var b strings.Builder
	b.WriteString("| API group | resources |\n|---|---|\n")
	order, byGroup := groups()
	for _, g := range order {
		name := "`" + g + "`"
		if g == "" {
			name = "`\"\"`"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", name, strings.Join(byGroup[g], ", "))
	}
	return b.String()
}

// Replace returns data with the block between the marker lines (lines
// containing Begin and End, in any comment syntax) set to block.
func Replace(data []byte, block string) ([]byte, error) { return ReplaceBlock(data, Begin, block) }

// ReplaceBlock is Replace for the block that starts at the marker beginMarker.
func ReplaceBlock(data []byte, beginMarker, block string) ([]byte, error) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	begin, end := -1, -1
	for i, l := range lines {
		switch {
		case bytes.Contains(l, []byte(beginMarker)):
			if begin >= 0 {
				return nil, fmt.Errorf("line %d: a second %q marker", i+1, beginMarker)
			}
			begin = i
		case bytes.Contains(l, []byte(End)) && begin >= 0 && end < 0:
			end = i
		}
	}
	if begin < 0 || end < 0 {
		return nil, fmt.Errorf("no %q ... %q block", beginMarker, End)
	}
	var out bytes.Buffer
	for _, l := range lines[:begin+1] {
		out.Write(l)
	}
	out.WriteString(block)
	for _, l := range lines[end:] {
		out.Write(l)
	}
	return out.Bytes(), nil
}
