package manifest

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// The decoder's scheme is the kind registry (package kinds): the kinds
// kubeharden's checks read decode into their Go types, and older API
// versions of the same kinds (extensions/v1beta1 Deployments,
// batch/v1beta1 CronJobs, networking.k8s.io/v1beta1 Ingresses...) into the
// current type, since the fields the checks read kept their shape. Any
// other kind whose spec.template is a pod template decodes into
// inventory.TemplateWorkload, so its pod is checked too.

// Typed reports whether kubeharden decodes the given group and kind into a Go type.
func Typed(group, kind string) bool {
	return kinds.Lookup(group, kind) != nil
}

// NewTyped returns a new, empty typed object for a group and kind, with a
// pointer to its metadata, or ok=false when the kind is not one kubeharden reads.
func NewTyped(group, kind string) (obj any, meta *metav1.ObjectMeta, ok bool) {
	t := kinds.Lookup(group, kind)
	if t == nil {
		return nil, nil, false
	}
	obj, meta = t.New()
	return obj, meta, true
}

// hasPodTemplate reports whether an object of a kind kubeharden has no Go
// type for carries a pod template at spec.template (spec.template.spec
// with containers), as DeploymentConfigs and Argo Rollouts do.
func hasPodTemplate(m map[string]any) bool {
	spec, _ := m["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	podSpec, _ := tmpl["spec"].(map[string]any)
	_, ok := podSpec["containers"].([]any)
	return ok
}

// newWorkload returns an empty TemplateWorkload.
func newWorkload() (any, *metav1.ObjectMeta) {
	w := &inventory.TemplateWorkload{}
	return w, &w.ObjectMeta
}
