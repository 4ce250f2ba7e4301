// Package inventory is the normalised, read-only form of every object
// kubeharden evaluates, together with where it came from.
//
// Sources (manifest files, Helm charts, Kustomize builds, a live cluster)
// produce Objects; the engine and the checks only ever see Objects, so a
// check never knows, or cares, how its input was obtained.
package inventory

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Ref names an object the way a user would: apiVersion, kind, namespace, name.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String renders the reference as Kind/namespace/name.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Group returns the API group of the reference ("" for the core group).
func (r Ref) Group() string {
	if i := strings.IndexByte(r.APIVersion, '/'); i >= 0 {
		return r.APIVersion[:i]
	}
	return ""
}

// Origin records where an object came from.
type Origin struct {
	// Source is the kind of source: "file", "stdin", "helm", "kustomize" or "cluster".
	Source string `json:"source"`
	// File is the file the object was read from (or the template / resource
	// file it was rendered from), empty for cluster objects.
	File string `json:"file,omitempty"`
	// Line and Column locate the start of the object's document (1-based).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Cluster fields.
	Context         string `json:"context,omitempty"`
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Node names the node an object read from the API is about (the
	// node checks' Component objects made from mirror pods, Node
	// annotations, ConfigMaps and /configz).
	Node string `json:"node,omitempty"`
}

// Live reports whether the object was read from a running cluster (a
// cluster scan, an admission request, an audit event) rather than from
// files: checks marked ManifestOnly do not run on it.
func (o Origin) Live() bool {
	switch o.Source {
	case SourceCluster, SourceAdmission, SourceAudit:
		return true
	}
	return false
}

// The sources of objects, as in Origin.Source.
const (
	SourceFile      = "file"
	SourceStdin     = "stdin"
	SourceHelm      = "helm"
	SourceKustomize = "kustomize"
	SourceCluster   = "cluster"
	SourceAdmission = "admission"
	SourceAudit     = "audit"
)

// Location is a position inside a file.
type Location struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Path is the field path the location was resolved from, e.g.
	// spec.template.spec.containers[0].securityContext.privileged.
	Path string `json:"path,omitempty"`
}

// Locator resolves a field path of an object to a position in its source.
// A path that does not exist resolves to its deepest existing ancestor.
type Locator interface {
	Locate(path string) (line, column int)
}

// FileLocator is a Locator for objects assembled from several files (a
// Kustomize resource and the patches applied to it): it also says which
// file a path resolves in.
type FileLocator interface {
	Locator
	LocateFile(path string) (file string, line, column int)
}

// Object is one Kubernetes object as the engine sees it.
//
// Typed holds the decoded API type (for example *appsv1.Deployment) for
// the kinds kubeharden understands, and nil for any other kind.
type Object struct {
	Ref
	Origin  Origin
	Meta    *metav1.ObjectMeta
	Typed   any
	Locator Locator

	pod     *PodTemplate
	podDone bool
	stub    *Stub
	handle  int // engine handle + 1; 0: none
}

// Locate resolves a field path to a Location; objects without a locator
// (live cluster objects) resolve to their origin.
func (o *Object) Locate(path string) Location {
	loc := Location{File: o.Origin.File, Line: o.Origin.Line, Column: o.Origin.Column, Path: path}
	if fl, ok := o.Locator.(FileLocator); ok {
		if f, l, c := fl.LocateFile(path); l > 0 {
			if f != "" {
				loc.File = f
			}
			loc.Line, loc.Column = l, c
		}
		return loc
	}
	if o.Locator != nil {
		if l, c := o.Locator.Locate(path); l > 0 {
			loc.Line, loc.Column = l, c
		}
	}
	return loc
}

// Annotation returns the named annotation of the object, or "".
func (o *Object) Annotation(name string) string {
	if o.Meta == nil {
		return ""
	}
	return o.Meta.Annotations[name]
}

// Labels returns the object's labels (nil when it has none).
func (o *Object) Labels() map[string]string {
	if o.Meta == nil {
		return nil
	}
	return o.Meta.Labels
}

// Index builds a field path element for a list item: Index("containers", 2) is "containers[2]".
func Index(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// Join joins field path elements with dots, skipping empty ones.
func Join(parts ...string) string {
	n := 0
	for _, p := range parts {
		if p != "" {
			n += len(p) + 1
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Error is a problem with the input: a file that cannot be read, a
// document that does not parse, an object that does not decode.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

// Key builds a field path element for a map key that may contain dots:
// Key("annotations", "example.com/x") is annotations["example.com/x"].
func Key(field, key string) string {
	return field + `["` + key + `"]`
}
