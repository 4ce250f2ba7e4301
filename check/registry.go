package check

import (
	"sort"

	"github.com/kubeharden/kubeharden/inventory"
)

// Registry collects the checks of one domain. Each check file registers
// its own check, so adding a check touches one file (plus its fixtures):
//
//	var privileged = registry.Add(&check.Check{...})
type Registry struct {
	checks []*Check
}

// Add registers a check and returns it.
func (r *Registry) Add(c *Check) *Check {
	r.checks = append(r.checks, c)
	return c
}

// Checks returns the registered checks sorted by ID.
func (r *Registry) Checks() []*Check {
	out := append([]*Check(nil), r.checks...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PodFunc evaluates the pod of a pod-bearing object.
type PodFunc func(o *inventory.Object, p *inventory.PodTemplate) []Result

// ForPods adapts a PodFunc to Check.Object; use it with
// Kinds: kinds.Pods.
func ForPods(f PodFunc) func(*Env, *inventory.Object) []Result {
	return func(_ *Env, o *inventory.Object) []Result {
		p := o.Pod()
		if p == nil {
			return nil
		}
		return f(o, p)
	}
}

// ForContainers adapts a per-container function to Check.Object; use it
// with Kinds: kinds.Pods. It visits init, app and ephemeral containers.
func ForContainers(f func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []Result) func(*Env, *inventory.Object) []Result {
	return ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []Result {
		var out []Result
		p.Containers(func(c inventory.Container) {
			out = append(out, f(o, p, c)...)
		})
		return out
	})
}
