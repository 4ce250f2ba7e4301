package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// podLevelResources completes a Pod's pod-level resources, when it sets
// any, as the API server does on creation (DefaultPodLevelResources, with
// PodLevelResources and PodLevelResourcesFixDefaulting on, as in v1.37):
// hugepage limits from the containers' limits, requests from the
// containers' requests and the pod-level limits, and limits from the
// containers' limits when every container has one. Ephemeral containers,
// which are only ever added to a running Pod, take no part.
func podLevelResources(spec *corev1.PodSpec) {
	r := spec.Resources
	if r == nil || (len(r.Requests) == 0 && len(r.Limits) == 0) {
		return
	}
	limitsOf := func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits }
	requestsOf := func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }

	limits := r.Limits
	if limits == nil {
		limits = corev1.ResourceList{}
	}
	for name, q := range aggregate(spec, limitsOf) {
		if !strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			continue
		}
		if _, ok := r.Requests[name]; ok {
			continue
		}
		if _, ok := limits[name]; !ok {
			limits[name] = q
		}
	}
	if len(limits) > 0 {
		r.Limits = limits
	}

	requests := r.Requests
	if requests == nil {
		requests = corev1.ResourceList{}
	}
	for name, q := range aggregate(spec, requestsOf) {
		if _, ok := requests[name]; !ok && (name == corev1.ResourceCPU || name == corev1.ResourceMemory) {
			requests[name] = q
		}
	}
	for name, q := range r.Limits {
		if _, ok := requests[name]; !ok && podLevel(name) {
			requests[name] = q.DeepCopy()
		}
	}
	if len(requests) > 0 {
		r.Requests = requests
	}

	var candidates []corev1.ResourceName
	for name := range r.Requests {
		if _, ok := r.Limits[name]; !ok && podLevel(name) && everyContainerLimits(spec, name) {
			candidates = append(candidates, name)
		}
	}
	if len(candidates) == 0 {
		return
	}
	aggr := aggregate(spec, limitsOf)
	for _, name := range candidates {
		q, ok := aggr[name]
		if !ok {
			continue
		}
		if req := r.Requests[name]; req.Cmp(q) > 0 {
			q = req
		}
		if r.Limits == nil {
			r.Limits = corev1.ResourceList{}
		}
		r.Limits[name] = q
	}
}

// podLevel reports whether pod-level resources may name the resource.
func podLevel(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func everyContainerLimits(spec *corev1.PodSpec, name corev1.ResourceName) bool {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if _, ok := cs[i].Resources.Limits[name]; !ok {
				return false
			}
		}
	}
	return true
}

// aggregate sums a resource list over the pod's containers as the
// scheduler does (the sidecar KEP's formula): app containers and sidecars
// add up; each plain init container, with the sidecars started before it,
// sets a floor.
func aggregate(spec *corev1.PodSpec, of func(*corev1.Container) corev1.ResourceList) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for i := range spec.Containers {
		add(sum, of(&spec.Containers[i]))
	}
	sidecars, floor := corev1.ResourceList{}, corev1.ResourceList{}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		use := corev1.ResourceList{}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(sum, of(c))
			add(sidecars, of(c))
			add(use, sidecars)
		} else {
			add(use, of(c))
			add(use, sidecars)
		}
		maxOf(floor, use)
	}
	maxOf(sum, floor)
	return sum
}

func add(list, more corev1.ResourceList) {
	for name, q := range more {
		if v, ok := list[name]; ok {
			v.Add(q)
			list[name] = v
		} else {
			list[name] = q.DeepCopy()
		}
	}
}

func maxOf(list, other corev1.ResourceList) {
	for name, q := range other {
		if v, ok := list[name]; !ok || q.Cmp(v) > 0 {
			list[name] = q.DeepCopy()
		}
	}
}
