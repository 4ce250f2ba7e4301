// Package names spells objects and positions the same way in every format.
package names

import (
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// Object names an object for people: "Deployment shop/frontend", or
// "ClusterRole node-exporter" for a cluster-scoped object.
func Object(r inventory.Ref) string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Qualified names an object uniquely across sources:
// "context/namespace/Kind/name" for cluster objects read through a
// kubeconfig context, "namespace/Kind/name" otherwise; the namespace is
// left out for cluster-scoped objects.
func Qualified(o *report.Object) string {
	parts := make([]string, 0, 4)
	if o.Origin.Context != "" {
		parts = append(parts, o.Origin.Context)
	}
	if o.Ref.Namespace != "" {
		parts = append(parts, o.Ref.Namespace)
	}
	parts = append(parts, o.Ref.Kind, o.Ref.Name)
	return strings.Join(parts, "/")
}

// Position renders file:line:column, leaving out what is unknown; it is
// empty when file is.
func Position(file string, line, column int) string {
	if file == "" {
		return ""
	}
	if line <= 0 {
		return file
	}
	if column <= 0 {
		return file + ":" + strconv.Itoa(line)
	}
	return file + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(column)
}

// Source says where an object came from: its file and line, or for a
// live-cluster object "cluster" and the kubeconfig context.
func Source(o *report.Object) string {
	if o.Origin.File != "" {
		return Position(o.Origin.File, o.Origin.Line, 0)
	}
	if o.Origin.Source == "cluster" {
		s := "cluster"
		if o.Origin.Context != "" {
			s = "cluster context " + o.Origin.Context
		}
		if o.Origin.Node != "" {
			s += ", node " + o.Origin.Node
		}
		return s
	}
	return o.Origin.Source
}

// Identity gives a live object's uid and resourceVersion ("" for objects
// read from files), so a finding names the exact version of the object.
func Identity(o *report.Object) string {
	var parts []string
	if o.Origin.UID != "" {
		parts = append(parts, "uid "+o.Origin.UID)
	}
	if o.Origin.ResourceVersion != "" {
		parts = append(parts, "resourceVersion "+o.Origin.ResourceVersion)
	}
	return strings.Join(parts, ", ")
}
