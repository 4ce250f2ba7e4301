package workload

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
)

// computeResources are the resources the limit and request checks require.
var computeResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

// unset returns the compute resources that none of the lists sets to a
// non-zero quantity. The caller passes every list that can supply the value
// (the container's own, the pod-level one, defaults the API server derives).
func unset(lists ...corev1.ResourceList) []string {
	var out []string
	for _, name := range computeResources {
		found := false
		for _, l := range lists {
			if q, ok := l[name]; ok && !q.IsZero() {
				found = true
				break
			}
		}
		if !found {
			out = append(out, string(name))
		}
	}
	return out
}

// podResources returns the pod-level requests and limits (spec.resources), if any.
func podResources(p *inventory.PodTemplate) (requests, limits corev1.ResourceList) {
	if r := p.Spec.Resources; r != nil {
		return r.Requests, r.Limits
	}
	return nil, nil
}

// resourcesPath is where a finding about a missing entry of the container's
// resources.<field> points: the list when it exists, else resources, else
// the container itself.
func resourcesPath(c inventory.Container, field string, list corev1.ResourceList) string {
	r := c.Resources
	switch {
	case len(list) > 0:
		return c.At("resources." + field)
	case len(r.Limits) > 0 || len(r.Requests) > 0 || len(r.Claims) > 0:
		return c.At("resources")
	}
	return c.Path
}

// resourceWords renders missing resource names for a message: "CPU",
// "memory", "CPU or memory".
func resourceWords(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		if n == string(corev1.ResourceCPU) {
			n = "CPU"
		}
		out[i] = n
	}
	return strings.Join(out, " or ")
}
